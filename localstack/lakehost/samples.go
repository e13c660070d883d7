package lakehost

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/fake"
)

// SampleFile is a file to drop into the landing area, and what it holds.
type SampleFile struct {
	Dataset, Name string
	Body          []byte
	Rows, Bad     int
}

// SampleFiles makes the files `make local` drops: customers as CSV with a header row, and
// user_events as JSON lines, each with a share of bad rows.
func SampleFiles(rows int, bad float64, seed uint64) ([]SampleFile, error) {
	reg, err := events.Registry()
	if err != nil {
		return nil, err
	}
	var out []SampleFile
	for _, spec := range []struct {
		dataset, name string
		csv           bool
	}{{"customers", "customers-sample.csv", true}, {"user_events", "user_events-sample.jsonl", false}} {
		c := reg[spec.dataset]
		// CSV cells cannot express structural defects (bad JSON and the like): only value-level ones.
		opts := fake.Options{Seed: seed, BadShare: bad}
		if spec.csv {
			opts.BadKinds = []fake.Kind{fake.BadEnum, fake.PatternMismatch, fake.MissingField, fake.BadTimestamp, fake.NoZone}
		} else {
			opts.BadKinds = []fake.Kind{fake.MalformedJSON, fake.WrongType, fake.BadEnum, fake.OutOfRange, fake.NoZone, fake.UnknownField}
		}
		g, err := fake.New(c, opts)
		if err != nil {
			return nil, err
		}
		f := SampleFile{Dataset: spec.dataset, Name: spec.name, Rows: rows}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if spec.csv {
			w.Write(c.FieldNames())
		}
		for i := 0; i < rows; i++ {
			r := g.Next()
			if r.Bad != "" {
				f.Bad++
			}
			if !spec.csv {
				buf.Write(r.Data)
				buf.WriteByte('\n')
				continue
			}
			w.Write(csvRow(c, r.Data))
		}
		w.Flush()
		f.Body = buf.Bytes()
		out = append(out, f)
	}
	return out, nil
}

// csvRow lays a fake JSON record out as the contract's columns; absent or null is an empty cell.
func csvRow(c *contract.Contract, data []byte) []string {
	var m map[string]any
	json.Unmarshal(data, &m)
	row := make([]string, len(c.Fields))
	for i, f := range c.Fields {
		switch v := m[f.Name].(type) {
		case nil:
		case string:
			row[i] = v
		default:
			row[i] = fmt.Sprint(v)
		}
	}
	return row
}
