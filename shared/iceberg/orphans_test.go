package iceberg_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
)

// clock is the time of the S3 stand-in's objects and of the table's snapshots, moved on by
// the test: real time plus an offset.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.off)
}
func (c *clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// Expiry then orphan removal deletes exactly what only expired snapshots referenced, the
// metadata files dropped from the log and stray files older than the age; a stray file younger
// than the age stays, and so does everything a kept snapshot reads.
func TestRemoveOrphansDeletesExactlyTheUnreferenced(t *testing.T) {
	ctx := context.Background()
	clk := &clock{}
	client, _ := s3test.StartAtomicGofakes3Clock(t, clk)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("curated")}); err != nil {
		t.Fatal(err)
	}
	store := s3store.New(client, "curated")
	c := mustContract(t, clicks)
	tbl := &iceberg.Table{Name: c.Name, Store: store, Catalog: &iceberg.StoreCatalog{Store: store}, Root: c.Name, Now: clk.Now}
	create(t, tbl, c)
	a := putFile(t, tbl, "a", row{ID: "1", TS: base})
	b := putFile(t, tbl, "b", row{ID: "2", TS: base})
	cf := putFile(t, tbl, "c", row{ID: "1", TS: base}, row{ID: "2", TS: base})
	commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{a}})
	commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{b}})
	s3 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{cf}, Remove: []string{a.Path, b.Path}, Operation: iceberg.OpReplace})
	put := func(key string) {
		t.Helper()
		if _, err := store.Put(ctx, key, []byte("stray"), objectstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	strays := []string{"clicks/data/dt=2026-11-23/hr=09/stray.parquet", "clicks/metadata/stray-m0.avro"}
	for _, k := range strays {
		put(k)
	}
	clk.Advance(4 * 24 * time.Hour)
	d := putFile(t, tbl, "d", row{ID: "3", TS: base + 3_600_000})
	s4 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{d}})

	ex, err := tbl.Expire(ctx, iceberg.ExpireOptions{RetainLast: 2, OlderThan: clk.Now().Add(-24 * time.Hour), RetainMetadata: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Snapshots) != 2 || len(ex.MetadataFiles) != 3 {
		t.Fatalf("expired %v snapshots and metadata files %v: want the two before the compaction, and the 3 oldest of the 4 logged metadata files (the expiry logs the fifth)", ex.Snapshots, ex.MetadataFiles)
	}
	fresh := "clicks/data/dt=2026-11-23/hr=09/in-flight.parquet"
	put(fresh)
	before := listKeys(t, store, "clicks/")
	var want []string
	for _, group := range [][]string{ex.DataFiles, ex.Manifests, ex.ManifestLists, ex.MetadataFiles} {
		for _, p := range group {
			k, err := tbl.Key(p)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, k)
		}
	}
	want = append(want, strays...)
	slices.Sort(want)
	if !slices.Contains(want, mustKey(t, tbl, a.Path)) || !slices.Contains(want, mustKey(t, tbl, b.Path)) || slices.Contains(want, mustKey(t, tbl, cf.Path)) {
		t.Fatalf("expiry returned data files %v: want a and b, not c", ex.DataFiles)
	}

	got, err := tbl.RemoveOrphans(ctx, clk.Now().Add(-iceberg.DefaultOrphanAge))
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, o := range got.Deleted {
		deleted = append(deleted, o.Key)
	}
	if !slices.Equal(deleted, want) {
		t.Errorf("deleted %v\nwant    %v", deleted, want)
	}
	if len(got.Young) != 1 || got.Young[0].Key != fresh {
		t.Errorf("young orphans kept %v, want only %s", got.Young, fresh)
	}
	after := listKeys(t, store, "clicks/")
	if rest := slices.DeleteFunc(slices.Clone(before), func(k string) bool { return slices.Contains(want, k) }); !slices.Equal(after, rest) {
		t.Errorf("left %v\nwant %v", after, rest)
	}
	// Every kept snapshot still reads all its files, the catalog pointer included.
	for _, snap := range []*iceberg.Snapshot{s3, s4} {
		for _, p := range filesOf(t, tbl, snap.SnapshotID) {
			if _, err := store.Head(ctx, mustKey(t, tbl, p)); err != nil {
				t.Errorf("snapshot %d's file %s is gone: %v", snap.SnapshotID, p, err)
			}
		}
	}
	st, err := tbl.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap, files, err := st.FilesAsOf(ctx, time.UnixMilli(s3.TimestampMs)); err != nil || snap.SnapshotID != s3.SnapshotID || len(files) != 1 {
		t.Errorf("time travel to the compaction: %v %d files %v", snap, len(files), err)
	}
	// A second pass finds nothing more.
	if again, err := tbl.RemoveOrphans(ctx, clk.Now().Add(-iceberg.DefaultOrphanAge)); err != nil || len(again.Deleted) != 0 {
		t.Errorf("second pass deleted %v (%v), want nothing", again.Deleted, err)
	}
}

func mustKey(t testing.TB, tbl *iceberg.Table, p string) string {
	t.Helper()
	k, err := tbl.Key(p)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func listKeys(t testing.TB, s objectstore.Store, prefix string) []string {
	t.Helper()
	infos, err := s.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range infos {
		out = append(out, in.Key)
	}
	slices.Sort(out)
	return out
}
