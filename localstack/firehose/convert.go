package firehose

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/record"
)

// deserializer reads records into the Glue table's columns the way the deployed Hive JSON SerDe
// does, as far as a local stand-in can tell: attributes the table lacks are dropped (_dataset
// with them); a value must have its column's type (no string for a number, no fraction for an
// integer); timestamps are read in the contract's forms, which the deployed formats are
// generated from. Quality rules (patterns, ranges, enum symbols: the column is a string) and
// the future-time bound are the cleansed zone's business: the archive keeps records as sent.
type deserializer struct {
	c     *contract.Contract // the table: the contract's columns, without its rules
	byKey map[string]*contract.Contract
}

func newDeserializer(c *contract.Contract) *deserializer {
	table := *c
	table.Fields = make([]contract.Field, len(c.Fields))
	copy(table.Fields, c.Fields)
	for i := range table.Fields {
		f := &table.Fields[i]
		f.Rules = contract.Rules{}
		if f.Kind == contract.Enum { // a string column in Glue: any symbol is read
			f.Kind, f.Symbols = contract.String, nil
		}
	}
	table.RejectUnknown = false
	table.MaxFutureSkew = 100 * 365 * 24 * time.Hour
	return &deserializer{c: &table, byKey: map[string]*contract.Contract{table.Name: &table}}
}

// canonical keeps the table's columns of a decoded record, re-encoded as one JSON object.
func (d *deserializer) canonical(v any) ([]byte, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the record is a JSON %T, not an object", v)
	}
	keep := make(map[string]any, len(d.c.Fields))
	for _, f := range d.c.Fields {
		if x, ok := obj[f.Name]; ok {
			keep[f.Name] = x
		}
	}
	return json.Marshal(keep)
}

// check reads one canonical record into the table's schema, or says why it cannot.
func (d *deserializer) check(canon []byte) error {
	b := record.NewBatch(d.byKey, record.Options{DefaultDataset: d.c.Name})
	defer b.Release()
	if _, rej := b.Add(canon, 0); rej != nil {
		return rej
	}
	return nil
}

// table reads canonical records (already checked) into one table for a Parquet file.
func (d *deserializer) table(recs [][]byte) (*record.Table, func(), error) {
	b := record.NewBatch(d.byKey, record.Options{DefaultDataset: d.c.Name})
	b.Reserve(len(recs))
	for i, r := range recs {
		if _, rej := b.Add(r, i); rej != nil {
			b.Release()
			return nil, nil, fmt.Errorf("firehose: a checked record no longer converts: %w", rej)
		}
	}
	return b.Tables()[0], b.Release, nil
}
