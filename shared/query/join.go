package query

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/zone"
)

// join checks the joins of a derived query over ct's curated table and returns the widened
// row's contract (ct's columns as curated holds them, then each join's columns, nullable: a LEFT JOIN finds
// no partner for some rows), the FROM item that makes it, and the tables that item reads.
//
// The FROM item is a subquery named as ct's own table, so that every column the rest of the
// query names is unqualified and unambiguous (both tables have dt and hr; only ct's are kept).
func (c *Compiler) join(ct *contract.Contract, joins []Join) (*contract.Contract, string, []string, error) {
	const base = `"t"`
	tables := []string{TableName(zone.Curated, ct.Name)}
	var fields []contract.Field
	for _, f := range ct.Fields {
		// Dropped fields stay, so that naming one says why it cannot be read.
		if f.PII == contract.Hash || f.PII == contract.Mask {
			f.Kind, f.Symbols = contract.String, nil // what curated holds of it
		}
		fields = append(fields, f)
	}
	taken := func(name string) bool {
		return name == dtField.Name || name == hrField.Name || slices.ContainsFunc(fields, func(f contract.Field) bool { return f.Name == name })
	}
	selects := []string{base + ".*"}
	var joinSQL strings.Builder
	for i, j := range joins {
		at := fmt.Sprintf("joins[%d]", i)
		jc, err := c.dataset(j.Dataset)
		if err != nil {
			return nil, "", nil, invalid(at+".dataset", "%s", err.(*Error).Problem)
		}
		if jc.Name == ct.Name || c.Contracts[jc.Name] == nil {
			return nil, "", nil, invalid(at+".dataset", "%q cannot be joined: join another dataset of the contracts (not %s itself, not a summary)", jc.Name, ct.Name)
		}
		alias := quote(fmt.Sprintf("j%d", i+1))
		if len(j.On) == 0 {
			return nil, "", nil, invalid(at+".on", "a join needs its columns: [{\"column\": <column of %s>, \"to\": <column of %s>}]", ct.Name, jc.Name)
		}
		var conds, matched []string
		for k, on := range j.On {
			where := fmt.Sprintf("%s.on[%d]", at, k)
			left, err := curatedField(ct, on.Column, where+".column")
			if err != nil {
				return nil, "", nil, err
			}
			right, err := curatedField(jc, on.To, where+".to")
			if err != nil {
				return nil, "", nil, err
			}
			if curatedKind(left) != curatedKind(right) {
				return nil, "", nil, invalid(where, "%s.%s is %s in curated but %s.%s is %s: join columns must have the same type",
					ct.Name, left.Name, curatedKind(left), jc.Name, right.Name, curatedKind(right))
			}
			conds = append(conds, base+"."+quote(left.Name)+" = "+alias+"."+quote(right.Name))
			matched = append(matched, right.Name)
		}
		var key []string
		for _, k := range jc.Key {
			key = append(key, jc.Fields[k].Name)
		}
		if !sameSet(key, matched) {
			return nil, "", nil, invalid(at+".on", "a join must match %s's whole key (%s), so that each row of %s finds at most one row: it matches %s",
				jc.Name, strings.Join(key, ", "), ct.Name, strings.Join(matched, ", "))
		}
		if len(j.Columns) == 0 {
			return nil, "", nil, invalid(at+".columns", "name the columns of %s the summary uses", jc.Name)
		}
		for k, name := range j.Columns {
			where := fmt.Sprintf("%s.columns[%d]", at, k)
			f, err := curatedField(jc, name, where)
			if err != nil {
				return nil, "", nil, err
			}
			if taken(f.Name) {
				return nil, "", nil, invalid(where, "column %q is already a column of the joined row (of %s or an earlier join): it cannot be told apart", f.Name, ct.Name)
			}
			jf := *f
			jf.Nullable = true
			if jf.PII == contract.Hash || jf.PII == contract.Mask {
				jf.Kind, jf.Symbols = contract.String, nil
			}
			fields = append(fields, jf)
			selects = append(selects, alias+"."+quote(f.Name)+" AS "+quote(f.Name))
		}
		table := TableName(zone.Curated, jc.Name)
		tables = append(tables, table)
		fmt.Fprintf(&joinSQL, " LEFT JOIN %s AS %s ON %s", quote(table), alias, strings.Join(conds, " AND "))
	}
	joined, err := contract.Derived("", ct.Name, ct.Doc, fields)
	if err != nil {
		return nil, "", nil, invalid("joins", "%v", err)
	}
	from := "(SELECT " + strings.Join(selects, ", ") + " FROM " + quote(tables[0]) + " AS " + base + joinSQL.String() + ") AS " + quote(tables[0])
	return joined, from, tables, nil
}

// curatedField is a field of ct that its curated table holds.
func curatedField(ct *contract.Contract, name, field string) (*contract.Field, error) {
	f, ok := ct.Field(name)
	if !ok {
		return nil, invalid(field, "dataset %s has no column %q: columns are %s", ct.Name, clip(name), strings.Join(ct.FieldNames(), ", "))
	}
	if f.PII == contract.Drop {
		return nil, invalid(field, "column %q is not in the curated zone: the contract of %s drops it there (PII policy drop)", name, ct.Name)
	}
	if f.Kind == contract.StringMap {
		return nil, invalid(field, "column %q is a map: it cannot be joined on or carried into a summary", name)
	}
	return f, nil
}

// curatedKind is the type a curated column compares as: enums and hashed or masked values are
// strings there.
func curatedKind(f *contract.Field) contract.Kind {
	if f.Kind == contract.Enum || f.PII == contract.Hash || f.PII == contract.Mask {
		return contract.String
	}
	return f.Kind
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
