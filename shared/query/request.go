// Package query is the lake's query model: a structured request (what POST /queries takes),
// its validation against the dataset's contract, and its compilation to SQL in which every
// identifier is checked and quoted and every value is a `?` parameter. It also defines the
// Engine port that runs compiled queries (Athena in AWS, an embedded engine locally).
//
// Nothing a caller sends is ever pasted into SQL text: identifiers must name a contract field
// (or the partition columns dt and hr), operators and functions come from closed lists, the
// limit is an integer, and values travel as parameters.
package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Request is a structured query.
type Request struct {
	// Dataset names a contract, e.g. "user_events".
	Dataset string `json:"dataset"`
	// Zone is "curated", "cleansed" or "raw". Empty means curated, or cleansed while the
	// curated zone holds nothing for the dataset.
	Zone string `json:"zone,omitempty"`
	// Columns to return. Empty means every contract field (or, with group_by, the groups).
	Columns []string `json:"columns,omitempty"`
	// Where conditions, all of which must hold.
	Where []Condition `json:"where,omitempty"`
	// DT and HR bound the partitions read: the UTC date and hour of the event time.
	DT *DateRange `json:"dt,omitempty"`
	HR *HourRange `json:"hr,omitempty"`
	// GroupBy columns; with Aggregates, one row per group.
	GroupBy    []string    `json:"group_by,omitempty"`
	Aggregates []Aggregate `json:"aggregates,omitempty"`
	OrderBy    []Order     `json:"order_by,omitempty"`
	// Limit on rows returned; 0 means the compiler's default.
	Limit int `json:"limit,omitempty"`
	// SQL is a raw SELECT over the lake's tables, accepted only where the deployment enables it.
	SQL string `json:"sql,omitempty"`
	// AsOf reads the curated table as it was: a snapshot id (a JSON number, from GET
	// /tables/{dataset}/history) or a time (an RFC 3339 string), the snapshot current then.
	AsOf json.RawMessage `json:"as_of,omitempty"`
}

// Condition is one predicate: column op value.
type Condition struct {
	Column string `json:"column"`
	// Op is one of = != < <= > >= in between like, "is null", "is not null".
	Op string `json:"op"`
	// Value is the operand of comparisons and like.
	Value json.RawMessage `json:"value,omitempty"`
	// Values are the operands of in (one or more) and between (exactly two).
	Values []json.RawMessage `json:"values,omitempty"`
}

// DateRange is an inclusive range of partition dates, YYYY-MM-DD. Either end may be empty.
type DateRange struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// HourRange is an inclusive range of partition hours, 0-23. Either end may be absent.
type HourRange struct {
	From *int `json:"from,omitempty"`
	To   *int `json:"to,omitempty"`
}

// Aggregate is one aggregate output column.
type Aggregate struct {
	// Func is count, sum, avg, min or max.
	Func string `json:"fn"`
	// Column is the argument; empty (or "*") only for count, which then counts rows.
	Column string `json:"column,omitempty"`
	// As names the output column; the default is the function, or function_column.
	As string `json:"as,omitempty"`
}

// Order is one sort key.
type Order struct {
	Column string `json:"column"`
	Desc   bool   `json:"desc,omitempty"`
}

// MaxRequestBytes bounds a request body.
const MaxRequestBytes = 64 << 10

// Decode reads one JSON request, refusing unknown fields (a misspelt "were" must not silently
// return every row) and trailing data. Its errors are *Error.
func Decode(r io.Reader) (*Request, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRequestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the query request: %w", err)
	}
	if len(data) > MaxRequestBytes {
		return nil, invalid("", "the request is larger than %d bytes", MaxRequestBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var req Request
	if err := dec.Decode(&req); err != nil {
		return nil, invalid("", "the request is not a valid query object: %v", err)
	}
	if dec.More() {
		return nil, invalid("", "the request has data after the query object")
	}
	return &req, nil
}

// Error is a problem with a request: the caller's fault, worth a 400.
type Error struct {
	// Field locates the problem in the request, e.g. "where[1].value".
	Field   string
	Problem string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Field + ": " + e.Problem
}

func invalid(field, format string, a ...any) *Error {
	return &Error{Field: field, Problem: fmt.Sprintf(format, a...)}
}
