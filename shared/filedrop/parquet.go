package filedrop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
	pqformat "github.com/parquet-go/parquet-go/format"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/parquetfile"
)

// storeReaderAt reads an object at random through ranged gets, so that Parquet's footer and
// pages come from the store without reading the whole file. It keeps the few most recent
// aligned blocks: a row group's column chunks are read in turn, each a little at a time, and
// without the cache every turn would fetch again what the previous one had.
type storeReaderAt struct {
	ctx    context.Context
	store  objectstore.Store
	key    string
	size   int64
	mu     sync.Mutex
	blocks []cachedBlock // most recent last
	gets   int
}

type cachedBlock struct {
	off  int64
	data []byte
}

const (
	readBlock  = 256 << 10
	readBlocks = 32 // 8 MiB
)

func (s *storeReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= s.size {
		return 0, io.EOF
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < len(p) && off < s.size {
		b, err := s.block(off / readBlock * readBlock)
		if err != nil {
			return n, err
		}
		c := copy(p[n:], b.data[off-b.off:])
		n += c
		off += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (s *storeReaderAt) block(off int64) (cachedBlock, error) {
	for i, b := range s.blocks {
		if b.off == off {
			copy(s.blocks[i:], s.blocks[i+1:])
			s.blocks[len(s.blocks)-1] = b
			return b, nil
		}
	}
	length := min(readBlock, s.size-off)
	data, err := s.store.GetRange(s.ctx, s.key, off, length)
	s.gets++
	if err != nil {
		return cachedBlock{}, &storeError{err}
	}
	if int64(len(data)) != length {
		return cachedBlock{}, &storeError{fmt.Errorf("ranged get at %d returned %d bytes, want %d", off, len(data), length)}
	}
	b := cachedBlock{off, data}
	if len(s.blocks) == readBlocks {
		s.blocks = append(s.blocks[:0], s.blocks[1:]...)
	}
	s.blocks = append(s.blocks, b)
	return b, nil
}

// parquetSource reads a Parquet file's rows as JSON objects of the contract's fields.
type parquetSource struct {
	rd     *parquet.GenericReader[map[string]any]
	fields []pqField
	rows   []map[string]any
	i, n   int
	row    int64
	out    []byte
	done   bool
}

type pqField struct {
	f    *contract.Field
	key  []byte
	unit int64 // timestamps: units per millisecond (1 for ms, 1000 for µs, 1e6 for ns)
}

func openParquet(ctx context.Context, store objectstore.Store, key string, size int64, c *contract.Contract) (*parquetSource, error) {
	ra := &storeReaderAt{ctx: ctx, store: store, key: key, size: size}
	f, err := parquet.OpenFile(ra, size, parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true), parquet.ReadBufferSize(readBlock))
	if err != nil {
		var se *storeError
		if errors.As(err, &se) {
			return nil, se
		}
		return nil, fileErr(BadParquet, "cannot open as Parquet (not Parquet, or truncated): %v", err)
	}
	s := &parquetSource{}
	schema := f.Schema()
	have := map[string]bool{}
	for _, fld := range schema.Fields() {
		have[fld.Name()] = true
		if _, ok := c.Field(fld.Name()); !ok && c.RejectUnknown {
			return nil, fileErr(ParquetSchema, "column %q is not a field of %s (fields: %v)", fld.Name(), c.Name, c.FieldNames())
		}
	}
	for i := range c.Fields {
		cf := &c.Fields[i]
		if !have[cf.Name] {
			if !cf.Nullable {
				return nil, fileErr(ParquetSchema, "required column %q (%s) is missing", cf.Name, cf.Describe())
			}
			continue
		}
		var node parquet.Node
		for _, fld := range schema.Fields() {
			if fld.Name() == cf.Name {
				node = fld
			}
		}
		pf := pqField{f: cf, unit: 1}
		pf.key, _ = json.Marshal(cf.Name)
		pf.key = append(pf.key, ':')
		want := parquetfile.Node(cf)
		if want.Leaf() != node.Leaf() || node.Leaf() && want.Type().Kind() != node.Type().Kind() {
			return nil, fileErr(ParquetSchema, "column %q is %v; the contract's %s is stored as %v", cf.Name, node.Type(), cf.Describe(), want.Type())
		}
		if cf.Kind == contract.Timestamp {
			lt := node.Type().LogicalType()
			var ts *pqformat.TimestampType
			if lt != nil {
				ts, _ = lt.Value.(*pqformat.TimestampType)
			}
			if ts == nil {
				return nil, fileErr(ParquetSchema, "column %q is a plain %v, not a timestamp", cf.Name, node.Type())
			}
			switch ts.Unit.Value.(type) {
			case *pqformat.MicroSeconds:
				pf.unit = 1000
			case *pqformat.NanoSeconds:
				pf.unit = 1_000_000
			}
		}
		s.fields = append(s.fields, pf)
	}
	s.rd = parquet.NewGenericReader[map[string]any](f, schema)
	s.rows = make([]map[string]any, 256)
	return s, nil
}

func (s *parquetSource) next(a *arena) (rec, error) {
	if s.i == s.n {
		if s.done {
			return rec{}, io.EOF
		}
		for i := range s.rows {
			s.rows[i] = map[string]any{}
		}
		n, err := s.rd.Read(s.rows)
		s.i, s.n = 0, n
		if err == io.EOF {
			s.done = true
		} else if err != nil {
			var se *storeError
			if errors.As(err, &se) {
				return rec{}, se
			}
			return rec{}, fileErr(BadParquet, "row %d: %v", s.row+1, err)
		}
		if n == 0 {
			return rec{}, io.EOF
		}
	}
	m := s.rows[s.i]
	s.i++
	s.row++
	data := a.copy(s.toJSON(m))
	return rec{data: data, orig: data, line: s.row}, nil
}

func (s *parquetSource) toJSON(m map[string]any) []byte {
	out := append(s.out[:0], '{')
	for i, pf := range s.fields {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, pf.key...)
		out = appendParquetValue(out, pf, m[pf.f.Name])
	}
	out = append(out, '}')
	s.out = out
	return out
}

func appendParquetValue(out []byte, pf pqField, v any) []byte {
	if v == nil {
		return append(out, "null"...)
	}
	switch x := v.(type) {
	case []byte:
		return appendString(out, x)
	case string:
		return appendString(out, []byte(x))
	case bool:
		return strconv.AppendBool(out, x)
	case float32:
		return appendFloat(out, float64(x), 32)
	case float64:
		return appendFloat(out, x, 64)
	case time.Time:
		if pf.f.Kind == contract.Date {
			return appendString(out, []byte(x.UTC().Format(time.DateOnly)))
		}
		return appendString(out, []byte(x.UTC().Format("2006-01-02T15:04:05.000Z")))
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out = append(out, '{')
		for i, k := range keys {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendString(out, []byte(k))
			out = append(out, ':')
			out = appendParquetValue(out, pqField{f: &contract.Field{Kind: contract.String}, unit: 1}, x[k])
		}
		return append(out, '}')
	}
	var n int64
	switch x := v.(type) {
	case int32:
		n = int64(x)
	case int64:
		n = x
	case int:
		n = int64(x)
	default:
		b, _ := json.Marshal(fmt.Sprint(v))
		return append(out, b...)
	}
	switch pf.f.Kind {
	case contract.Timestamp:
		return appendString(out, []byte(time.UnixMilli(n/pf.unit).UTC().Format("2006-01-02T15:04:05.000Z")))
	case contract.Date:
		return appendString(out, []byte(time.Unix(n*86400, 0).UTC().Format(time.DateOnly)))
	}
	return strconv.AppendInt(out, n, 10)
}

func appendFloat(out []byte, x float64, bits int) []byte {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return appendString(out, []byte(strconv.FormatFloat(x, 'g', -1, bits))) // the batch rejects it by type
	}
	return strconv.AppendFloat(out, x, 'g', -1, bits)
}
