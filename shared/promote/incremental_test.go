package promote_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

// update is one customers record at second sec of the test partition's hour.
type update struct {
	id, sec int
	name    string
}

func putUpdates(t *testing.T, s objectstore.Store, name string, rows []update) {
	t.Helper()
	reg, _ := events.Registry()
	b := record.NewBatch(reg, record.Options{DefaultDataset: "customers", Now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }})
	for i, r := range rows {
		data := fmt.Appendf(nil, `{"uuid":%q,"event_date":"2026-11-23T09:%02d:%02dZ","status":"Active","name":%q,"last_name":"Lovelace","email":"user%d@example.com","phone":null}`,
			uuidOf(r.id), r.sec/60, r.sec%60, r.name, r.id)
		if _, rej := b.Add(data, i); rej != nil {
			t.Fatalf("record %s: %v", data, rej)
		}
	}
	var buf bytes.Buffer
	if err := parquetfile.WriteTable(&buf, b.Tables()[0], parquetfile.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), zone.Key("customers", part, name), buf.Bytes(), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestIncrementalMatchesRecompute lands cleansed files one at a time, promoting after each
// (small target files, so that rows are superseded in full files, the last file grows, and
// small files merge), and compares the curated partition with one promotion of all the files
// at once: the same rows, each key once.
func TestIncrementalMatchesRecompute(t *testing.T) {
	inc, incCleansed, incCurated := lake(t)
	all, allCleansed, allCurated := lake(t)
	inc.TargetBytes, all.TargetBytes = 24<<10, 24<<10
	inc.StepBytes = 4 << 10 // several batches when files pile up
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	secs := rng.Perm(3600) // every row its own event time: no ties, whose order rules differ
	next := 0
	var sawRewrite, sawCopy, sawCompaction, sawAbsorbed bool
	for f := range 14 {
		var rows []update
		n := 40 + rng.IntN(200)
		for range n {
			rows = append(rows, update{id: 1 + rng.IntN(600), sec: secs[next], name: fmt.Sprintf("f%d-%d", f, next)})
			next++
		}
		name := fmt.Sprintf("f%02d.parquet", f)
		putUpdates(t, incCleansed, name, rows)
		putUpdates(t, allCleansed, name, rows)
		if f == 9 {
			// a replay under another name: every row a duplicate of a curated one
			putUpdates(t, incCleansed, "f09-replay.parquet", rows)
			putUpdates(t, allCleansed, "f09-replay.parquet", rows)
		}
		if f%4 == 3 {
			continue // files pile up: promoted together, in batches
		}
		res, err := inc.Promote(ctx, "customers", part)
		if err != nil {
			t.Fatal(err)
		}
		if res.Recomputed {
			t.Fatalf("promotion after file %d recomputed the partition", f)
		}
		for _, o := range res.Outputs {
			var fromCurated, fromCleansed bool
			for _, in := range o.Inputs {
				fromCurated = fromCurated || in.Bucket == "curated" && in.Rows > 0
				fromCleansed = fromCleansed || in.Bucket == "cleansed"
				if in.ETag == "" || in.Key == "" {
					t.Fatalf("input without key or ETag: %+v", in)
				}
			}
			sawCopy = sawCopy || fromCurated && fromCleansed
			sawRewrite = sawRewrite || fromCurated && o.Duplicates > 0 && !fromCleansed
		}
		sawCompaction = sawCompaction || len(res.Deleted) > 0
		sawAbsorbed = sawAbsorbed || len(res.Absorbed) > 0
		if f == 9 && res.FilesIn != 2 {
			t.Fatalf("promotion after file 9 converted %d files, want 2 (the file and its replay)", res.FilesIn)
		}
	}
	if _, err := inc.Promote(ctx, "customers", part); err != nil {
		t.Fatal(err)
	}
	res, err := all.Promote(ctx, "customers", part)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := curatedRows(t, allCurated)
	got, files := curatedRows(t, incCurated)
	if len(got) != len(want) || len(byUUID(got)) != len(got) {
		t.Fatalf("incremental: %d rows (%d distinct), all at once: %d", len(got), len(byUUID(got)), len(want))
	}
	g := byUUID(got)
	for id, w := range byUUID(want) {
		if g[id] == nil || g[id]["name"] != w["name"] || g[id]["event_date"] != w["event_date"] || g[id]["email"] != w["email"] {
			t.Fatalf("customer %s: incremental %v, all at once %v", id, g[id], w)
		}
	}
	for _, f := range files {
		if f.Size > inc.TargetBytes {
			t.Errorf("%s is %d bytes, over the %d target", f.Key, f.Size, inc.TargetBytes)
		}
	}
	if !sawCopy || !sawRewrite || !sawCompaction {
		t.Errorf("paths not exercised: appended to a curated file %v, rewrote a file without superseded rows %v, merged small files %v", sawCopy, sawRewrite, sawCompaction)
	}
	t.Logf("%d rows in %d curated files (all at once: %d files); absorbed replay seen: %v", len(got), len(files), len(res.Files), sawAbsorbed)

	// Nothing new: nothing changes.
	before := files
	res, err = inc.Promote(ctx, "customers", part)
	if err != nil {
		t.Fatal(err)
	}
	_, after := curatedRows(t, incCurated)
	if len(res.Outputs) != 0 || len(res.Deleted) != 0 || res.Unchanged != len(after) || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a promotion with nothing new changed curated: %+v", res)
	}
}

// TestRemovedCleansedFileRecomputes: the manifest no longer matches the cleansed zone, so the
// partition is recomputed, and the removed file's rows leave curated.
func TestRemovedCleansedFileRecomputes(t *testing.T) {
	p, cleansed, curated := lake(t)
	ctx := context.Background()
	putCleansed(t, cleansed, "a.parquet", customer{1, 1, "a", ""})
	putCleansed(t, cleansed, "b.parquet", customer{2, 1, "b", ""})
	if _, err := p.Promote(ctx, "customers", part); err != nil {
		t.Fatal(err)
	}
	if err := cleansed.Delete(ctx, zone.Key("customers", part, "a.parquet")); err != nil {
		t.Fatal(err)
	}
	res, err := p.Promote(ctx, "customers", part)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := curatedRows(t, curated)
	if !res.Recomputed || len(rows) != 1 || rows[0]["name"] != "b" {
		t.Fatalf("recomputed %v, rows %v: want only customer 2", res.Recomputed, rows)
	}
	// and the manifest now matches again
	res, err = p.Promote(ctx, "customers", part)
	if err != nil || res.Recomputed || len(res.Outputs) != 0 {
		t.Fatalf("second promotion: %+v %v", res, err)
	}
}

// TestPartitionWithoutManifestRecomputes: a partition promoted before manifests existed.
func TestPartitionWithoutManifestRecomputes(t *testing.T) {
	p, cleansed, curated := lake(t)
	ctx := context.Background()
	putCleansed(t, cleansed, "a.parquet", customer{1, 1, "a", ""}, customer{2, 1, "b", ""})
	if _, err := p.Promote(ctx, "customers", part); err != nil {
		t.Fatal(err)
	}
	if err := curated.Delete(ctx, promote.ManifestKey("customers", part)); err != nil {
		t.Fatal(err)
	}
	putCleansed(t, cleansed, "b.parquet", customer{1, 2, "a2", ""})
	res, err := p.Promote(ctx, "customers", part)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := curatedRows(t, curated)
	if !res.Recomputed || len(rows) != 2 || byUUID(rows)[uuidOf(1)]["name"] != "a2" {
		t.Fatalf("recomputed %v, rows %v", res.Recomputed, rows)
	}
	if len(res.Outputs) != 1 || len(res.Outputs[0].Inputs) != 2 || res.Outputs[0].Duplicates != 1 || res.Outputs[0].Rows != 2 {
		t.Fatalf("lineage of the recomputed file: %+v", res.Outputs)
	}
}

// TestLineageOfAnAppend: the second file's rows are appended to the first curated file, whose
// row groups are copied; the output names both inputs, rows taken from each, and the
// duplicates dropped.
func TestLineageOfAnAppend(t *testing.T) {
	p, cleansed, curated := lake(t)
	ctx := context.Background()
	putCleansed(t, cleansed, "a.parquet", customer{1, 1, "a", ""}, customer{2, 1, "b", ""}, customer{3, 1, "c", ""})
	first, err := p.Promote(ctx, "customers", part)
	if err != nil {
		t.Fatal(err)
	}
	// customer 1 updated, customer 2 replayed (same time: the curated row stays), customer 4 new
	putCleansed(t, cleansed, "b.parquet", customer{1, 5, "a2", ""}, customer{2, 1, "b", ""}, customer{4, 1, "d", ""})
	res, err := p.Promote(ctx, "customers", part)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != 1 {
		t.Fatalf("outputs %+v: want one", res.Outputs)
	}
	o := res.Outputs[0]
	want := fmt.Sprint([]promote.Input{
		{Bucket: "curated", Key: first.Outputs[0].Key, ETag: first.Outputs[0].ETag, Rows: 2},
		{Bucket: "cleansed", Key: zone.Key("customers", part, "b.parquet"), ETag: res.Outputs[0].Inputs[1].ETag, Rows: 2},
	})
	if fmt.Sprint(o.Inputs) != want || o.Duplicates != 2 || o.Rows != 4 || res.Duplicates != 2 || res.RowsOut != 4 {
		t.Fatalf("output %+v (result duplicates %d, rows out %d)\nwant inputs %s, 2 duplicates, 4 rows", o, res.Duplicates, res.RowsOut, want)
	}
	// The file itself says so, for the lineage function.
	info, err := curated.Head(ctx, o.Key)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := provenance.Of(ctx, curated, o.Key, info.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	var in int64
	for i, pi := range rec.Inputs {
		in += pi.Rows
		if pi.Bucket != o.Inputs[i].Bucket || pi.Key != o.Inputs[i].Key || pi.Rows != o.Inputs[i].Rows {
			t.Errorf("provenance input %d %+v, want %+v", i, pi, o.Inputs[i])
		}
	}
	if rec.Job != "promote" || rec.Rows != 4 || in != 4 || rec.Dropped["duplicate"] != 2 || len(rec.Inputs) != 2 {
		t.Fatalf("provenance %+v", rec)
	}
}

// A replay under another name changes no curated file; a marker records its rows as dropped
// duplicates, so lineage still accounts for them.
func TestAbsorbedReplayIsMarked(t *testing.T) {
	p, cleansed, curated := lake(t)
	ctx := context.Background()
	putCleansed(t, cleansed, "a.parquet", customer{1, 1, "a", ""}, customer{2, 1, "b", ""})
	if _, err := p.Promote(ctx, "customers", part); err != nil {
		t.Fatal(err)
	}
	putCleansed(t, cleansed, "a-replayed.parquet", customer{1, 1, "a", ""}, customer{2, 1, "b", ""})
	res, err := p.Promote(ctx, "customers", part)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Outputs {
		if !o.Unchanged {
			t.Fatalf("output %+v rewritten by a replay", o)
		}
	}
	if res.Duplicates != 2 {
		t.Fatalf("duplicates %d, want 2", res.Duplicates)
	}
	markers, err := curated.List(ctx, promote.AbsorbedPrefix)
	if err != nil || len(markers) != 1 {
		t.Fatalf("markers %v %v: want one", markers, err)
	}
	info, err := curated.Head(ctx, markers[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := provenance.Of(ctx, curated, markers[0].Key, info.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Kind != provenance.Marker || rec.Rows != 0 || rec.Dropped["duplicate"] != 2 || len(rec.Inputs) != 1 ||
		rec.Inputs[0].Key != zone.Key("customers", part, "a-replayed.parquet") {
		t.Fatalf("marker provenance %+v", rec)
	}
	if rows, _ := curatedRows(t, curated); len(rows) != 2 {
		t.Fatalf("curated rows %d, want 2", len(rows))
	}
}
