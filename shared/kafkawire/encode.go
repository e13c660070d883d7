package kafkawire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/record"
)

// Encode writes a JSON record of contract c as a wire-format value under schemaID: what a
// producer with a schema registry sends. The Avro itself is written by hamba/avro from the
// contract's schema, so the decoder here is checked against an encoder it shares no code with.
// The record must be valid for c (Avro cannot carry what the contract refuses); _dataset is dropped.
func Encode(c *contract.Contract, schemaID uint32, jsonRecord []byte) ([]byte, error) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(jsonRecord, &in); err != nil {
		return nil, fmt.Errorf("kafkawire: encode: the record is not a JSON object: %w", err)
	}
	out := make(map[string]any, len(c.Fields))
	for i := range c.Fields {
		f := &c.Fields[i]
		raw, ok := in[f.Name]
		if !ok || string(raw) == "null" {
			if !f.Nullable {
				return nil, fmt.Errorf("kafkawire: encode: required field %q is missing", f.Name)
			}
			out[f.Name] = nil
			continue
		}
		v, err := native(f, raw)
		if err != nil {
			return nil, fmt.Errorf("kafkawire: encode: field %q: %w", f.Name, err)
		}
		if f.Nullable {
			// hamba resolves a union branch from a map of the branch's name to its value.
			v = map[string]any{unionName(c, f): v}
		}
		out[f.Name] = v
	}
	body, err := avro.Marshal(c.Schema, out)
	if err != nil {
		return nil, fmt.Errorf("kafkawire: encode: %w", err)
	}
	return Append(nil, schemaID, body), nil
}

// native is a field's JSON value as the Go type hamba/avro writes for the field's Avro type.
func native(f *contract.Field, raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	switch f.Kind {
	case contract.String, contract.Enum:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s wanted, got %s", f.Kind, raw)
		}
		return s, nil
	case contract.Int, contract.Long, contract.Float, contract.Double:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s wanted, got %s", f.Kind, raw)
		}
		switch f.Kind {
		case contract.Int:
			x, err := n.Int64()
			return int(x), err
		case contract.Long:
			return n.Int64()
		case contract.Float:
			x, err := n.Float64()
			return float32(x), err
		}
		return n.Float64()
	case contract.Boolean:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("boolean wanted, got %s", raw)
		}
		return b, nil
	case contract.Timestamp:
		s, _ := v.(string)
		ms, rej := record.ParseTimestamp([]byte(s), f.WithoutZone)
		if rej != nil {
			return nil, rej
		}
		return time.UnixMilli(ms).UTC(), nil
	case contract.Date:
		s, _ := v.(string)
		days, ok := record.ParseDate([]byte(s))
		if !ok {
			return nil, fmt.Errorf("date wanted, got %s", raw)
		}
		return time.Unix(days*86400, 0).UTC(), nil
	case contract.StringMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("object of strings wanted, got %s", raw)
		}
		return m, nil
	}
	return nil, fmt.Errorf("kind %s cannot be written", f.Kind)
}

// unionName is the name hamba/avro gives the non-null branch of an optional field.
func unionName(c *contract.Contract, f *contract.Field) string {
	rs, _ := c.Schema.(*avro.RecordSchema)
	for _, af := range rs.Fields() {
		if af.Name() != f.Name {
			continue
		}
		u, _ := af.Type().(*avro.UnionSchema)
		for _, t := range u.Types() {
			if t.Type() == avro.Null {
				continue
			}
			if n, ok := t.(avro.NamedSchema); ok {
				return n.FullName()
			}
			if p, ok := t.(*avro.PrimitiveSchema); ok && p.Logical() != nil {
				return string(p.Type()) + "." + string(p.Logical().Type())
			}
			return string(t.Type())
		}
	}
	return ""
}
