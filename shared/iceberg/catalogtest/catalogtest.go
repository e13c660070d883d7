// Package catalogtest is the conformance suite every iceberg.Catalog adapter passes: the
// compare-and-swap register semantics, and concurrent table commits that each re-plan on the
// state that won, so that no commit's change is lost.
package catalogtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/objectstore"
)

// Setup returns a fresh, empty catalog and the bucket its tables' files go to.
type Setup func(t *testing.T) (iceberg.Catalog, objectstore.Store)

// Run runs the suite.
func Run(t *testing.T, setup Setup) {
	t.Run("Register", func(t *testing.T) { register(t, setup) })
	t.Run("ConcurrentAppends", func(t *testing.T) { concurrentAppends(t, setup) })
	t.Run("ConcurrentReadModifyWrite", func(t *testing.T) { readModifyWrite(t, setup) })
	t.Run("ConcurrentCreate", func(t *testing.T) { concurrentCreate(t, setup) })
}

func register(t *testing.T, setup Setup) {
	ctx := context.Background()
	c, _ := setup(t)
	if _, err := c.Load(ctx, "t1"); !errors.Is(err, iceberg.ErrNoTable) {
		t.Fatalf("Load of a missing table: %v, want ErrNoTable", err)
	}
	p1, err := c.Swap(ctx, "t1", iceberg.Pointer{}, iceberg.Update{Location: "s3://b/t1/metadata/00000-a.metadata.json", Metadata: meta("s3://b/t1")})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Load(ctx, "t1"); err != nil || got != p1 || got.Location != "s3://b/t1/metadata/00000-a.metadata.json" {
		t.Fatalf("Load after create: %+v, %v; want %+v", got, err, p1)
	}
	if _, err := c.Swap(ctx, "t1", iceberg.Pointer{}, iceberg.Update{Location: "s3://b/t1/metadata/00000-b.metadata.json", Metadata: meta("s3://b/t1")}); !errors.Is(err, iceberg.ErrConflict) {
		t.Fatalf("creating a table that exists: %v, want ErrConflict", err)
	}
	p2, err := c.Swap(ctx, "t1", p1, iceberg.Update{Location: "s3://b/t1/metadata/00001-c.metadata.json", Metadata: meta("s3://b/t1")})
	if err != nil {
		t.Fatal(err)
	}
	if p2.Version == p1.Version {
		t.Errorf("version unchanged by a swap (%q): a stale writer could not be told", p2.Version)
	}
	// A writer still holding p1 loses, and changes nothing.
	if _, err := c.Swap(ctx, "t1", p1, iceberg.Update{Location: "s3://b/t1/metadata/00001-d.metadata.json", Metadata: meta("s3://b/t1")}); !errors.Is(err, iceberg.ErrConflict) {
		t.Fatalf("swap at a stale version: %v, want ErrConflict", err)
	}
	if got, _ := c.Load(ctx, "t1"); got.Location != p2.Location {
		t.Errorf("after the lost swap the table is at %s, want %s", got.Location, p2.Location)
	}
	// Tables are independent.
	if _, err := c.Load(ctx, "t2"); !errors.Is(err, iceberg.ErrNoTable) {
		t.Errorf("Load of another table: %v, want ErrNoTable", err)
	}
}

func meta(location string) *iceberg.Metadata {
	s := &iceberg.Schema{Type: "struct", Fields: []iceberg.Field{{ID: 1, Name: "ts", Required: true, Type: "timestamptz"}, {ID: 2, Name: "n", Type: "long"}}}
	m, err := iceberg.NewMetadata(location, s, 2, "ts", time.Now())
	if err != nil {
		panic(err)
	}
	return m
}

func newTable(t *testing.T, setup Setup, name string) *iceberg.Table {
	c, store := setup(t)
	tbl := &iceberg.Table{Name: name, Store: store, Catalog: c, Root: name, MaxAttempts: 100}
	if _, err := tbl.Create(context.Background(), meta(tbl.Location())); err != nil {
		t.Fatal(err)
	}
	return tbl
}

func file(tbl *iceberg.Table, name string, rows int64) iceberg.DataFile {
	return iceberg.DataFile{Path: tbl.Path(tbl.DataPrefix() + name + ".parquet"), Partition: map[string]int{"ts_hour": 495_000}, Records: rows, Size: 100 + rows}
}

// concurrentAppends: writers append at once; every one of their files ends up in the table,
// one snapshot each.
func concurrentAppends(t *testing.T, setup Setup) {
	tbl := newTable(t, setup, "appends")
	const writers = 6
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			f := file(tbl, fmt.Sprintf("w%d", w), int64(w+1))
			_, err := tbl.Commit(context.Background(), func(context.Context, *iceberg.State) (*iceberg.Change, error) {
				return &iceberg.Change{Add: []iceberg.DataFile{f}, Run: "writer-" + strconv.Itoa(w)}, nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := tbl.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files, err := st.Files(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, f := range files {
		rows += f.Records
	}
	if len(files) != writers || rows != writers*(writers+1)/2 {
		t.Errorf("after %d concurrent appends the table has %d files and %d rows, want %d and %d", writers, len(files), rows, writers, writers*(writers+1)/2)
	}
	if n := len(st.Meta.Snapshots); n != writers {
		t.Errorf("%d snapshots, want one per append (%d)", n, writers)
	}
	if got := st.Meta.Current().Summary["total-records"]; got != strconv.Itoa(writers*(writers+1)/2) {
		t.Errorf("current snapshot's total-records %s, want %d", got, writers*(writers+1)/2)
	}
}

// readModifyWrite: each writer replaces the table's one file with a file one row larger, the
// way a promotion rewrites a partition. A writer that loses re-plans on the winner's file, so
// the row count ends at the number of writers: no update is lost.
func readModifyWrite(t *testing.T, setup Setup) {
	tbl := newTable(t, setup, "counter")
	if _, err := tbl.Commit(context.Background(), func(context.Context, *iceberg.State) (*iceberg.Change, error) {
		return &iceberg.Change{Add: []iceberg.DataFile{file(tbl, "v0", 0)}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	const writers = 5
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			plans := 0
			_, err := tbl.Commit(context.Background(), func(ctx context.Context, s *iceberg.State) (*iceberg.Change, error) {
				plans++
				files, err := s.Files(ctx, 0)
				if err != nil || len(files) != 1 {
					return nil, fmt.Errorf("writer %d: the table has %d files (%v), want 1", w, len(files), err)
				}
				next := file(tbl, fmt.Sprintf("w%d-p%d", w, plans), files[0].Records+1)
				return &iceberg.Change{Add: []iceberg.DataFile{next}, Remove: []string{files[0].Path}}, nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := tbl.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files, err := st.Files(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Records != writers {
		t.Fatalf("after %d concurrent rewrites the table has %v, want one file of %d rows", writers, files, writers)
	}
	if n := len(st.Meta.Snapshots); n != writers+1 {
		t.Errorf("%d snapshots, want %d", n, writers+1)
	}
	for _, h := range st.Meta.History()[1:] {
		if h.Operation != iceberg.OpOverwrite || h.AddedRows != h.DeletedRows+1 {
			t.Errorf("snapshot %d: %s adding %d rows and deleting %d, want an overwrite adding one more than it deletes", h.SnapshotID, h.Operation, h.AddedRows, h.DeletedRows)
		}
	}
}

// concurrentCreate: writers creating the same table at once end up with one table, which
// every one of them then sees.
func concurrentCreate(t *testing.T, setup Setup) {
	c, store := setup(t)
	var wg sync.WaitGroup
	ids := make(chan string, 4)
	for range 4 {
		wg.Go(func() {
			tbl := &iceberg.Table{Name: "created", Store: store, Catalog: c, Root: "created"}
			st, err := tbl.Create(context.Background(), meta(tbl.Location()))
			if err != nil {
				t.Error(err)
				ids <- ""
				return
			}
			ids <- st.Meta.TableUUID
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Errorf("concurrent creates saw %d different tables, want 1", len(seen))
	}
}
