package parquetmeta_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetmeta"
)

type event struct {
	ID    string            `parquet:"id"`
	N     int64             `parquet:"n"`
	Ok    bool              `parquet:"ok"`
	Score float64           `parquet:"score,optional"`
	Tags  []string          `parquet:"tags,list"`
	Props map[string]string `parquet:"props"`
}

// file writes n rows with parquet-go, in row groups of rg rows, with key/value metadata: the
// footer then holds lists, maps, nested structs, bools and binaries around num_rows.
func file(t testing.TB, n, rg int) []byte {
	var b bytes.Buffer
	w := parquet.NewGenericWriter[event](&b, parquet.MaxRowsPerRowGroup(int64(rg)), parquet.KeyValueMetadata("sluice.contract", "x"))
	for i := 0; i < n; i++ {
		if _, err := w.Write([]event{{ID: fmt.Sprint(i), N: int64(i), Ok: i%2 == 0, Score: float64(i) / 3, Tags: []string{"a", "b"}, Props: map[string]string{"k": "v"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func footer(t testing.TB, f []byte) []byte {
	n, err := parquetmeta.FooterLength(f[len(f)-8:])
	if err != nil {
		t.Fatal(err)
	}
	return f[len(f)-8-n : len(f)-8]
}

// The row count read from the footer alone is the one parquet-go reads, for files of every
// shape, and through ranged reads of an object in a real S3 server.
func TestRowCountMatchesParquetGo(t *testing.T) {
	client, _ := s3test.StartGofakes3(t)
	s := s3store.New(client, s3test.CreateBucket(t, client, "pq"))
	ctx := context.Background()
	for _, c := range []struct{ rows, rg int }{{0, 10}, {1, 10}, {1000, 100}, {25_000, 4096}, {70_000, 70_000}} {
		f := file(t, c.rows, c.rg)
		pf, err := parquet.OpenFile(bytes.NewReader(f), int64(len(f)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := parquetmeta.RowCount(footer(t, f))
		if err != nil || got != pf.NumRows() || got != int64(c.rows) {
			t.Errorf("%d rows in groups of %d: RowCount %d %v, parquet-go %d", c.rows, c.rg, got, err, pf.NumRows())
		}
		key := fmt.Sprintf("archive/e/%d.parquet", c.rows)
		if _, err := s.Put(ctx, key, f, objectstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if got, err := parquetmeta.Rows(ctx, s, key, int64(len(f))); err != nil || got != int64(c.rows) {
			t.Errorf("Rows of %s: %d %v, want %d", key, got, err, c.rows)
		}
	}
}

func TestNotParquet(t *testing.T) {
	f := file(t, 10, 10)
	for name, b := range map[string][]byte{
		"csv":       []byte("id,n\n1,2\n3,4\n"),
		"truncated": f[:len(f)-3],
		"short":     []byte("PAR1"),
	} {
		if _, err := parquetmeta.FooterLength(tail(b)); !errors.Is(err, parquetmeta.ErrNotParquet) {
			t.Errorf("%s: %v, want ErrNotParquet", name, err)
		}
	}
	huge := append(bytes.Clone(f[:len(f)-8]), 0, 0, 0, 0x7f, 'P', 'A', 'R', '1')
	if _, err := parquetmeta.FooterLength(huge[len(huge)-8:]); err == nil {
		t.Error("a 2 GB footer length was accepted")
	}
	ft := footer(t, f)
	// num_rows follows the schema: a footer cut inside the schema has none.
	if _, err := parquetmeta.RowCount(ft[:8]); err == nil {
		t.Error("a footer cut inside its schema gave a row count")
	}
	if _, err := parquetmeta.RowCount([]byte{0x00}); err == nil {
		t.Error("an empty struct gave a row count")
	}
}

func tail(b []byte) []byte {
	if len(b) < 8 {
		return b
	}
	return b[len(b)-8:]
}

// Any footer bytes give a count or an error, never a panic or a hang.
func FuzzRowCount(f *testing.F) {
	for _, n := range []int{0, 3, 500} {
		f.Add(footer(f, file(f, n, 100)))
	}
	f.Add([]byte{0x19, 0xfc})                        // a list claiming a huge size
	f.Add(binary.AppendUvarint([]byte{0x08}, 1<<62)) // a binary claiming a huge length
	f.Add(bytes.Repeat([]byte{0x1c}, 200))           // structs nested deeper than allowed
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := parquetmeta.RowCount(b)
		if err == nil && n < 0 {
			t.Fatalf("negative row count %d without an error", n)
		}
	})
}
