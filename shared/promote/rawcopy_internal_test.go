package promote

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/parquetfile"
)

// curatedFiles encodes n curated customers files of rows rows each, row groups of rgRows.
func curatedFiles(tb testing.TB, n, rows, rgRows int) [][]byte {
	tb.Helper()
	reg, err := events.Registry()
	if err != nil {
		tb.Fatal(err)
	}
	o := newOutput(reg["customers"], nil)
	statuses := []string{"Active", "Inactive", "Canceled"}
	var out [][]byte
	for f := range n {
		var buf bytes.Buffer
		w := o.writer(&buf)
		for r := range rows {
			// columns in the curated schema's order: email, event_date, last_name, name, status, uuid
			row := parquet.Row{
				parquet.ByteArrayValue(fmt.Appendf(nil, "%064x", f*rows+r)).Level(0, 0, 0),
				parquet.Int64Value(int64(1_700_000_000_000+r*1000)).Level(0, 0, 1),
				parquet.ByteArrayValue([]byte("****lace")).Level(0, 0, 2),
				parquet.ByteArrayValue(fmt.Appendf(nil, "customer %d", r%997)).Level(0, 0, 3),
				parquet.ByteArrayValue([]byte(statuses[r%3])).Level(0, 0, 4),
				parquet.ByteArrayValue(fmt.Appendf(nil, "%08x-0000-4000-8000-%012x", f, r)).Level(0, 0, 5),
			}
			if _, err := w.WriteRows([]parquet.Row{row}); err != nil {
				tb.Fatal(err)
			}
			if (r+1)%rgRows == 0 {
				w.Flush()
			}
		}
		if err := w.Close(); err != nil {
			tb.Fatal(err)
		}
		out = append(out, buf.Bytes())
	}
	return out
}

// TestAssembledFileReadsBack: a file assembled from row groups of three files (one of them
// twice) reads back as their rows, in order, page indexes included.
func TestAssembledFileReadsBack(t *testing.T) {
	files := curatedFiles(t, 3, 5000, 1500)
	a := newAssembler(map[string]string{"k": "v"}, 0)
	var want []map[string]any
	add := func(fi, rg int) {
		pf, err := memFile(files[fi])
		if err != nil {
			t.Fatal(err)
		}
		if err := a.add(pf, rg); err != nil {
			t.Fatal(err)
		}
		all, err := parquetfile.ReadBytes(files[fi])
		if err != nil {
			t.Fatal(err)
		}
		start := 0
		for i := range rg {
			start += int(pf.f.Metadata().RowGroups[i].NumRows)
		}
		want = append(want, all[start:start+int(pf.f.Metadata().RowGroups[rg].NumRows)]...)
	}
	add(1, 2)
	add(0, 0)
	add(2, 3)
	add(0, 0)
	body, err := a.finish()
	if err != nil {
		t.Fatal(err)
	}
	got, err := parquetfile.ReadBytes(body)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("assembled file: %d rows, want %d; first %v, want %v", len(got), len(want), got[0], want[0])
	}
	f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Lookup("k"); v != "v" || len(f.OffsetIndexes()) != 4*6 || len(f.ColumnIndexes()) != 4*6 {
		t.Fatalf("metadata %q, %d offset indexes, %d column indexes", v, len(f.OffsetIndexes()), len(f.ColumnIndexes()))
	}
	// Every page the offset index points at is where a page header starts in the new file:
	// reading through the index (as Athena's pruning does) finds the same values.
	for ri, rg := range f.RowGroups() {
		for ci, cc := range rg.ColumnChunks() {
			oi, err := cc.OffsetIndex()
			if err != nil {
				t.Fatal(err)
			}
			for p := range oi.NumPages() {
				off := oi.Offset(p)
				if off < 4 || off >= int64(len(body)) {
					t.Fatalf("row group %d column %d page %d at %d, outside the file", ri, ci, p, off)
				}
			}
		}
	}
}

// BenchmarkRowGroupCopy is the row-group copy without storage: row groups of 20 files, in
// memory, assembled into one file. MB/s of input.
func BenchmarkRowGroupCopy(b *testing.B) {
	files := curatedFiles(b, 20, 50000, 25000)
	var size int64
	var pfs []*pfile
	for _, f := range files {
		size += int64(len(f))
		pf, err := memFile(f)
		if err != nil {
			b.Fatal(err)
		}
		pfs = append(pfs, pf)
	}
	b.SetBytes(size)
	a := newAssembler(nil, 0)
	b.ResetTimer()
	for range b.N {
		for _, pf := range pfs {
			for ri := range pf.f.Metadata().RowGroups {
				if err := a.add(pf, ri); err != nil {
					b.Fatal(err)
				}
			}
		}
		if _, err := a.finish(); err != nil {
			b.Fatal(err)
		}
	}
}
