package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/infra/bundle/bundletest"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/localstack/s3local/s3localtest"
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

// scheduled is the event an EventBridge schedule sends.
const scheduled = `{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events",` +
	`"account":"123456789012","time":"2026-12-05T03:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/x"],"detail":{}}`

// TestBuiltBinary runs the built function through the Runtime API on a schedule's event against
// versitygw: a curated table promoted into small files is compacted in one replace snapshot
// named by the invocation, the run is recorded in the bucket, and a second run has nothing to
// compact. (Expiry and orphan removal by age are shared/maintain's tests, which move a clock.)
func TestBuiltBinary(t *testing.T) {
	exe := runtimeapi.Build(t, ".")
	client, srv := s3localtest.Start(t)
	cleansedB, curatedB := s3test.CreateBucket(t, client, "cleansed"), s3test.CreateBucket(t, client, "curated")
	ctx := context.Background()
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	p := &promote.Promoter{Contracts: reg, Cleansed: s3store.New(client, cleansedB), Curated: s3store.New(client, curatedB),
		PIIKey: []byte("k"), TargetBytes: 16 << 10}
	part := zone.Partition{Date: "2026-11-23", Hour: 9}
	b := record.NewBatch(reg, record.Options{DefaultDataset: "customers"})
	for id := 1; id <= 1500; id++ {
		js := fmt.Appendf(nil, `{"uuid":"%08x-0000-4000-8000-000000000000","event_date":"2026-11-23T09:%02d:00Z","status":"Active","name":"customer %d","last_name":"Lovelace","email":"u%d@example.com","phone":null}`, id, id%60, id, id)
		if _, rej := b.Add(js, id); rej != nil {
			t.Fatal(rej)
		}
	}
	var buf bytes.Buffer
	if err := parquetfile.WriteTable(&buf, b.Tables()[0], parquetfile.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Cleansed.Put(ctx, zone.Key("customers", part, "a.parquet"), buf.Bytes(), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Promote(ctx, "customers", part); err != nil {
		t.Fatal(err)
	}
	files, err := p.Files(ctx, "customers", part)
	if err != nil || len(files) < 2 {
		t.Fatalf("%d curated files (%v): the test needs small ones", len(files), err)
	}

	logs, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	fn, err := runtimeapi.Start(ctx, runtimeapi.Config{
		Name: "maintain", Binary: exe, MemorySize: 512, Timeout: 60 * time.Second, Stdout: logs,
		Env: []string{"AWS_ENDPOINT_URL_S3=" + srv.Endpoint(), "AWS_ACCESS_KEY_ID=" + srv.AccessKey,
			"AWS_SECRET_ACCESS_KEY=" + srv.SecretKey, "AWS_REGION=" + srv.Region, "SLUICE_CURATED_BUCKET=" + curatedB,
			"SLUICE_MAINTAIN_KEEP_DAYS=7", "SLUICE_MAINTAIN_KEEP_SNAPSHOTS=10", "SLUICE_MAINTAIN_ORPHAN_AGE_HOURS=72"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	invoke := func() []maintain.Record {
		t.Helper()
		res, err := fn.Invoke(ctx, []byte(scheduled))
		if err != nil || res.FunctionError != nil {
			t.Fatalf("%v %v", err, res.FunctionError)
		}
		var recs []maintain.Record
		if err := json.Unmarshal(res.Payload, &recs); err != nil {
			t.Fatalf("%v: %s", err, res.Payload)
		}
		return recs
	}
	recs := invoke()
	if len(recs) != 1 || recs[0].Dataset != "customers" || recs[0].FilesCompacted != len(files) || recs[0].FilesWritten != 1 || recs[0].FilesDeleted != 0 {
		t.Fatalf("records %+v: want customers' %d files compacted into one, nothing deleted (all of it is young)", recs, len(files))
	}
	st, err := p.Table("customers").Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cur := st.Meta.Current()
	if cur.Operation() != iceberg.OpReplace || cur.Summary[iceberg.SummaryRun] != recs[0].Run || recs[0].Run == "" {
		t.Errorf("current snapshot %v: want a replace named by the invocation's run %q", cur.Summary, recs[0].Run)
	}
	if keys := s3test.Keys(t, client, curatedB, maintain.RecordPrefix+"customers/"); len(keys) != 1 {
		t.Errorf("run records %v, want one", keys)
	}
	if again := invoke(); len(again) != 1 || again[0].PartitionsCompacted != 0 {
		t.Errorf("second run %+v: want nothing compacted", again)
	}
	// Each run's counts as CloudWatch metrics (EMF lines on stdout), the first run's first.
	var runs []map[string]any
	out, _ := os.ReadFile(logs.Name())
	for _, line := range bytes.Split(out, []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(line, &m) == nil && m["_aws"] != nil {
			runs = append(runs, m)
		}
	}
	if len(runs) != 2 {
		t.Fatalf("%d metric lines, want one per run:\n%s", len(runs), out)
	}
	want := map[string]float64{"FilesCompacted": float64(len(files)), "SnapshotsExpired": 0, "FilesDeleted": 0,
		"ErasureSnapshotsExpired": 0, "ErasureSnapshotsPending": 0, "CDCDeletesPruned": 0}
	for name, v := range want {
		if got, ok := runs[0][name].(float64); !ok || got != v {
			t.Errorf("metric %s = %v, want %v (%s)", name, runs[0][name], v, out)
		}
	}
}

// The function links neither the embedded query engine nor the X-Ray SDK; its size is reported
// (go test -run Size -v ./functions/maintain).
func TestSize(t *testing.T) {
	bundletest.Size(t, "maintain", "duckdb", "aws-xray-sdk-go")
}
