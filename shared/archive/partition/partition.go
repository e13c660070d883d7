// Package partition runs the archive's partition query (archive.PartitionQuery) the way
// Firehose's dynamic partitioning does, with gojq, a jq implementation in Go, in place of jq 1.6.
//
// It lives apart from package archive so that the jq engine is linked only into what runs the
// query (the local Firehose, tests), never into a function that only needs the archive's names.
package partition

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/itchyny/gojq"

	"github.com/sluicelake/sluice/shared/archive"
	"github.com/sluicelake/sluice/shared/contract"
)

// Program is a compiled partition query of one dataset.
type Program struct {
	code *gojq.Code
	// Keys are the partition keys the query must give (dt, hr).
	keys []string
}

// Compile compiles the partition query of c.
func Compile(c *contract.Contract) (*Program, error) {
	q, err := gojq.Parse(archive.PartitionQuery(c))
	if err != nil {
		return nil, fmt.Errorf("partition: parse the query of %s: %w", c.Name, err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, fmt.Errorf("partition: compile the query of %s: %w", c.Name, err)
	}
	return &Program{code: code, keys: []string{"dt", "hr"}}, nil
}

// Decode reads a record as Firehose's JSON parser must before it can run a query: exactly one
// JSON value, in UTF-8. Numbers stay json.Number, so that no digit is lost.
func Decode(raw []byte) (any, error) {
	if !utf8.Valid(raw) {
		return nil, errors.New("the record is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("the record is not JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("the record holds more than one JSON value")
	}
	return v, nil
}

// Keys runs the query on a decoded record and returns its partition keys. An error is what
// Firehose reports as a metadata extraction failure: the record goes under the error prefix.
func (p *Program) Keys(ctx context.Context, v any) (map[string]string, error) {
	iter := p.code.RunWithContext(ctx, v)
	out, ok := iter.Next()
	if !ok {
		return nil, errors.New("the partition query gave no result")
	}
	if err, isErr := out.(error); isErr {
		return nil, fmt.Errorf("the partition query failed: %w", err)
	}
	obj, isObj := out.(map[string]any)
	if !isObj {
		return nil, fmt.Errorf("the partition query gave %T, not an object of keys", out)
	}
	keys := make(map[string]string, len(p.keys))
	for _, k := range p.keys {
		s, isStr := obj[k].(string)
		if !isStr || s == "" {
			return nil, fmt.Errorf("the partition query gave no string for key %q", k)
		}
		keys[k] = s
	}
	return keys, nil
}
