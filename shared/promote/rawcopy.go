package promote

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"

	"github.com/sluicelake/sluice/shared/objectstore"
)

// Row groups move between curated files as bytes: a row group's column chunks are one
// contiguous byte range of its file, and nothing inside them refers to the file (page headers
// carry sizes, not offsets). Only the footer and the page indexes hold offsets, so a file made
// of row groups of other files of the same schema is their bytes concatenated, page indexes
// re-encoded with shifted offsets, and a footer listing the row groups at their new places. No
// page is decompressed or decoded.

// pfile is a Parquet file whose row groups can be copied: its decoded footer, and its bytes.
type pfile struct {
	f    *parquet.File
	read func(off, n int64) ([]byte, error)
	// indexes caches the span of the file holding every page index, read once.
	indexes    []byte
	indexStart int64
}

func memFile(b []byte) (*pfile, error) {
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, err
	}
	return &pfile{f: f, read: func(off, n int64) ([]byte, error) {
		if off < 0 || off+n > int64(len(b)) {
			return nil, fmt.Errorf("range %d+%d outside a %d-byte file", off, n, len(b))
		}
		return b[off : off+n], nil
	}}, nil
}

// chunkRange is where a column chunk's pages are: the dictionary page, if any, comes first.
func chunkRange(cc *format.ColumnChunk) (start, end int64) {
	md := &cc.MetaData
	start = md.DataPageOffset
	if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
		start = md.DictionaryPageOffset
	}
	return start, start + md.TotalCompressedSize
}

func rowGroupRange(rg *format.RowGroup) (start, end int64) {
	start = -1
	for i := range rg.Columns {
		s, e := chunkRange(&rg.Columns[i])
		if start < 0 || s < start {
			start = s
		}
		end = max(end, e)
	}
	return start, end
}

// rowGroupBytes is the size of row group i's column chunks.
func (p *pfile) rowGroupBytes(i int) int64 {
	s, e := rowGroupRange(&p.f.Metadata().RowGroups[i])
	return e - s
}

// index returns the bytes of a page index at off, reading the span of all of the file's page
// indexes the first time.
func (p *pfile) index(off int64, n int32) ([]byte, error) {
	if p.indexes == nil {
		start, end := int64(-1), int64(0)
		for _, rg := range p.f.Metadata().RowGroups {
			for _, cc := range rg.Columns {
				for _, r := range [][2]int64{{cc.ColumnIndexOffset, int64(cc.ColumnIndexLength)}, {cc.OffsetIndexOffset, int64(cc.OffsetIndexLength)}} {
					if r[1] <= 0 {
						continue
					}
					if start < 0 || r[0] < start {
						start = r[0]
					}
					end = max(end, r[0]+r[1])
				}
			}
		}
		if start < 0 {
			return nil, nil
		}
		b, err := p.read(start, end-start)
		if err != nil {
			return nil, err
		}
		p.indexes, p.indexStart = b, start
	}
	lo := off - p.indexStart
	if lo < 0 || lo+int64(n) > int64(len(p.indexes)) {
		return nil, fmt.Errorf("page index at %d+%d outside the index span", off, n)
	}
	return p.indexes[lo : lo+int64(n)], nil
}

// assembler builds one Parquet file out of row groups copied from files of one schema.
type assembler struct {
	buf  bytes.Buffer
	md   format.FileMetaData
	kv   []format.KeyValue
	idx  [][2][]byte // per column chunk in order: its column index and offset index
	rows int64
	// idxBytes is the size of the page indexes in idx
	idxBytes int64
	target   int64
}

// footerBytesPerChunk bounds what a column chunk adds to the footer (offsets, sizes, encodings,
// statistics of short values), to keep files under their target size.
const footerBytesPerChunk = 256

// estimate is the file's size if it were finished now, or a little more.
func (a *assembler) estimate() int64 {
	return int64(a.buf.Len()) + a.idxBytes + footerBytesPerChunk*int64(len(a.idx)) + 1024
}

// newAssembler makes an assembler of files of about target bytes (zero: no target).
func newAssembler(kv map[string]string, target int64) *assembler {
	a := &assembler{target: target}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		a.kv = append(a.kv, format.KeyValue{Key: k, Value: kv[k]})
	}
	return a
}

func (a *assembler) empty() bool { return len(a.md.RowGroups) == 0 }

// size is the file's size so far, without its footer.
func (a *assembler) size() int64 { return int64(a.buf.Len()) }

var pt = thrift.CompactProtocol{}

// add copies row group i of src to the end of the file.
func (a *assembler) add(src *pfile, i int) error {
	smd := src.f.Metadata()
	if a.empty() {
		a.buf.Reset()
		a.buf.WriteString("PAR1")
		a.md = format.FileMetaData{
			Version:          smd.Version,
			Schema:           smd.Schema,
			ColumnOrders:     smd.ColumnOrders,
			KeyValueMetadata: a.kv,
			CreatedBy:        smd.CreatedBy,
		}
		a.idx = a.idx[:0]
		a.rows, a.idxBytes = 0, 0
	}
	rg := smd.RowGroups[i]
	start, end := rowGroupRange(&rg)
	data, err := src.read(start, end-start)
	if err != nil {
		return fmt.Errorf("read row group %d: %w", i, err)
	}
	delta := int64(a.buf.Len()) - start
	a.grow(len(data))
	a.buf.Write(data)
	cols := slices.Clone(rg.Columns)
	for c := range cols {
		cc := &cols[c]
		if cc.FileOffset > 0 {
			cc.FileOffset += delta
		}
		md := &cc.MetaData
		md.DataPageOffset += delta
		if md.DictionaryPageOffset > 0 {
			md.DictionaryPageOffset += delta
		}
		if md.IndexPageOffset > 0 {
			md.IndexPageOffset += delta
		}
		md.BloomFilterOffset, md.BloomFilterLength = 0, 0
		var ci, oi []byte
		if cc.ColumnIndexLength > 0 && cc.OffsetIndexLength > 0 {
			if ci, err = src.index(cc.ColumnIndexOffset, cc.ColumnIndexLength); err != nil {
				return err
			}
			raw, err := src.index(cc.OffsetIndexOffset, cc.OffsetIndexLength)
			if err != nil {
				return err
			}
			var off format.OffsetIndex
			if err := thrift.Unmarshal(&pt, raw, &off); err != nil {
				return fmt.Errorf("decode offset index: %w", err)
			}
			for p := range off.PageLocations {
				off.PageLocations[p].Offset += delta
			}
			if oi, err = thrift.Marshal(&pt, &off); err != nil {
				return fmt.Errorf("encode offset index: %w", err)
			}
			ci = bytes.Clone(ci)
		}
		a.idx = append(a.idx, [2][]byte{ci, oi})
		a.idxBytes += int64(len(ci) + len(oi))
		cc.ColumnIndexOffset, cc.ColumnIndexLength, cc.OffsetIndexOffset, cc.OffsetIndexLength = 0, 0, 0, 0
	}
	rg.Columns = cols
	if rg.FileOffset > 0 {
		rg.FileOffset += delta
	}
	rg.Ordinal = int16(len(a.md.RowGroups))
	a.md.RowGroups = append(a.md.RowGroups, rg)
	a.md.NumRows += rg.NumRows
	a.rows += rg.NumRows
	return nil
}

// grow makes room for n more bytes. Past a quarter of the target, the buffer grows to the
// target at once: doubling would hold the old and the new buffer, up to three times the
// target, at the moment a large file outgrows its buffer.
func (a *assembler) grow(n int) {
	need := a.buf.Len() + n
	if need <= a.buf.Cap() {
		return
	}
	if a.target > 0 && int64(need) > a.target/4 && int64(need) < a.target {
		a.buf.Grow(int(a.target) + 1<<20 - a.buf.Len())
		return
	}
	a.buf.Grow(n)
}

// finish writes the page indexes and the footer, and returns the file. The bytes are valid
// until the next add.
func (a *assembler) finish() ([]byte, error) {
	k := 0
	for r := range a.md.RowGroups {
		cols := a.md.RowGroups[r].Columns
		for c := range cols {
			if ci := a.idx[k+c][0]; ci != nil {
				cols[c].ColumnIndexOffset, cols[c].ColumnIndexLength = int64(a.buf.Len()), int32(len(ci))
				a.buf.Write(ci)
			}
		}
		k += len(cols)
	}
	k = 0
	for r := range a.md.RowGroups {
		cols := a.md.RowGroups[r].Columns
		for c := range cols {
			if oi := a.idx[k+c][1]; oi != nil {
				cols[c].OffsetIndexOffset, cols[c].OffsetIndexLength = int64(a.buf.Len()), int32(len(oi))
				a.buf.Write(oi)
			}
		}
		k += len(cols)
	}
	footer, err := thrift.Marshal(&pt, &a.md)
	if err != nil {
		return nil, fmt.Errorf("encode footer: %w", err)
	}
	a.buf.Write(footer)
	a.buf.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(footer))))
	a.buf.WriteString("PAR1")
	a.md.RowGroups = nil
	a.md.NumRows = 0
	return a.buf.Bytes(), nil
}

// rangeReader reads an object through ranged GETs, for parquet.OpenFile: the tail (footer) is
// read once, and the ranges about to be decoded are loaded up front, one request each, so that
// the reader's small reads never become requests of their own.
type rangeReader struct {
	ctx  context.Context
	s    objectstore.Store
	key  string
	size int64
	tail segment
	segs []segment
}

type segment struct {
	off int64
	b   []byte
}

func (s segment) covers(off, n int64) bool { return off >= s.off && off+n <= s.off+int64(len(s.b)) }

// tailBytes is read with the footer: a curated file's footer and page indexes fit in it.
const tailBytes = 64 << 10

func openRange(ctx context.Context, s objectstore.Store, key string, size int64) (*rangeReader, error) {
	r := &rangeReader{ctx: ctx, s: s, key: key, size: size}
	n := min(size, tailBytes)
	b, err := s.GetRange(ctx, key, size-n, n)
	if err != nil {
		return nil, err
	}
	r.tail = segment{size - n, b}
	return r, nil
}

func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	n := int64(len(p))
	if off >= r.size {
		return 0, io.EOF
	}
	short := off+n > r.size
	if short {
		n = r.size - off
	}
	for _, s := range append(r.segs, r.tail) {
		if s.covers(off, n) {
			copy(p, s.b[off-s.off:off-s.off+n])
			if short {
				return int(n), io.EOF
			}
			return int(n), nil
		}
	}
	b, err := r.s.GetRange(r.ctx, r.key, off, n)
	if err != nil {
		return 0, err
	}
	copy(p, b)
	if short || int64(len(b)) < n {
		return len(b), io.EOF
	}
	return len(b), nil
}

// load reads [off, off+n) in one request and serves reads from it until unload.
func (r *rangeReader) load(off, n int64) error {
	if r.tail.covers(off, n) {
		return nil
	}
	b, err := r.s.GetRange(r.ctx, r.key, off, n)
	if err != nil {
		return err
	}
	r.segs = append(r.segs, segment{off, b})
	return nil
}

func (r *rangeReader) unload() { r.segs = nil }

// read is a pfile's reader: the tail from memory, the rest by ranged GET.
func (r *rangeReader) read(off, n int64) ([]byte, error) {
	if r.tail.covers(off, n) {
		return r.tail.b[off-r.tail.off : off-r.tail.off+n], nil
	}
	return r.s.GetRange(r.ctx, r.key, off, n)
}
