// Package summary is the lake's consumption zone (gold): summary tables declared as files next
// to the contracts (events/summaries/*.json), each a structured query in the query API's own
// model over the curated zone (a dataset, filters, group by, aggregates) plus joins to other
// datasets on declared columns, a grain (by day of the event time, or whole) and its output
// columns.
//
// Load checks every definition against the contracts the way the query API checks a request,
// and gives each summary a generated contract (its output columns and types), so that the
// query API, Glue and lineage treat it as a dataset of the consumption zone. Plan turns the
// curated objects a burst of promotions wrote into the days each summary must recompute;
// Refresher recomputes them through the query engine port and replaces those days' Parquet
// files in the consumption bucket, <summary>/dt=YYYY-MM-DD/part-0.parquet.
package summary

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/query"
)

// Grains: how a summary is kept.
const (
	// Day: one partition per day of the primary dataset's event time (its dt); a change to a
	// curated partition recomputes that day alone.
	Day = "day"
	// Full: one table recomputed whole on any change of its inputs.
	Full = "full"
)

// DayColumn is the output column of a day summary that holds the day: its partition, as dt is
// in every other zone.
const DayColumn = "dt"

// Definition is one summary file.
type Definition struct {
	Name  string `json:"name"`
	Doc   string `json:"doc"`
	Grain string `json:"grain"`
	Query Spec   `json:"query"`
	// Columns declares the output, in order: dt for a day summary, then the group_by columns,
	// then the aggregates by their names, each with what it means.
	Columns []Column `json:"columns"`
}

// Spec is the query of a summary: a query.Request's structured part, plus joins.
type Spec struct {
	Dataset    string            `json:"dataset"`
	Where      []query.Condition `json:"where,omitempty"`
	GroupBy    []string          `json:"group_by,omitempty"`
	Aggregates []query.Aggregate `json:"aggregates"`
	Joins      []query.Join      `json:"joins,omitempty"`
}

// Column is one declared output column.
type Column struct {
	Name string `json:"name"`
	Doc  string `json:"doc"`
}

// Summary is a checked definition.
type Summary struct {
	Definition
	// Path is the file it came from.
	Path string
	// Contract is the generated contract of its output table.
	Contract *contract.Contract
	// Lineage says how each output column is made, by output column name.
	Lineage map[string][]Source
}

// Source is one input column of an output column and what was done to it.
type Source struct {
	Dataset string `json:"dataset"`
	Field   string `json:"field"`
	// Type is DIRECT (its values reach the output) or INDIRECT (it decides which rows: a
	// filter, a join, a grouping); Subtype is OpenLineage's (AGGREGATION, IDENTITY, JOIN, ...).
	Type        string `json:"type"`
	Subtype     string `json:"subtype"`
	Description string `json:"description,omitempty"`
}

// Inputs are the datasets a summary reads: its own, then the joined ones.
func (s *Summary) Inputs() []string {
	out := []string{s.Query.Dataset}
	for _, j := range s.Query.Joins {
		out = append(out, j.Dataset)
	}
	return out
}

// Contracts are the summaries' generated contracts by name: the query compiler's Summaries.
func Contracts(sums []*Summary) map[string]*contract.Contract {
	out := make(map[string]*contract.Contract, len(sums))
	for _, s := range sums {
		out[s.Name] = s.Contract
	}
	return out
}

// Shipped loads the summary definitions embedded from events/summaries, checked against the
// embedded contracts.
func Shipped() ([]*Summary, error) {
	reg, err := events.Registry()
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(events.SummaryFiles, "summaries")
	if err != nil {
		return nil, err
	}
	return LoadFS(sub, "events/summaries", reg)
}

// Error locates a problem in a summary file.
type Error struct {
	File, Field, Problem string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.File + ": " + e.Problem
	}
	return e.File + ": " + e.Field + ": " + e.Problem
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// LoadFS reads and checks every *.json file at the root of fsys (where names the folder in
// errors) against the contracts, sorted by name. A folder without summaries is no error.
func LoadFS(fsys fs.FS, where string, contracts map[string]*contract.Contract) ([]*Summary, error) {
	paths, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	var out []*Summary
	seen := map[string]string{}
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("read summary %s: %w", p, err)
		}
		s, err := Parse(path.Join(where, p), data, contracts)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[s.Name]; dup {
			return nil, &Error{File: s.Path, Field: "name", Problem: fmt.Sprintf("summary %q is already defined by %s", s.Name, prev)}
		}
		seen[s.Name] = s.Path
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Parse checks one definition; file names it in errors, which are *Error.
func Parse(file string, data []byte, contracts map[string]*contract.Contract) (*Summary, error) {
	fail := func(field, format string, a ...any) error {
		return &Error{File: file, Field: field, Problem: fmt.Sprintf(format, a...)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return nil, fail("", "not a summary definition (name, doc, grain, query, columns): %v", err)
	}
	if !namePattern.MatchString(d.Name) {
		return nil, fail("name", "%q must be lower-case letters, digits and _, starting with a letter (it names the table and its folder)", d.Name)
	}
	if contracts[d.Name] != nil {
		return nil, fail("name", "%q is already a dataset: a summary needs a name of its own", d.Name)
	}
	if d.Grain != Day && d.Grain != Full {
		return nil, fail("grain", "%q is not a grain: %q (a partition per day of the event time) or %q (recomputed whole)", d.Grain, Day, Full)
	}
	if len(d.Query.Aggregates) == 0 {
		return nil, fail("query.aggregates", "a summary aggregates: give at least one aggregate")
	}
	if i := slices.Index(d.Query.GroupBy, DayColumn); i >= 0 && d.Grain == Day {
		return nil, fail(fmt.Sprintf("query.group_by[%d]", i), "%q is the day of a day summary, which the grain adds: leave it out of group_by", DayColumn)
	}
	s := &Summary{Definition: d, Path: file}
	comp := &query.Compiler{Contracts: contracts}
	if _, err := comp.CompileDerived(s.request(nil), d.Query.Joins); err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			return nil, fail(s.queryField(qe.Field), "%s", qe.Problem)
		}
		return nil, fail("query", "%v", err)
	}
	var err error
	if s.Contract, s.Lineage, err = s.output(contracts); err != nil {
		return nil, err
	}
	return s, nil
}

// queryField maps a field of the compiled request back to the definition's: the day column
// the request adds comes first in group_by.
func (s *Summary) queryField(field string) string {
	if s.Grain == Day {
		var i int
		if _, err := fmt.Sscanf(field, "group_by[%d]", &i); err == nil && i > 0 {
			return fmt.Sprintf("query.group_by[%d]%s", i-1, strings.TrimPrefix(field, fmt.Sprintf("group_by[%d]", i)))
		}
	}
	if field == "" {
		return "query"
	}
	return "query." + field
}

// request is the summary's query for the given days (all of them for nil).
func (s *Summary) request(days []string) *query.Request {
	r := &query.Request{Dataset: s.Query.Dataset, Where: slices.Clone(s.Query.Where), GroupBy: slices.Clone(s.Query.GroupBy), Aggregates: s.Query.Aggregates}
	if s.Grain == Day {
		r.GroupBy = append([]string{DayColumn}, r.GroupBy...)
		if len(days) > 0 {
			vals := make([]json.RawMessage, len(days))
			for i, d := range days {
				vals[i], _ = json.Marshal(d)
			}
			r.Where = append(r.Where, query.Condition{Column: DayColumn, Op: "in", Values: vals})
		}
	}
	return r
}

// Compile is the refresh query of the given days (every day for nil; ignored for Full).
func (s *Summary) Compile(c *query.Compiler, days []string) (*query.Query, error) {
	if s.Grain == Full {
		days = nil
	}
	return c.CompileDerived(s.request(days), s.Query.Joins)
}
