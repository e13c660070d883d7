package summary

import (
	"bytes"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/query"
)

// encode writes rows of the engine's answer (JSON-ready values, in the order of cols) as one
// Parquet file of the summary's columns less the day, which is the file's partition.
func encode(ct *contract.Contract, cols []query.Column, rows [][]any) ([]byte, error) {
	var fields []contract.Field
	for _, f := range ct.Fields {
		if f.Name != DayColumn {
			fields = append(fields, f)
		}
	}
	file, err := contract.Derived(ct.Path, ct.Name, ct.Doc, fields)
	if err != nil {
		return nil, err
	}
	schema := parquetfile.Schema(file)
	at := map[string]int{}
	for i, c := range cols {
		at[c.Name] = i
	}
	leaf := make([]int, len(fields))
	src := make([]int, len(fields))
	for i, f := range fields {
		l, ok := schema.Lookup(f.Name)
		j, found := at[f.Name]
		if !ok || !found {
			return nil, fmt.Errorf("summary %s: the engine's answer has no column %s (it has %v)", ct.Name, f.Name, cols)
		}
		leaf[i], src[i] = l.ColumnIndex, j
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, schema, parquet.Compression(parquetfile.Codec(parquetfile.Small)), parquet.CreatedBy(parquetfile.CreatedBy, "", ""))
	out := make([]parquet.Row, 0, len(rows))
	for _, r := range rows {
		row := make(parquet.Row, len(fields))
		for i := range fields {
			f := &fields[i]
			v, err := value(f, r[src[i]])
			if err != nil {
				return nil, fmt.Errorf("summary %s: column %s: %w", ct.Name, f.Name, err)
			}
			def := 0
			if f.Nullable && !v.IsNull() {
				def = 1
			}
			row[leaf[i]] = v.Level(0, def, leaf[i])
		}
		out = append(out, row)
	}
	if _, err := w.WriteRows(out); err != nil {
		return nil, fmt.Errorf("summary %s: write Parquet: %w", ct.Name, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("summary %s: finish Parquet: %w", ct.Name, err)
	}
	return buf.Bytes(), nil
}

// value converts one JSON-ready engine value to the Parquet value of its column.
func value(f *contract.Field, v any) (parquet.Value, error) {
	if v == nil {
		if !f.Nullable {
			return parquet.Value{}, fmt.Errorf("null in a column that cannot be")
		}
		return parquet.NullValue(), nil
	}
	bad := func() (parquet.Value, error) {
		return parquet.Value{}, fmt.Errorf("%v (%T) is not a %s", v, v, f.Kind)
	}
	switch f.Kind {
	case contract.String, contract.Enum:
		if s, ok := v.(string); ok {
			return parquet.ByteArrayValue([]byte(s)), nil
		}
	case contract.Int, contract.Long:
		n, ok := whole(v)
		if !ok {
			return bad()
		}
		if f.Kind == contract.Int {
			return parquet.Int32Value(int32(n)), nil
		}
		return parquet.Int64Value(n), nil
	case contract.Float, contract.Double:
		var x float64
		switch n := v.(type) {
		case float64:
			x = n
		case int64:
			x = float64(n)
		default:
			return bad()
		}
		if f.Kind == contract.Float {
			return parquet.FloatValue(float32(x)), nil
		}
		return parquet.DoubleValue(x), nil
	case contract.Boolean:
		if b, ok := v.(bool); ok {
			return parquet.BooleanValue(b), nil
		}
	case contract.Timestamp:
		if s, ok := v.(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return parquet.Int64Value(t.UnixMilli()), nil
			}
		}
	case contract.Date:
		if s, ok := v.(string); ok {
			if t, err := time.Parse(time.DateOnly, s); err == nil {
				return parquet.Int32Value(int32(t.Unix() / 86400)), nil
			}
		}
	}
	return bad()
}

// whole reads a whole number as engines answer one: int64, or a decimal string when it does
// not fit (a DuckDB HUGEINT sum).
func whole(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case float64:
		return int64(n), float64(int64(n)) == n
	case string:
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			return i, true
		}
		if b, ok := new(big.Int).SetString(n, 10); ok && b.IsInt64() {
			return b.Int64(), true
		}
	}
	return 0, false
}
