package promote

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicelake/sluice/shared/parquetfile"
)

// A partition is promoted in two passes so that memory holds the cleansed files (compressed)
// and one small entry per distinct key, not every row:
//
//  1. read only the key and event-time columns of every file, and note per key where its
//     winning row is (latest event time; ties to the later object key, then the later row);
//  2. merge the files, each sorted by event time as sluice writes them, emitting each winning
//     row once, into curated files cut at the target size.

// source is one cleansed file and where a merge stands in it.
type source struct {
	index   int
	name    string
	file    *parquet.File
	srcOf   []int // curated column → column in this file, -1 when the file lacks it
	tsCol   int
	keyCols []int

	rg   int
	rows parquet.Rows
	buf  []parquet.Row
	pos  int
	n    int
	cols [][]parquet.Value
	row  int64 // index in the file of the current row
	ts   int64
	done bool
}

type winner struct {
	ts   int64
	file int32
	row  int64
}

// bind maps a file's columns to the curated schema's.
func (o *output) bind(index int, name string, f *parquet.File) (*source, error) {
	s := &source{index: index, name: name, file: f, row: -1}
	srcCols := f.Schema().Columns()
	byPath := map[string]int{}
	for i, p := range srcCols {
		byPath[strings.Join(p, ".")] = i
	}
	s.srcOf = make([]int, len(o.paths))
	for i, p := range o.paths {
		j, ok := byPath[p]
		if !ok {
			if !o.c.Fields[o.field[i]].Nullable {
				return nil, fmt.Errorf("required column %s is missing (a file of another schema in the cleansed zone)", p)
			}
			j = -1
		}
		s.srcOf[i] = j
	}
	var ok bool
	if s.tsCol, ok = byPath[o.c.Fields[o.c.EventTime].Name]; !ok {
		return nil, fmt.Errorf("event-time column %s is missing", o.c.Fields[o.c.EventTime].Name)
	}
	s.keyCols = make([]int, len(o.c.Key))
	for i, k := range o.c.Key {
		if s.keyCols[i], ok = byPath[o.c.Fields[k].Name]; !ok {
			return nil, fmt.Errorf("key column %s is missing", o.c.Fields[k].Name)
		}
	}
	s.cols = make([][]parquet.Value, len(srcCols))
	return s, nil
}

// readColumn calls fn with every value of a column chunk, in row order.
func readColumn(cc parquet.ColumnChunk, fn func(parquet.Value)) error {
	pages := cc.Pages()
	defer pages.Close()
	buf := make([]parquet.Value, 1024)
	for {
		p, err := pages.ReadPage()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		vr := p.Values()
		for {
			n, err := vr.ReadValues(buf)
			for _, v := range buf[:n] {
				fn(v)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				parquet.Release(p)
				return err
			}
		}
		parquet.Release(p)
	}
}

// scanKeys is pass 1 over one file; it returns the file's row count.
func (o *output) scanKeys(s *source, win map[string]winner) (int64, error) {
	var base int64
	for _, rg := range s.file.RowGroups() {
		ts, keys, err := rowGroupKeys(rg, s.tsCol, s.keyCols)
		if err != nil {
			return 0, err
		}
		for i := range ts {
			k := string(keys[i])
			if w, ok := win[k]; !ok || ts[i] >= w.ts {
				win[k] = winner{ts[i], int32(s.index), base + int64(i)}
			}
		}
		base += int64(len(ts))
	}
	return base, nil
}

// rowGroupKeys reads the event times and keys of a row group's rows from their columns only.
func rowGroupKeys(rg parquet.RowGroup, tsCol int, keyCols []int) ([]int64, [][]byte, error) {
	n := int(rg.NumRows())
	ts := make([]int64, 0, n)
	keys := make([][]byte, n)
	ccs := rg.ColumnChunks()
	if err := readColumn(ccs[tsCol], func(v parquet.Value) { ts = append(ts, v.Int64()) }); err != nil {
		return nil, nil, fmt.Errorf("read event times: %w", err)
	}
	for _, kc := range keyCols {
		i := 0
		err := readColumn(ccs[kc], func(v parquet.Value) {
			if i < n {
				keys[i] = appendKeyPart(keys[i], v)
			}
			i++
		})
		if err != nil {
			return nil, nil, fmt.Errorf("read keys: %w", err)
		}
		if i != n {
			return nil, nil, fmt.Errorf("key column has %d values for %d rows", i, n)
		}
	}
	if len(ts) != n {
		return nil, nil, fmt.Errorf("event-time column has %d values for %d rows", len(ts), n)
	}
	return ts, keys, nil
}

func appendKeyPart(dst []byte, v parquet.Value) []byte {
	b := v.Bytes()
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// next moves s to its next row; s.done when there is none.
func (s *source) next() error {
	for s.pos >= s.n {
		if s.rows == nil {
			if s.rg >= len(s.file.RowGroups()) {
				s.done = true
				return nil
			}
			s.rows = s.file.RowGroups()[s.rg].Rows()
			s.rg++
			if s.buf == nil {
				s.buf = make([]parquet.Row, 64)
			}
		}
		n, err := s.rows.ReadRows(s.buf)
		s.pos, s.n = 0, n
		if err == io.EOF || (err == nil && n == 0) {
			s.rows.Close()
			s.rows = nil
			if n == 0 {
				continue
			}
		} else if err != nil {
			return fmt.Errorf("%s: read rows: %w", s.name, err)
		}
	}
	row := s.buf[s.pos]
	s.pos++
	s.row++
	row.Range(func(ci int, vals []parquet.Value) bool {
		if ci < len(s.cols) {
			s.cols[ci] = vals
		}
		return true
	})
	s.ts = s.cols[s.tsCol][0].Int64()
	return nil
}

func (s *source) key(dst []byte) []byte {
	for _, kc := range s.keyCols {
		dst = appendKeyPart(dst, s.cols[kc][0])
	}
	return dst
}

// mergeHeap orders sources by their current row's event time, then file order.
type mergeHeap []*source

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	if h[i].ts != h[j].ts {
		return h[i].ts < h[j].ts
	}
	return h[i].index < h[j].index
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(*source)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// merge is pass 2: every winning row once, in event-time order, to w.
// taken, when set, is told the source of each row emitted, before the row goes to w.
func (o *output) merge(sources []*source, win map[string]winner, w *fileWriter, taken func(src int)) (int64, error) {
	h := mergeHeap{}
	for _, s := range sources {
		if err := s.next(); err != nil {
			return 0, err
		}
		if !s.done {
			h = append(h, s)
		}
	}
	heap.Init(&h)
	var out int64
	var kb []byte
	for len(h) > 0 {
		s := h[0]
		kb = s.key(kb[:0])
		if wn := win[string(kb)]; wn.file == int32(s.index) && wn.row == s.row {
			if taken != nil {
				taken(s.index)
			}
			if err := w.add(o.convert(s.cols, s.srcOf)); err != nil {
				return out, err
			}
			out++
		}
		if err := s.next(); err != nil {
			return out, err
		}
		if s.done {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	return out, w.finish()
}

// fileWriter writes curated files of at most target bytes: row groups are about an eighth of
// the target (the first of 256 rows, to measure bytes per row; PII hashes make curated rows
// larger than cleansed ones), and a file is closed while two more row groups of the largest
// size seen so far would still fit. Only a single row group larger than the target, rows of
// tens of kilobytes, can exceed it.
type fileWriter struct {
	o       *output
	target  int64
	rgBytes int64 // zero means target/8
	rgRows  int
	emit    func(i int, body []byte) error
	// rowGroupDone, when set, is called as each row group is complete, before emit.
	rowGroupDone func()
	buf          bytes.Buffer
	w            *parquet.Writer
	batch        []parquet.Row
	rgFill       int
	maxRG        int64
	lastSize     int
	files        int
}

func (f *fileWriter) add(row parquet.Row) error {
	f.batch = append(f.batch, row)
	if len(f.batch) < min(256, f.rgRows) {
		return nil
	}
	return f.flushBatch()
}

func (f *fileWriter) flushBatch() error {
	if len(f.batch) == 0 {
		return nil
	}
	if f.w == nil {
		f.buf.Reset()
		f.lastSize = 0
		f.w = f.o.writer(&f.buf)
	}
	if _, err := f.w.WriteRows(f.batch); err != nil {
		return fmt.Errorf("promote: encode curated %s: %w", f.o.c.Name, err)
	}
	f.rgFill += len(f.batch)
	f.batch = f.batch[:0]
	f.o.vals, f.o.bytes = f.o.vals[:0], f.o.bytes[:0] // the writer has copied them
	if f.rgFill < f.rgRows {
		return nil
	}
	if err := f.w.Flush(); err != nil {
		return fmt.Errorf("promote: encode curated %s: %w", f.o.c.Name, err)
	}
	if f.rowGroupDone != nil {
		f.rowGroupDone()
	}
	// Size the next row groups from this one's bytes per row: about an eighth of the target.
	size := int64(f.buf.Len() - f.lastSize)
	rgBytes := f.rgBytes
	if rgBytes <= 0 {
		rgBytes = f.target / 8
	}
	f.rgRows = int(max(64, min(1_000_000, rgBytes*int64(f.rgFill)/max(1, size))))
	f.rgFill = 0
	f.maxRG = max(f.maxRG, size)
	f.lastSize = f.buf.Len()
	if int64(f.buf.Len())+2*f.maxRG > f.target {
		return f.close()
	}
	return nil
}

func (f *fileWriter) close() error {
	if f.rgFill > 0 && f.rowGroupDone != nil {
		f.rowGroupDone()
	}
	if err := f.w.Close(); err != nil {
		return fmt.Errorf("promote: finish curated %s: %w", f.o.c.Name, err)
	}
	f.w = nil
	f.rgFill = 0
	if err := f.emit(f.files, f.buf.Bytes()); err != nil {
		return err
	}
	f.files++
	return nil
}

func (f *fileWriter) finish() error {
	if err := f.flushBatch(); err != nil {
		return err
	}
	if f.w != nil {
		return f.close()
	}
	return nil
}

func (o *output) writer(w io.Writer) *parquet.Writer {
	return parquet.NewWriter(w, o.schema,
		parquet.Compression(curatedCodec),
		parquet.CreatedBy(parquetfile.CreatedBy, "", ""),
		parquet.WriteBufferSize(0), // straight into the buffer, whose length then tells the file's size
		parquet.DataPageStatistics(false),
		parquet.KeyValueMetadata("sluice.contract_version", o.c.Version),
		parquet.KeyValueMetadata("sluice.zone", "curated"),
	)
}
