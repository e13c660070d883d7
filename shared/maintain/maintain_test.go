package maintain_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/maintain"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

// clock stamps the S3 stand-in's objects and drives the maintainer: real time plus an offset
// the test moves on.
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

var part = zone.Partition{Date: "2026-11-23", Hour: 9}

// lake starts the S3 stand-in the promote tests use (atomic conditional writes), its objects
// stamped by clk, with a promoter over the cleansed and curated buckets.
func lake(t *testing.T, clk *clock) (*promote.Promoter, objectstore.Store) {
	t.Helper()
	client, _ := s3test.StartAtomicGofakes3Clock(t, clk)
	for _, b := range []string{"cleansed", "curated"} {
		if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	curated := s3store.New(client, "curated")
	return &promote.Promoter{Contracts: reg, Cleansed: s3store.New(client, "cleansed"), Curated: curated, PIIKey: []byte("k")}, curated
}

// putCleansed writes customers first..last (named name, at minute+id%30 of the hour) as one
// cleansed file, the way
// validate and ingest write them.
func putCleansed(t *testing.T, s objectstore.Store, file string, first, last, minute int, name string) {
	t.Helper()
	reg, _ := events.Registry()
	b := record.NewBatch(reg, record.Options{DefaultDataset: "customers"})
	for id := first; id <= last; id++ {
		js := fmt.Appendf(nil, `{"uuid":"%08x-0000-4000-8000-000000000000","event_date":"2026-11-23T09:%02d:00Z","status":"Active","name":"%s %d, a name long enough to fill pages","last_name":"Lovelace","email":"u%d@example.com","phone":null}`,
			id, minute+id%30, name, id, id)
		if _, rej := b.Add(js, id); rej != nil {
			t.Fatalf("record %s: %v", js, rej)
		}
	}
	var buf bytes.Buffer
	if err := parquetfile.WriteTable(&buf, b.Tables()[0], parquetfile.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), zone.Key("customers", part, file), buf.Bytes(), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// rowsOf reads every row of snapshot id, by customer, failing on a key seen twice.
func rowsOf(t *testing.T, tbl *iceberg.Table, id int64) map[string]string {
	t.Helper()
	ctx := context.Background()
	st, err := tbl.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := st.Files(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		key, _ := tbl.Key(f.Path)
		rc, _, err := tbl.Store.Get(ctx, key)
		if err != nil {
			t.Fatalf("snapshot %d reads %s: %v", id, key, err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		rows, err := parquetfile.ReadBytes(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			k := r["uuid"].(string)
			if _, dup := out[k]; dup {
				t.Fatalf("snapshot %d holds customer %s twice", id, k)
			}
			out[k] = r["name"].(string)
		}
	}
	return out
}

func listed(t *testing.T, s objectstore.Store, prefix string) map[string]int64 {
	t.Helper()
	infos, err := s.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, in := range infos {
		out[in.Key] = in.Size
	}
	return out
}

// A table with small files, snapshots past their time, a stray old file and an uncommitted
// fresh one: the first run compacts and deletes nothing young; ten days later the second
// expires what the settings let go and deletes exactly the files nothing kept references, the
// fresh file stays, every kept snapshot reads all its rows, and each record's counts add up.
func TestMaintenanceRemovesWhatItShouldAndNothingElse(t *testing.T) {
	ctx := context.Background()
	clk := &clock{}
	p, curated := lake(t, clk)
	p.TargetBytes = 32 << 10 // promotions make small files
	putCleansed(t, p.Cleansed, "a.parquet", 1, 3000, 0, "first")
	if _, err := p.Promote(ctx, "customers", part); err != nil {
		t.Fatal(err)
	}
	putCleansed(t, p.Cleansed, "b.parquet", 1, 100, 30, "second")
	if _, err := p.Promote(ctx, "customers", part); err != nil {
		t.Fatal(err)
	}
	tbl := p.Table("customers")
	st, _ := tbl.Load(ctx)
	small, _ := st.Files(ctx, 0)
	if len(small) < 3 {
		t.Fatalf("%d curated files: the test needs several small ones", len(small))
	}
	s1, s2 := st.Meta.Snapshots[0], st.Meta.Snapshots[1]
	strays := []string{"customers/data/dt=2026-11-23/hr=09/stray.parquet", "customers/metadata/stray-m0.avro"}
	for _, k := range strays {
		if _, err := curated.Put(ctx, k, []byte("left by a crashed writer"), objectstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	mp := *p
	mp.TargetBytes = 0 // maintenance compacts to the default target
	m := &maintain.Maintainer{Promoter: &mp, Now: clk.Now,
		Settings: maintain.Settings{KeepDays: 7, KeepSnapshots: 2, KeepMetadataFiles: 2}}
	clk.Advance(time.Hour)
	recs, err := m.Run(ctx, "run-1")
	if err != nil || len(recs) != 1 {
		t.Fatalf("first run: %v, records %+v", err, recs)
	}
	r1 := recs[0]
	if r1.PartitionsCompacted != 1 || r1.FilesCompacted != len(small) || r1.FilesWritten != 1 {
		t.Errorf("first run compacted %d partitions, %d files into %d; want 1, %d into 1", r1.PartitionsCompacted, r1.FilesCompacted, r1.FilesWritten, len(small))
	}
	if r1.SnapshotsExpired != 0 || r1.FilesDeleted != 0 || r1.SnapshotsKept != 3 {
		t.Errorf("first run expired %d snapshots and deleted %v, kept %d: all are younger than 7 days and the strays than 3", r1.SnapshotsExpired, r1.Deleted, r1.SnapshotsKept)
	}
	// Young and kept: the strays, and the metadata files the log no longer names (the run cut
	// it to 2), which are minutes old.
	var youngMeta []string
	for _, k := range r1.YoungOrphans {
		if strings.HasSuffix(k, ".metadata.json") {
			youngMeta = append(youngMeta, k)
		} else if !slices.Contains(strays, k) {
			t.Errorf("young orphan %s is neither a stray nor an unlogged metadata file", k)
		}
	}
	if len(youngMeta) != r1.MetadataFilesUnlogged || r1.MetadataFilesUnlogged == 0 || len(r1.YoungOrphans) != len(strays)+len(youngMeta) {
		t.Errorf("young orphans %v: want the 2 strays and the %d unlogged metadata files", r1.YoungOrphans, r1.MetadataFilesUnlogged)
	}
	st, _ = tbl.Load(ctx)
	s3 := *st.Meta.Current()
	if s3.Operation() != iceberg.OpReplace || s3.Summary[iceberg.SummaryRun] != "run-1" {
		t.Errorf("compaction snapshot %v: want a replace made by run-1", s3.Summary)
	}
	want := rowsOf(t, tbl, s2.SnapshotID)
	if got := rowsOf(t, tbl, s3.SnapshotID); len(got) != 3000 || !mapsEqual(got, want) {
		t.Errorf("the compaction holds %d rows, not the 3000 of the snapshot before it", len(got))
	}

	clk.Advance(10 * 24 * time.Hour)
	fresh := "customers/data/dt=2026-11-23/hr=09/in-flight.parquet"
	if _, err := curated.Put(ctx, fresh, []byte("a commit in flight"), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	before := listed(t, curated, "customers/")
	// What must go: the strays, the data files only s1 read, s1's manifest list, and whatever
	// in metadata/ the table no longer references once s1 and old log entries are gone.
	keep := map[string]bool{}
	for _, id := range []int64{s2.SnapshotID, s3.SnapshotID} {
		files, _ := st.Files(ctx, id)
		for _, f := range files {
			keep[f.Path] = true
		}
	}
	expect := slices.Clone(strays)
	s1files, _ := st.Files(ctx, s1.SnapshotID)
	for _, f := range s1files {
		if !keep[f.Path] {
			expect = append(expect, mustKey(t, tbl, f.Path))
		}
	}
	if len(expect) == len(strays) {
		t.Fatal("s1 has no file of its own: the test would prove nothing")
	}
	expect = append(expect, mustKey(t, tbl, s1.ManifestList))

	recs, err = m.Run(ctx, "run-2")
	if err != nil || len(recs) != 1 {
		t.Fatalf("second run: %v, records %+v", err, recs)
	}
	r2 := recs[0]
	after := listed(t, curated, "customers/")
	st, _ = tbl.Load(ctx)
	live, err := st.Reachable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k := range before {
		// metadata/ holds the pointer and what the table references; every other file there
		// (old metadata files, manifests of s1 only, the stray) is old by now and goes.
		if strings.HasPrefix(k, tbl.MetadataPrefix()) && !live[tbl.Path(k)] && path.Base(k) != iceberg.PointerName && !slices.Contains(expect, k) {
			expect = append(expect, k)
		}
	}
	slices.Sort(expect)
	var gone []string
	var freed int64
	for k, size := range before {
		if _, ok := after[k]; !ok {
			gone = append(gone, k)
			freed += size
		}
	}
	slices.Sort(gone)
	if !slices.Equal(gone, expect) || !slices.Equal(sortedCopy(r2.Deleted), gone) {
		t.Errorf("gone %v\nexpected %v\nrecorded %v", gone, expect, r2.Deleted)
	}
	for _, k := range gone {
		if live[tbl.Path(k)] {
			t.Errorf("%s is referenced by the table but was deleted", k)
		}
	}
	if _, ok := after[fresh]; !ok {
		t.Errorf("the fresh uncommitted file %s was deleted", fresh)
	}
	if r2.SnapshotsExpired != 1 || r2.SnapshotsKept != 2 || r2.OrphanFilesDeleted != len(strays)+len(youngMeta) ||
		r2.FilesDeleted != len(gone) || r2.ExpiredFilesDeleted+r2.OrphanFilesDeleted != r2.FilesDeleted || r2.BytesFreed != freed {
		t.Errorf("second run's counts %+v: want 1 snapshot expired, 2 kept, %d orphans, %d files and %d bytes in all", r2, len(strays)+len(youngMeta), len(gone), freed)
	}
	if r2.PartitionsCompacted != 0 {
		t.Errorf("second run compacted %d partitions; the first left one file", r2.PartitionsCompacted)
	}
	// Kept snapshots read back all their rows; time travel still lands on them.
	if got := rowsOf(t, tbl, s2.SnapshotID); !mapsEqual(got, want) {
		t.Errorf("s2 reads %d rows after maintenance, want %d", len(got), len(want))
	}
	if got := rowsOf(t, tbl, s3.SnapshotID); !mapsEqual(got, want) {
		t.Errorf("s3 reads %d rows after maintenance, want %d", len(got), len(want))
	}
	if snap, _, err := st.FilesAsOf(ctx, time.UnixMilli(s2.TimestampMs)); err != nil || snap.SnapshotID != s2.SnapshotID {
		t.Errorf("time travel to s2: %v %v", snap, err)
	}
	if _, _, err := tbl.FilesAt(ctx, iceberg.At{SnapshotID: s1.SnapshotID}); err == nil {
		t.Error("s1 was expired but still answers")
	}
	// The record is in the bucket, as returned.
	rc, _, err := curated.Get(ctx, r2.Key)
	if err != nil {
		t.Fatal(err)
	}
	var stored maintain.Record
	if err := json.NewDecoder(rc).Decode(&stored); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if r2.YoungOrphansKept != 1 || len(r2.Summary().Deleted) != 0 {
		t.Errorf("young orphans kept %d, want 1 (the fresh file); the summary keeps no keys", r2.YoungOrphansKept)
	}
	if stored.FilesDeleted != r2.FilesDeleted || stored.BytesFreed != r2.BytesFreed || stored.Run != "run-2" || stored.Dataset != "customers" {
		t.Errorf("stored record %+v differs from the run's %+v", stored, r2)
	}
	if lk := listed(t, curated, promote.LockPrefix); len(lk) != 0 {
		t.Errorf("lock left behind: %v", lk)
	}
}

func mustKey(t *testing.T, tbl *iceberg.Table, p string) string {
	t.Helper()
	k, err := tbl.Key(p)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sortedCopy(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}
