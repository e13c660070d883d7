package summary

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluicelake/sluice/shared/contract"
)

// OpenLineage's transformation types and subtypes, as the lineage function writes them.
const (
	direct   = "DIRECT"
	indirect = "INDIRECT"
)

// column is where a column of the (joined) row comes from.
type column struct {
	dataset string
	field   contract.Field
}

// output generates the summary's contract and column lineage. The query compiled already, so
// every name it meets exists; what is left to check is the declared columns.
func (s *Summary) output(contracts map[string]*contract.Contract) (*contract.Contract, map[string][]Source, error) {
	fail := func(field, format string, a ...any) error {
		return &Error{File: s.Path, Field: field, Problem: fmt.Sprintf(format, a...)}
	}
	primary := contracts[s.Query.Dataset]
	row := map[string]column{}
	for _, f := range primary.Fields {
		row[f.Name] = column{primary.Name, curated(f)}
	}
	var indirectAll []Source // the columns that decide rows: filters and join keys
	for _, w := range s.Query.Where {
		indirectAll = append(indirectAll, Source{Dataset: primary.Name, Field: w.Column, Type: indirect, Subtype: "FILTER",
			Description: "where " + w.Column + " " + w.Op})
	}
	for _, j := range s.Query.Joins {
		jc := contracts[j.Dataset]
		var on []string
		for _, o := range j.On {
			on = append(on, primary.Name+"."+o.Column+" = "+j.Dataset+"."+o.To)
			indirectAll = append(indirectAll,
				Source{Dataset: primary.Name, Field: o.Column, Type: indirect, Subtype: "JOIN", Description: "left join " + j.Dataset + " on " + strings.Join(on, " and ")},
				Source{Dataset: j.Dataset, Field: o.To, Type: indirect, Subtype: "JOIN", Description: "left join " + j.Dataset + " on " + strings.Join(on, " and ")})
		}
		for _, name := range j.Columns {
			f, _ := jc.Field(name)
			jf := curated(*f)
			jf.Nullable = true
			row[name] = column{j.Dataset, jf}
		}
	}

	var fields []contract.Field
	lineage := map[string][]Source{}
	add := func(f contract.Field, from ...Source) {
		fields = append(fields, f)
		lineage[f.Name] = append(from, indirectAll...)
	}
	if s.Grain == Day {
		et := primary.Fields[primary.EventTime].Name
		add(contract.Field{Name: DayColumn, Kind: contract.Date, Doc: "Day (UTC) of " + primary.Name + "." + et + "."},
			Source{Dataset: primary.Name, Field: et, Type: direct, Subtype: "TRANSFORMATION", Description: "day of " + et + " (UTC)"})
	}
	for _, g := range s.Query.GroupBy {
		c := row[g]
		desc := "group by " + g
		if c.dataset != primary.Name {
			desc += ", from the row of " + c.dataset + " joined"
		}
		add(c.field, Source{Dataset: c.dataset, Field: g, Type: direct, Subtype: "IDENTITY", Description: desc})
	}
	for _, a := range s.Query.Aggregates {
		fn := strings.ToLower(a.Func)
		name := a.As
		expr := fn + "(*)"
		f := contract.Field{Kind: contract.Long} // count
		var from []Source
		if a.Column != "" && a.Column != "*" {
			c := row[a.Column]
			expr = fn + "(" + a.Column + ")"
			if name == "" {
				name = fn + "_" + a.Column
			}
			f = aggregateField(fn, c.field)
			from = append(from, Source{Dataset: c.dataset, Field: a.Column, Type: direct, Subtype: "AGGREGATION", Description: expr})
		} else if name == "" {
			name = "count"
		}
		if fn == "count" {
			f = contract.Field{Kind: contract.Long}
			if len(from) == 0 {
				// count(*) reads no column: the rows it counts are the dataset's.
				from = append(from, Source{Dataset: primary.Name, Field: primary.Fields[primary.Key[0]].Name, Type: indirect, Subtype: "AGGREGATION", Description: expr})
			}
		}
		f.Name = name
		add(f, from...)
	}
	names := make([]string, len(fields))
	for i := range fields {
		names[i] = fields[i].Name
	}
	declared := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		declared[i] = c.Name
	}
	if !slices.Equal(names, declared) {
		for i := range max(len(names), len(declared)) {
			switch {
			case i >= len(declared):
				return nil, nil, fail(fmt.Sprintf("columns[%d]", i), "missing: the query also outputs %q (the output is %s)", names[i], strings.Join(names, ", "))
			case i >= len(names):
				return nil, nil, fail(fmt.Sprintf("columns[%d]", i), "%q is not an output of the query (the output is %s)", declared[i], strings.Join(names, ", "))
			case names[i] != declared[i]:
				return nil, nil, fail(fmt.Sprintf("columns[%d]", i), "%q declared where the query outputs %q: declare dt (day grain), the group_by columns, then the aggregates by name, in that order (the output is %s)",
					declared[i], names[i], strings.Join(names, ", "))
			}
		}
	}
	for i, c := range s.Columns {
		if strings.TrimSpace(c.Doc) == "" {
			return nil, nil, fail(fmt.Sprintf("columns[%d].doc", i), "say what %q means: it is what the catalog shows readers", c.Name)
		}
		fields[i].Doc = c.Doc
	}
	ct, err := contract.Derived(s.Path, s.Name, s.Doc, fields)
	if err != nil {
		return nil, nil, err
	}
	return ct, lineage, nil
}

// curated is a field as the curated zone holds it: hashed and masked values are strings
// there, and no PII policy applies again downstream.
func curated(f contract.Field) contract.Field {
	if f.PII == contract.Hash || f.PII == contract.Mask {
		f.Kind, f.Symbols = contract.String, nil
	}
	f.PII, f.Rules, f.Coerce, f.WithoutZone = "", contract.Rules{}, 0, nil
	return f
}

// aggregateField is the type of an aggregate as both engines give it: sums of whole numbers
// are bigint, other sums and averages double, min and max the column's own type; all null
// when the group has no value.
func aggregateField(fn string, in contract.Field) contract.Field {
	switch fn {
	case "sum":
		if in.Kind == contract.Int || in.Kind == contract.Long {
			return contract.Field{Kind: contract.Long, Nullable: true}
		}
		return contract.Field{Kind: contract.Double, Nullable: true}
	case "avg":
		return contract.Field{Kind: contract.Double, Nullable: true}
	}
	return contract.Field{Kind: in.Kind, Symbols: in.Symbols, Nullable: true}
}
