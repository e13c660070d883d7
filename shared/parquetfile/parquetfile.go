// Package parquetfile writes a dataset's rows as Parquet: zstd, the schema derived from the
// contract, column statistics and page indexes for pruning, rows sorted by event time so that
// min/max statistics of the time column are tight.
package parquetfile

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/record"
)

// The codecs are shared by every file, so that encoders are pooled across files rather than
// made anew for each; their window matches the page size (no page is larger).
var codecs = map[Compression]*zstdCodec{
	Fast:  newZstdCodec(defaultPageBytes, zstd.SpeedFastest),
	Small: newZstdCodec(defaultPageBytes, zstd.SpeedDefault),
}

// Compression trades encoding speed for size. Both are zstd.
type Compression uint8

const (
	// Fast suits files that are rewritten later (the cleansed zone): on clickstream JSON, about
	// 5.9x smaller than the input.
	Fast Compression = iota
	// Small suits files that stay (the curated zone): about 7.7x, and slower to encode.
	Small
)

const defaultPageBytes = 256 << 10

// CreatedBy is written into every file's footer (constant, so output is byte-for-byte repeatable).
const CreatedBy = "sluice"

// Node returns the Parquet node of one contract field.
func Node(f *contract.Field) parquet.Node {
	var n parquet.Node
	switch f.Kind {
	case contract.String:
		n = parquet.String()
	case contract.Enum:
		// Dictionary encoding: a handful of symbols repeated on every row.
		n = parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
	case contract.Int:
		n = parquet.Int(32)
	case contract.Long:
		n = parquet.Int(64)
	case contract.Float:
		n = parquet.Leaf(parquet.FloatType)
	case contract.Double:
		n = parquet.Leaf(parquet.DoubleType)
	case contract.Boolean:
		n = parquet.Leaf(parquet.BooleanType)
	case contract.Timestamp:
		n = parquet.Timestamp(parquet.Millisecond)
	case contract.Date:
		n = parquet.Date()
	case contract.StringMap:
		n = parquet.Map(parquet.String(), parquet.String())
	default:
		panic(fmt.Sprintf("parquetfile: field %s has unsupported kind %v", f.Name, f.Kind))
	}
	if f.Nullable {
		n = parquet.Optional(n)
	}
	return n
}

// Schema derives the Parquet schema of a contract. Columns are named as the contract's fields.
func Schema(c *contract.Contract) *parquet.Schema {
	g := parquet.Group{}
	for i := range c.Fields {
		g[c.Fields[i].Name] = Node(&c.Fields[i])
	}
	return parquet.NewSchema(c.Name, g)
}

// Options tune a file.
type Options struct {
	// Metadata goes into the footer's key/value metadata (provenance, contract version).
	Metadata map[string]string
	// RowGroupRows bounds a row group. Default 1,000,000: ingest files are small, and the
	// compactor makes ~128 MB files whose row groups Athena splits on.
	RowGroupRows int64
	// Compression is Fast unless set.
	Compression Compression
	// PageBytes is the page buffer size. Default and maximum 256 KiB (the zstd window).
	PageBytes int
}

// layout maps each contract field to its leaf columns.
type layout struct {
	col    []int // scalar column, or the key column of a map
	valCol []int // the value column of a map
}

func newLayout(c *contract.Contract, s *parquet.Schema) layout {
	l := layout{col: make([]int, len(c.Fields)), valCol: make([]int, len(c.Fields))}
	for i, f := range c.Fields {
		if f.Kind == contract.StringMap {
			k, _ := s.Lookup(f.Name, "key_value", "key")
			v, _ := s.Lookup(f.Name, "key_value", "value")
			l.col[i], l.valCol[i] = k.ColumnIndex, v.ColumnIndex
		} else {
			leaf, ok := s.Lookup(f.Name)
			if !ok {
				panic("parquetfile: no column for " + f.Name)
			}
			l.col[i] = leaf.ColumnIndex
		}
	}
	return l
}

// Write writes the given rows of t (indexes into the table), sorted by event time, as one file.
func Write(w io.Writer, t *record.Table, rows []int, opts Options) error {
	c := t.Contract
	schema := Schema(c)
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = 1_000_000
	}
	if opts.PageBytes <= 0 || opts.PageBytes > defaultPageBytes {
		opts.PageBytes = defaultPageBytes
	}
	wopts := []parquet.WriterOption{
		schema,
		parquet.Compression(codecs[opts.Compression]),
		parquet.CreatedBy(CreatedBy, "", ""),
		parquet.MaxRowsPerRowGroup(opts.RowGroupRows),
		parquet.PageBufferSize(opts.PageBytes),
		parquet.DataPageStatistics(false), // redundant with the column index and chunk statistics below, which readers prune on
	}
	// Min/max bounds of free-text columns (ids, pages, names) prune nothing and cost a string
	// comparison per value; enums, numbers and times keep theirs.
	for i := range c.Fields {
		if c.Fields[i].Kind == contract.String {
			wopts = append(wopts, parquet.SkipPageBounds(c.Fields[i].Name))
		}
	}
	keys := make([]string, 0, len(opts.Metadata))
	for k := range opts.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		wopts = append(wopts, parquet.KeyValueMetadata(k, opts.Metadata[k]))
	}
	pw := parquet.NewWriter(w, wopts...)

	sorted := byEventTime(t, rows)

	// A chunk of rows at a time: the table is read row by row (it is stored that way, so this is
	// what the cache likes) into one value buffer per column, and each column is then written
	// with one typed call, far cheaper than shredding every row across all columns (WriteRows).
	l := newLayout(c, schema)
	cols := pw.ColumnWriters()
	const chunk = 4096
	bufs := make([][]parquet.Value, len(cols))
	for i := range bufs {
		bufs[i] = make([]parquet.Value, 0, min(chunk, len(sorted))*2) // maps hold a few entries a row
	}
	for start := 0; start < len(sorted); start += chunk {
		for i := range bufs {
			bufs[i] = bufs[i][:0]
		}
		rowsInChunk := sorted[start:min(start+chunk, len(sorted))]
		for _, ri := range rowsInChunk {
			appendRow(bufs, t, t.Row(ri), &l)
		}
		for col, vals := range bufs {
			if _, err := cols[col].WriteRowValues(vals); err != nil {
				return fmt.Errorf("parquet: write %s column %d: %w", c.Name, col, err)
			}
		}
		if written := int64(start + len(rowsInChunk)); written%opts.RowGroupRows < chunk && written >= opts.RowGroupRows {
			if err := pw.Flush(); err != nil { // close the row group
				return fmt.Errorf("parquet: flush row group of %s: %w", c.Name, err)
			}
		}
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("parquet: finish file of %s: %w", c.Name, err)
	}
	return nil
}

// appendRow appends one row's values to the buffers of their columns. A MAP<STRING,STRING> has
// two leaf columns: per row, one null for a null or empty map (at different definition levels),
// else one value per entry in each.
func appendRow(bufs [][]parquet.Value, t *record.Table, row []record.Value, l *layout) {
	for fi := range row {
		f := &t.Contract.Fields[fi]
		v := &row[fi]
		col := l.col[fi]
		def := 0
		if f.Nullable {
			def = 1
		}
		if f.Kind != contract.StringMap {
			if !v.Set {
				bufs[col] = append(bufs[col], parquet.NullValue().Level(0, 0, col))
			} else {
				bufs[col] = append(bufs[col], scalar(f.Kind, v).Level(0, def, col))
			}
			continue
		}
		vcol := l.valCol[fi]
		pairs := t.Pairs[v.MapStart:v.MapEnd]
		switch {
		case !v.Set:
			bufs[col] = append(bufs[col], parquet.NullValue().Level(0, 0, col))
			bufs[vcol] = append(bufs[vcol], parquet.NullValue().Level(0, 0, vcol))
		case len(pairs) == 0:
			bufs[col] = append(bufs[col], parquet.NullValue().Level(0, def, col))
			bufs[vcol] = append(bufs[vcol], parquet.NullValue().Level(0, def, vcol))
		default:
			for i, p := range pairs {
				bufs[col] = append(bufs[col], parquet.ByteArrayValue(p.Key).Level(min(i, 1), def+1, col))
				bufs[vcol] = append(bufs[vcol], parquet.ByteArrayValue(p.Value).Level(min(i, 1), def+1, vcol))
			}
		}
	}
}

func scalar(k contract.Kind, v *record.Value) parquet.Value {
	switch k {
	case contract.String, contract.Enum:
		return parquet.ByteArrayValue(v.Str)
	case contract.Int, contract.Date:
		return parquet.Int32Value(int32(v.Int))
	case contract.Long, contract.Timestamp:
		return parquet.Int64Value(v.Int)
	case contract.Float:
		return parquet.FloatValue(float32(v.Float))
	case contract.Double:
		return parquet.DoubleValue(v.Float)
	default: // Boolean
		return parquet.BooleanValue(v.Int == 1)
	}
}

// byEventTime orders rows by event time, ties in their given order. Rows usually arrive nearly
// sorted, so the check for sorted input pays for itself.
func byEventTime(t *record.Table, rows []int) []int {
	type keyed struct{ ts, row int64 }
	ks := make([]keyed, len(rows))
	sorted := true
	for i, r := range rows {
		ks[i] = keyed{t.EventTime(r), int64(r)}
		if i > 0 && ks[i].ts < ks[i-1].ts {
			sorted = false
		}
	}
	if !sorted {
		slices.SortStableFunc(ks, func(a, b keyed) int { return cmp.Compare(a.ts, b.ts) })
	}
	out := make([]int, len(ks))
	for i, k := range ks {
		out[i] = int(k.row)
	}
	return out
}

// WriteTable writes every row of t, as Write does.
func WriteTable(w io.Writer, t *record.Table, opts Options) error {
	rows := make([]int, t.Len())
	for i := range rows {
		rows[i] = i
	}
	return Write(w, t, rows, opts)
}
