package iceberg_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
)

// clicks is a small contract for the table tests: a key, an event time, a counter, a note and
// an e-mail address hashed in curated (so it is a string column whatever its type).
const clicks = `{"type":"record","name":"clicks","sluice.eventTime":"ts","sluice.key":["id"],"fields":[
 {"name":"id","type":"string"},
 {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"n","type":"long"},
 {"name":"note","type":["null","string"],"default":null},
 {"name":"secret","type":["null","string"],"default":null,"sluice.pii":"drop"}]}`

func mustContract(t testing.TB, src string) *contract.Contract {
	t.Helper()
	c, err := contract.Parse("clicks.avsc", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// row is one row of the clicks table as written to Parquet.
type row struct {
	ID   string  `parquet:"id"`
	N    int64   `parquet:"n"`
	Note *string `parquet:"note,optional"`
	TS   int64   `parquet:"ts,timestamp(millisecond)"`
}

// lakeTable starts an S3 stand-in with atomic conditional writes and an empty clicks table
// in it, cataloged by a StoreCatalog.
func lakeTable(t testing.TB) (*iceberg.Table, *s3.Client, *contract.Contract) {
	t.Helper()
	client, _ := s3test.StartAtomicGofakes3(t)
	if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("curated")}); err != nil {
		t.Fatal(err)
	}
	store := s3store.New(client, "curated")
	c := mustContract(t, clicks)
	tbl := &iceberg.Table{Name: c.Name, Store: store, Catalog: &iceberg.StoreCatalog{Store: store}, Root: c.Name}
	create(t, tbl, c)
	return tbl, client, c
}

func create(t testing.TB, tbl *iceberg.Table, c *contract.Contract) *iceberg.State {
	t.Helper()
	s, last, err := iceberg.SchemaOf(c, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := iceberg.NewMetadata(tbl.Location(), s, last, c.Fields[c.EventTime].Name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st, err := tbl.Create(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// hourOf is the partition value of hour(ts) for a time in ms.
func hourOf(ms int64) int { return int(ms / 3_600_000) }

var base = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).UnixMilli()

// putFile writes rows as a Parquet data file of the table and describes it.
func putFile(t testing.TB, tbl *iceberg.Table, name string, rows ...row) iceberg.DataFile {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	h := hourOf(rows[0].TS)
	key := fmt.Sprintf("%sdt=%s/hr=%02d/%s.parquet", tbl.DataPrefix(), time.UnixMilli(rows[0].TS).UTC().Format(time.DateOnly), h%24, name)
	if _, err := tbl.Store.Put(context.Background(), key, buf.Bytes(), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	return iceberg.DataFile{Path: tbl.Path(key), Partition: map[string]int{"ts_hour": h}, Records: int64(len(rows)), Size: int64(buf.Len())}
}

func commit(t testing.TB, tbl *iceberg.Table, ch iceberg.Change) *iceberg.Snapshot {
	t.Helper()
	snap, err := tbl.Commit(context.Background(), func(context.Context, *iceberg.State) (*iceberg.Change, error) { return &ch, nil })
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func paths(files []iceberg.DataFile) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Path)
	}
	return out
}

func filesOf(t testing.TB, tbl *iceberg.Table, id int64) []string {
	t.Helper()
	st, err := tbl.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files, err := st.Files(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return paths(files)
}

func sorted(xs ...string) []string {
	slices.Sort(xs)
	return xs
}

func TestAppendOverwriteTimeTravelRollback(t *testing.T) {
	tbl, _, _ := lakeTable(t)
	a := putFile(t, tbl, "a", row{ID: "1", N: 1, TS: base}, row{ID: "2", N: 2, TS: base + 1000})
	b := putFile(t, tbl, "b", row{ID: "3", N: 3, TS: base + 2000})
	s1 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{a}, Run: "run-1"})
	s2 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{b}, Run: "run-2"})
	c := putFile(t, tbl, "c", row{ID: "1", N: 10, TS: base + 5000}, row{ID: "2", N: 2, TS: base + 1000}, row{ID: "3", N: 3, TS: base + 2000})
	s3 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{c}, Remove: []string{a.Path, b.Path}, Run: "run-3"})

	if s1.Operation() != "append" || s2.Operation() != "append" || s3.Operation() != "overwrite" {
		t.Fatalf("operations %s %s %s, want append append overwrite", s1.Operation(), s2.Operation(), s3.Operation())
	}
	if got, want := s3.Summary["added-records"]+"/"+s3.Summary["deleted-records"]+"/"+s3.Summary["total-records"], "3/3/3"; got != want {
		t.Errorf("overwrite summary added/deleted/total records %s, want %s", got, want)
	}
	if got := s3.Summary[iceberg.SummaryRun]; got != "run-3" {
		t.Errorf("run id in summary %q, want run-3", got)
	}
	if got := filesOf(t, tbl, 0); !slices.Equal(got, []string{c.Path}) {
		t.Errorf("current files %v, want only %s", got, c.Path)
	}
	if got := filesOf(t, tbl, s2.SnapshotID); !slices.Equal(got, sorted(a.Path, b.Path)) {
		t.Errorf("files of snapshot 2 %v, want a and b", got)
	}
	if got := filesOf(t, tbl, s1.SnapshotID); !slices.Equal(got, []string{a.Path}) {
		t.Errorf("files of snapshot 1 %v, want a", got)
	}

	// Time travel by timestamp: the snapshot current at s2's time is s2.
	st, err := tbl.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	snap, files, err := st.FilesAsOf(context.Background(), time.UnixMilli(s2.TimestampMs))
	if err != nil || snap.SnapshotID != s2.SnapshotID || len(files) != 2 {
		t.Fatalf("as of s2's time: snapshot %v, %d files, err %v; want s2 with 2 files", snap, len(files), err)
	}
	if _, _, err := st.FilesAsOf(context.Background(), time.UnixMilli(s1.TimestampMs-1)); err == nil {
		t.Error("as of before the first snapshot: want an error saying the history starts later")
	}

	// Rollback to s2 is a new snapshot whose files are s2's; history is kept.
	r := commit(t, tbl, iceberg.Change{Restore: &s2.SnapshotID, Run: "rollback-1"})
	if got := filesOf(t, tbl, 0); !slices.Equal(got, sorted(a.Path, b.Path)) {
		t.Errorf("after rollback to s2 the files are %v, want a and b", got)
	}
	if r.Summary["added-data-files"] != "2" || r.Summary["deleted-data-files"] != "1" || r.Summary["total-records"] != "3" {
		t.Errorf("rollback summary %v: want 2 files added back, 1 removed, 3 records", r.Summary)
	}
	st, _ = tbl.Load(context.Background())
	h := st.Meta.History()
	if len(h) != 4 || !h[3].Current || h[3].RolledBackTo == nil || *h[3].RolledBackTo != s2.SnapshotID || h[2].Run != "run-3" {
		t.Fatalf("history %+v: want 4 snapshots, the last current and rolled back to s2", h)
	}
	if *h[3].ParentID != s3.SnapshotID {
		t.Errorf("rollback's parent is %d, want s3 %d (history is appended, not rewritten)", *h[3].ParentID, s3.SnapshotID)
	}
	// Files of the overwritten snapshot are still readable.
	if got := filesOf(t, tbl, s3.SnapshotID); !slices.Equal(got, []string{c.Path}) {
		t.Errorf("files of s3 after rollback %v, want c", got)
	}
}

func TestRemovingAFileNotLiveFailsAndCommitsNothing(t *testing.T) {
	tbl, _, _ := lakeTable(t)
	a := putFile(t, tbl, "a", row{ID: "1", TS: base})
	commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{a}})
	_, err := tbl.Commit(context.Background(), func(context.Context, *iceberg.State) (*iceberg.Change, error) {
		return &iceberg.Change{Remove: []string{tbl.Path("clicks/data/nope.parquet")}}, nil
	})
	if err == nil {
		t.Fatal("removing a file the table does not have: want an error")
	}
	st, _ := tbl.Load(context.Background())
	if n := len(st.Meta.Snapshots); n != 1 {
		t.Errorf("%d snapshots after the failed commit, want 1", n)
	}
	// An added file must be new: data files are immutable.
	_, err = tbl.Commit(context.Background(), func(context.Context, *iceberg.State) (*iceberg.Change, error) {
		return &iceberg.Change{Add: []iceberg.DataFile{a}}, nil
	})
	if err == nil {
		t.Error("adding a file the table already has: want an error")
	}
}

func TestExpireReturnsOnlyUnreferencedFiles(t *testing.T) {
	tbl, _, _ := lakeTable(t)
	a := putFile(t, tbl, "a", row{ID: "1", TS: base})
	b := putFile(t, tbl, "b", row{ID: "2", TS: base})
	c := putFile(t, tbl, "c", row{ID: "1", TS: base}, row{ID: "2", TS: base})
	d := putFile(t, tbl, "d", row{ID: "3", TS: base + 3_600_000})
	s1 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{a}})
	commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{b}})
	s3 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{c}, Remove: []string{a.Path, b.Path}, Operation: iceberg.OpReplace})
	s4 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{d}})

	ex, err := tbl.Expire(context.Background(), iceberg.ExpireOptions{RetainLast: 2, OlderThan: time.UnixMilli(s4.TimestampMs + 1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Snapshots) != 2 || !slices.Contains(ex.Snapshots, s1.SnapshotID) {
		t.Errorf("expired snapshots %v, want s1 and s2", ex.Snapshots)
	}
	if !slices.Equal(sorted(ex.DataFiles...), sorted(a.Path, b.Path)) {
		t.Errorf("unreferenced data files %v, want a and b (c and d are in kept snapshots)", ex.DataFiles)
	}
	if len(ex.ManifestLists) != 2 {
		t.Errorf("unreferenced manifest lists %v, want the 2 of the expired snapshots", ex.ManifestLists)
	}
	st, _ := tbl.Load(context.Background())
	if len(st.Meta.Snapshots) != 2 || st.Meta.Snapshot(s3.SnapshotID) == nil {
		t.Errorf("snapshots left %d, want s3 and s4", len(st.Meta.Snapshots))
	}
	if got := filesOf(t, tbl, s3.SnapshotID); !slices.Equal(got, []string{c.Path}) {
		t.Errorf("s3 still reads %v, want c", got)
	}
	for _, e := range st.Meta.SnapshotLog {
		if st.Meta.Snapshot(e.SnapshotID) == nil {
			t.Errorf("snapshot log still names expired snapshot %d", e.SnapshotID)
		}
	}
	// Deleting what Expire returned leaves every kept snapshot readable.
	if err := tbl.DeleteFiles(context.Background(), ex); err != nil {
		t.Fatal(err)
	}
	if got := filesOf(t, tbl, 0); !slices.Equal(got, sorted(c.Path, d.Path)) {
		t.Errorf("current files after deleting expired ones %v, want c and d", got)
	}
	// Nothing newer than OlderThan is expired, whatever RetainLast says.
	ex, err = tbl.Expire(context.Background(), iceberg.ExpireOptions{RetainLast: 1, OlderThan: time.UnixMilli(s3.TimestampMs)})
	if err != nil || len(ex.Snapshots) != 0 {
		t.Errorf("expire older than s3 with s3 and s4 left: expired %v (err %v), want none", ex.Snapshots, err)
	}
}

// Expiring chosen snapshots (erasure's way) expires exactly those, however new, never the
// current one, and returns the files only they referenced.
func TestExpireChosenSnapshots(t *testing.T) {
	tbl, _, _ := lakeTable(t)
	a := putFile(t, tbl, "a", row{ID: "1", TS: base})
	b := putFile(t, tbl, "b", row{ID: "2", TS: base})
	c := putFile(t, tbl, "c", row{ID: "3", TS: base})
	s1 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{a}})
	s2 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{b}, Remove: []string{a.Path}, Operation: iceberg.OpOverwrite})
	s3 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{c}})
	ex, err := tbl.Expire(context.Background(), iceberg.ExpireOptions{Snapshots: []int64{s1.SnapshotID, s3.SnapshotID}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ex.Snapshots, []int64{s1.SnapshotID}) || !slices.Equal(ex.DataFiles, []string{a.Path}) {
		t.Errorf("expired %v with files %v; want s1 only (s3 is current) and a, the file only it referenced", ex.Snapshots, ex.DataFiles)
	}
	st, _ := tbl.Load(context.Background())
	if len(st.Meta.Snapshots) != 2 || st.Meta.Snapshot(s2.SnapshotID) == nil {
		t.Errorf("%d snapshots left, want s2 and s3", len(st.Meta.Snapshots))
	}
}

// Many commits do not make many manifests: past MaxManifests a commit merges them, and every
// snapshot still lists its files; iceberg-go reads the merged table.
func TestManifestsAreMerged(t *testing.T) {
	tbl, _, _ := lakeTable(t)
	tbl.MaxManifests = 3
	var all []string
	var snaps []*iceberg.Snapshot
	var prev iceberg.DataFile
	for i := range 8 {
		f := putFile(t, tbl, fmt.Sprintf("f%d", i), row{ID: fmt.Sprint(i), N: int64(i), TS: base + int64(i)})
		ch := iceberg.Change{Add: []iceberg.DataFile{f}}
		if i == 5 { // one overwrite among the appends: its deleted entry must not come back
			ch.Remove = []string{prev.Path}
			all = slices.DeleteFunc(all, func(p string) bool { return p == prev.Path })
		}
		snaps = append(snaps, commit(t, tbl, ch))
		all = append(all, f.Path)
		prev = f
	}
	st, err := tbl.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := filesOf(t, tbl, 0); !slices.Equal(got, sorted(all...)) {
		t.Errorf("current files %v, want %v", got, sorted(all...))
	}
	if got := filesOf(t, tbl, snaps[2].SnapshotID); len(got) != 3 {
		t.Errorf("snapshot 3 lists %d files, want 3", len(got))
	}
	it := oracle(t, tbl)
	if got := oracleRows(t, it, 0); len(got) != len(all) {
		t.Errorf("iceberg-go reads %d rows, want %d", len(got), len(all))
	}
	mfs, err := it.CurrentSnapshot().Manifests(storeIO{tbl})
	if err != nil || len(mfs) > tbl.MaxManifests || len(mfs) == 0 {
		t.Errorf("the current snapshot lists %d manifests (%v), want 1 to %d", len(mfs), err, tbl.MaxManifests)
	}
	if len(st.Meta.Snapshots) != 8 {
		t.Errorf("%d snapshots, want 8", len(st.Meta.Snapshots))
	}
}
