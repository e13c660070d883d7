package main

import (
	"context"
	"encoding/json"
	"github.com/sluicelake/sluice/infra/bundle/bundletest"
	"github.com/sluicelake/sluice/localstack/s3local/s3localtest"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/shared/lineage/compact"
	"github.com/sluicelake/sluice/shared/lineage/graph/graphtest"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
)

// scheduled is the event an EventBridge schedule sends.
const scheduled = `{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events",` +
	`"account":"123456789012","time":"2026-12-04T17:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/x"],"detail":{}}`

// TestBuiltBinary runs the built function through the Runtime API on a schedule's event
// against versitygw: the fixture's two hours of lineage objects become one generation each,
// the objects stay (a query may be reading them), and a second run has nothing to do.
func TestBuiltBinary(t *testing.T) {
	exe := runtimeapi.Build(t, ".")
	client, srv := s3localtest.Start(t)
	bucket := s3test.CreateBucket(t, client, "lineage")
	store := s3store.New(client, bucket)
	ctx := context.Background()
	shift := time.Now().Truncate(time.Hour).Add(-3 * time.Hour).Sub(graphtest.At.Truncate(time.Hour))
	for id, rows := range graphtest.Events() {
		for i := range rows {
			rows[i].EventTime = rows[i].EventTime.Add(shift)
		}
		data, err := table.Encode(rows)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Put(ctx, table.Key(rows[0].EventTime, id), data, objectstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	fn, err := runtimeapi.Start(ctx, runtimeapi.Config{
		Name: "lineagecompact", Binary: exe, MemorySize: 256, Timeout: 60 * time.Second,
		Env: []string{"AWS_ENDPOINT_URL_S3=" + srv.Endpoint(), "AWS_ACCESS_KEY_ID=" + srv.AccessKey,
			"AWS_SECRET_ACCESS_KEY=" + srv.SecretKey, "AWS_REGION=" + srv.Region, "SLUICE_LINEAGE_BUCKET=" + bucket,
			"SLUICE_COMPACT_LOOKBACK_HOURS=6"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	invoke := func() compact.Report {
		t.Helper()
		res, err := fn.Invoke(ctx, []byte(scheduled))
		if err != nil || res.FunctionError != nil {
			t.Fatalf("%v %v", err, res.FunctionError)
		}
		var rep compact.Report
		if err := json.Unmarshal(res.Payload, &rep); err != nil {
			t.Fatalf("%v: %s", err, res.Payload)
		}
		return rep
	}
	rep := invoke()
	objects, rows := 0, 0
	for _, h := range rep.Hours {
		objects, rows = objects+h.Objects, rows+h.Rows
	}
	if len(rep.Hours) != 2 || objects != 7 || rows != 8 {
		t.Fatalf("report %+v: want 2 hours, the fixture's 7 objects and 8 rows", rep)
	}
	gens := s3test.Keys(t, client, bucket, table.Compacted+"/")
	if len(gens) != 2 || !strings.HasSuffix(gens[0], "/gen-000001.parquet") {
		t.Fatalf("generations %v", gens)
	}
	if n := len(s3test.Keys(t, client, bucket, table.Dataset+"/")); n != 7 {
		t.Fatalf("%d lineage objects left, want all 7 until the grace period ends", n)
	}
	if again := invoke(); len(again.Hours) != 0 {
		t.Fatalf("second run changed %+v", again)
	}
}

// The function links Parquet but neither the embedded query engine nor the X-Ray SDK; its size
// is reported (go test -run Size -v ./functions/lineagecompact).
func TestSize(t *testing.T) {
	bundletest.Size(t, "lineagecompact", "duckdb", "aws-xray-sdk-go")
}
