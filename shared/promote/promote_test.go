package promote_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

// startAtomicGofakes3 serves S3 with atomic conditional writes, as S3's are.
func startAtomicGofakes3(t testing.TB) *s3.Client {
	client, _ := s3test.StartAtomicGofakes3(t)
	return client
}

var testKey = []byte("test-pii-key")

var part = zone.Partition{Date: "2026-11-23", Hour: 9}

// lake starts an S3 stand-in with the cleansed and curated buckets and a promoter over them.
func lake(t *testing.T) (*promote.Promoter, objectstore.Store, objectstore.Store) { return lakeB(t) }

func lakeB(t testing.TB) (*promote.Promoter, objectstore.Store, objectstore.Store) {
	t.Helper()
	client := startAtomicGofakes3(t)
	for _, b := range []string{"cleansed", "curated"} {
		if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	cleansed := s3store.New(client, "cleansed")
	curated := s3store.New(client, "curated") // deletes conditionally, as the deployed function's store does
	return &promote.Promoter{Contracts: reg, Cleansed: cleansed, Curated: curated, PIIKey: testKey}, cleansed, curated
}

// customer is one customers record; minute is its event time within the test partition's hour.
type customer struct {
	id     int
	minute int
	name   string
	phone  string
}

func (c customer) json() []byte {
	phone := "null"
	if c.phone != "" {
		phone = `"` + c.phone + `"`
	}
	return fmt.Appendf(nil, `{"uuid":"%08x-0000-4000-8000-000000000000","event_date":"2026-11-23T09:%02d:00Z","status":"Active","name":%q,"last_name":"Lovelace","email":"user%d@example.com","phone":%s}`,
		c.id, c.minute, c.name, c.id, phone)
}

// putCleansed writes rows as one cleansed Parquet file, the way validate and ingest do.
func putCleansed(t *testing.T, s objectstore.Store, name string, rows ...customer) {
	t.Helper()
	putCleansedAt(t, s, part, name, rows...)
}

// putCleansedAt is putCleansed into another hour of 2026-11-23.
func putCleansedAt(t testing.TB, s objectstore.Store, pt zone.Partition, name string, rows ...customer) {
	t.Helper()
	reg, _ := events.Registry()
	b := record.NewBatch(reg, record.Options{DefaultDataset: "customers", Now: func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) }})
	for i, r := range rows {
		js := bytes.Replace(r.json(), []byte("T09:"), fmt.Appendf(nil, "T%02d:", pt.Hour), 1)
		if _, rej := b.Add(js, i); rej != nil {
			t.Fatalf("record %s: %v", js, rej)
		}
	}
	var buf bytes.Buffer
	if err := parquetfile.WriteTable(&buf, b.Tables()[0], parquetfile.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), zone.Key("customers", pt, name), buf.Bytes(), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// curatedRows reads every curated file of the test partition in the curated table's current
// snapshot.
func curatedRows(t *testing.T, s objectstore.Store) (rows []map[string]any, files []objectstore.Info) {
	t.Helper()
	return tableRows(t, s, "customers", part)
}

// tableRows reads the files of a partition in the current snapshot of a dataset's curated table.
func tableRows(t testing.TB, s objectstore.Store, dataset string, p zone.Partition) (rows []map[string]any, files []objectstore.Info) {
	t.Helper()
	ctx := context.Background()
	tbl := (&promote.Promoter{Curated: s}).Table(dataset)
	dfs, err := (&promote.Promoter{Curated: s}).Files(ctx, dataset, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, df := range dfs {
		key, err := tbl.Key(df.Path)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Head(ctx, key)
		if err != nil {
			t.Fatalf("the table's file %s: %v", key, err)
		}
		files = append(files, info)
	}
	for _, f := range files {
		rc, _, err := s.Get(ctx, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		r, err := parquetfile.ReadBytes(b)
		if err != nil {
			t.Fatalf("%s: %v", f.Key, err)
		}
		rows = append(rows, r...)
	}
	return rows, files
}

func byUUID(rows []map[string]any) map[string]map[string]any {
	m := map[string]map[string]any{}
	for _, r := range rows {
		m[r["uuid"].(string)] = r
	}
	return m
}

func uuidOf(id int) string { return fmt.Sprintf("%08x-0000-4000-8000-000000000000", id) }

func TestPromoteDedupesAndAppliesPII(t *testing.T) {
	p, cleansed, curated := lake(t)
	ctx := context.Background()
	putCleansed(t, cleansed, "a.parquet",
		customer{1, 10, "first", "+1 555 0100"}, customer{2, 50, "latest", ""}, customer{3, 5, "only", "+1 555 0103"})
	putCleansed(t, cleansed, "b.parquet",
		customer{1, 30, "later", ""}, customer{2, 20, "earlier", ""}, customer{4, 1, "new", ""},
		customer{4, 1, "tie-later-row", ""}) // same time: the later row wins
	putCleansed(t, cleansed, "c.parquet", // a replay of a.parquet under another name
		customer{1, 10, "first", "+1 555 0100"}, customer{2, 50, "latest", ""}, customer{3, 5, "only", "+1 555 0103"})
	putCleansed(t, cleansed, "d.parquet", customer{3, 5, "tie-later-file", ""}) // same time: the later object key wins

	res, err := p.Promote(ctx, "customers", part)
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesIn != 4 || res.RowsIn != 11 || res.RowsOut != 4 {
		t.Fatalf("result %+v: want 4 files, 11 rows in, 4 out", res)
	}
	rows, files := curatedRows(t, curated)
	if len(files) != 1 || !strings.HasPrefix(files[0].Key, "customers/data/dt=2026-11-23/hr=09/part-00000-") {
		t.Fatalf("curated files %v: want one customers/data/dt=2026-11-23/hr=09/part-00000-<hash>.parquet", files)
	}
	if len(rows) != 4 {
		t.Fatalf("%d curated rows, want 4: %v", len(rows), rows)
	}
	got := byUUID(rows)
	for id, want := range map[int]string{1: "later", 2: "latest", 3: "tie-later-file", 4: "tie-later-row"} {
		if r := got[uuidOf(id)]; r == nil || r["name"] != want {
			t.Errorf("customer %d: got %v, want name %q", id, r, want)
		}
	}
	for id, r := range got {
		if _, ok := r["phone"]; ok {
			t.Errorf("%s: phone (pii drop) is in curated: %v", id, r)
		}
		if r["last_name"] != "****lace" {
			t.Errorf("%s: last_name (pii mask) = %v, want ****lace", id, r["last_name"])
		}
		var n int
		fmt.Sscanf(id, "%08x", &n)
		if want := promote.HashHex(testKey, fmt.Appendf(nil, "user%d@example.com", n)); r["email"] != want {
			t.Errorf("%s: email (pii hash) = %v, want %s", id, r["email"], want)
		}
	}

	// A replay, or a duplicated event, changes nothing: same objects, same bytes.
	res2, err := p.Promote(ctx, "customers", part)
	if err != nil {
		t.Fatal(err)
	}
	_, files2 := curatedRows(t, curated)
	if len(files2) != 1 || files2[0].ETag != files[0].ETag || !files2[0].LastModified.Equal(files[0].LastModified) || len(res2.Deleted) != 0 || res2.Unchanged != 1 {
		t.Fatalf("replay changed curated: before %v, after %v (deleted %v)", files, files2, res2.Deleted)
	}
	if lk, err := curated.List(ctx, promote.LockPrefix); err != nil || len(lk) != 0 {
		t.Fatalf("lock left behind: %v %v", lk, err)
	}
}

func TestPromoteSplitsByTargetSizeAndDeletesStaleFiles(t *testing.T) {
	p, cleansed, curated := lake(t)
	ctx := context.Background()
	var rows []customer
	for i := range 3000 {
		rows = append(rows, customer{i + 1, i % 60, fmt.Sprintf("customer number %d with a longer name", i), ""})
	}
	putCleansed(t, cleansed, "a.parquet", rows...)
	p.TargetBytes = 32 << 10
	res, err := p.Promote(ctx, "customers", part)
	if err != nil {
		t.Fatal(err)
	}
	got, files := curatedRows(t, curated)
	if len(files) < 3 {
		t.Fatalf("%d curated files for %d bytes in at a 32 KiB target; want several", len(files), res.BytesIn)
	}
	for i, f := range files {
		if want := fmt.Sprintf("/part-%05d-", i); !strings.Contains(f.Key, want) {
			t.Errorf("file %d is %s, want %s<hash>.parquet", i, f.Key, want)
		}
		if f.Size > p.TargetBytes {
			t.Errorf("%s is %d bytes, over the %d target", f.Key, f.Size, p.TargetBytes)
		}
	}
	if len(got) != 3000 || len(byUUID(got)) != 3000 {
		t.Fatalf("%d curated rows (%d distinct), want 3000", len(got), len(byUUID(got)))
	}

	// A larger target compacts into fewer files; the old ones no longer in the output go.
	p.TargetBytes = 0
	res, err = p.Promote(ctx, "customers", part)
	if err != nil {
		t.Fatal(err)
	}
	got, files2 := curatedRows(t, curated)
	// Every old file leaves the table, the first too: its part is rewritten under a new name.
	if len(files2) != 1 || len(res.Deleted) != len(files) || len(got) != 3000 {
		t.Fatalf("after compaction: files %v, deleted %v, %d rows; want one file, %d deleted, 3000 rows", files2, res.Deleted, len(got), len(files))
	}
	// The compaction is one replace snapshot; the files it replaced stay for time travel.
	st, err := p.Table("customers").Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := st.Meta.History()
	if len(h) != 2 || h[0].Operation != "append" || h[1].Operation != "replace" || h[1].AddedRows != 3000 || h[1].DeletedRows != 3000 {
		t.Errorf("history %+v: want an append, then a replace of 3000 rows", h)
	}
	for _, f := range files {
		if _, err := curated.Head(ctx, f.Key); err != nil {
			t.Errorf("replaced file %s is gone (%v): the first snapshot still reads it", f.Key, err)
		}
	}
	old, err := st.Files(ctx, h[0].SnapshotID)
	if err != nil || len(old) != len(files) {
		t.Errorf("the first snapshot lists %d files (%v), want %d", len(old), err, len(files))
	}
}

func TestPromoteEmptiedPartitionDeletesCurated(t *testing.T) {
	p, cleansed, curated := lake(t)
	ctx := context.Background()
	putCleansed(t, cleansed, "a.parquet", customer{1, 1, "x", ""})
	if _, err := p.Promote(ctx, "customers", part); err != nil {
		t.Fatal(err)
	}
	if err := cleansed.Delete(ctx, zone.Key("customers", part, "a.parquet")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Promote(ctx, "customers", part); err != nil {
		t.Fatal(err)
	}
	if rows, files := curatedRows(t, curated); len(files) != 0 || len(rows) != 0 {
		t.Fatalf("curated still holds %v", files)
	}
}

func TestPromoteRefusesToHashWithoutAKey(t *testing.T) {
	p, cleansed, _ := lake(t)
	putCleansed(t, cleansed, "a.parquet", customer{1, 1, "x", ""})
	p.PIIKey = nil
	_, err := p.Promote(context.Background(), "customers", part)
	if err == nil || !strings.Contains(err.Error(), "SLUICE_PII_KEY") {
		t.Fatalf("error %v: want one naming the key setting", err)
	}
}

func TestPromoteUnknownDataset(t *testing.T) {
	p, _, _ := lake(t)
	if _, err := p.Promote(context.Background(), "nope", part); err == nil {
		t.Fatal("no error for a dataset without a contract")
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{"": "", "abcd": "abcd", "abcde": "*bcde", "Lovelace": "****lace", "ééééé€": "**ééé€"} {
		if got := promote.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}
