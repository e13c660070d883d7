package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/infra/bundle"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/openlineage/oltest"
	"github.com/sluicelake/sluice/shared/provenance"
)

// sqsOf wraps EventBridge "Object Created" events in an SQS batch, as the stack delivers them.
func sqsOf(objects ...[2]string) []byte {
	var recs []map[string]any
	for i, o := range objects {
		body, _ := json.Marshal(map[string]any{"version": "0", "detail-type": "Object Created", "source": "aws.s3",
			"detail": map[string]any{"bucket": map[string]string{"name": o[0]}, "object": map[string]string{"key": o[1]}}})
		recs = append(recs, map[string]any{"messageId": fmt.Sprintf("m%d", i), "eventSource": "aws:sqs", "body": string(body)})
	}
	b, _ := json.Marshal(map[string]any{"Records": recs})
	return b
}

// TestBuiltBinary drives the built function through the Runtime API against an S3 stand-in
// and an OpenLineage endpoint: objects of three jobs are recorded and forwarded once, each
// event valid OpenLineage; a duplicated batch records and forwards nothing more; a message
// naming a foreign bucket is reported for redelivery while the rest of its batch is recorded.
func TestBuiltBinary(t *testing.T) {
	exe := runtimeapi.Build(t, ".")
	client, endpoint := s3test.StartGofakes3(t)
	ctx := context.Background()
	for _, b := range []string{"raw", "cleansed", "curated", "quarantine", "lineage"} {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	var posted atomic.Int32
	var bad atomic.Value
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if err := oltest.Check(b); err != nil {
			bad.Store(err.Error())
		}
		posted.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(sink.Close)

	cleansed := s3store.New(client, "cleansed")
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("raw"), Key: aws.String("landing/customers/a.csv"), Body: bytes.NewReader([]byte("uuid\n1\n"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := provenance.Put(ctx, cleansed, "customers/dt=2026-11-23/hr=10/a-0.parquet", []byte("PAR1"), objectstore.PutOptions{},
		&provenance.Record{Job: "validate", Run: "9f1d6a52-7b55-4d3f-8d7e-0b1c2d3e4f50", Dataset: "customers", Kind: provenance.Data, Rows: 1,
			Inputs: []provenance.Input{{Bucket: "raw", Key: "landing/customers/a.csv", Rows: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := provenance.Put(ctx, cleansed, "user_events/dt=2026-11-23/hr=10/shardId-000000000000-1.parquet", []byte("PAR1"), objectstore.PutOptions{},
		&provenance.Record{Job: "ingest", Dataset: "user_events", Kind: provenance.Data, Rows: 4,
			Inputs: []provenance.Input{{Stream: "sluice-events", Shard: "shardId-000000000000", First: "1", Last: "9", Rows: 4}}}); err != nil {
		t.Fatal(err)
	}

	fn, err := runtimeapi.Start(ctx, runtimeapi.Config{
		Name: "lineage", Binary: exe, MemorySize: 128, Timeout: 30 * time.Second,
		Env: []string{"AWS_ENDPOINT_URL_S3=" + endpoint, "AWS_ACCESS_KEY_ID=" + s3test.AccessKey,
			"AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey, "AWS_REGION=us-east-1",
			"SLUICE_RAW_BUCKET=raw", "SLUICE_CLEANSED_BUCKET=cleansed", "SLUICE_CURATED_BUCKET=curated",
			"SLUICE_QUARANTINE_BUCKET=quarantine", "SLUICE_CONSUMPTION_BUCKET=consumption", "SLUICE_LINEAGE_BUCKET=lineage", "SLUICE_STREAM_NAME=sluice-events",
			"SLUICE_OPENLINEAGE_URL=" + sink.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	invoke := func(payload []byte) string {
		t.Helper()
		res, err := fn.Invoke(ctx, payload)
		if err != nil || res.FunctionError != nil {
			t.Fatalf("%v %v", err, res.FunctionError)
		}
		return string(res.Payload)
	}
	batch := sqsOf([2]string{"raw", "landing/customers/a.csv"}, [2]string{"cleansed", "customers/dt=2026-11-23/hr=10/a-0.parquet"},
		[2]string{"cleansed", "user_events/dt=2026-11-23/hr=10/shardId-000000000000-1.parquet"}, [2]string{"elsewhere", "x"},
		[2]string{"cleansed", "_reports/customers/r.json"})
	if got := invoke(batch); got != `{"batchItemFailures":[{"itemIdentifier":"m3"}]}` {
		t.Fatalf("batch response %s, want only the foreign bucket's message failed", got)
	}
	if posted.Load() != 3 || bad.Load() != nil {
		t.Fatalf("%d events forwarded (want 3); invalid: %v", posted.Load(), bad.Load())
	}
	keys := s3test.Keys(t, client, "lineage", "")
	if len(keys) != 3 {
		t.Fatalf("lineage objects %v, want 3", keys)
	}
	jobs := map[string]bool{}
	for _, k := range keys {
		rows, err := table.Decode(s3test.Read(t, client, "lineage", k))
		if err != nil {
			t.Fatal(err)
		}
		oltest.Validate(t, []byte(rows[0].Event))
		jobs[rows[0].JobName] = true
	}
	if !jobs["upload"] || !jobs["validate"] || !jobs["ingest"] {
		t.Fatalf("jobs recorded %v", jobs)
	}
	// The queue redelivers the whole batch: nothing new.
	invoke(batch)
	if n := len(s3test.Keys(t, client, "lineage", "")); n != 3 || posted.Load() != 3 {
		t.Fatalf("after a duplicated batch: %d lineage objects, %d forwarded; want 3 and 3", n, posted.Load())
	}
	// A direct S3 notification answers with what became of each object.
	direct := invoke([]byte(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"cleansed"},"object":{"key":"customers/dt%3D2026-11-23/hr%3D10/a-0.parquet"}}}]}`))
	if !strings.Contains(direct, `"outcome":"duplicate"`) {
		t.Fatalf("direct invocation answered %s", direct)
	}
}

// The lineage function is built without the X-Ray SDK and the Parquet and query libraries, so
// that it stays under the 12 MB the design sets for every function (linux/arm64, stripped).
func TestBinaryUnder12MB(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles for arm64")
	}
	exe := filepath.Join(t.TempDir(), "bootstrap")
	if err := bundle.Build(context.Background(), ".", bundle.Arch, exe, "."); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("lineage bootstrap, linux/arm64 stripped: %.1f MB", float64(st.Size())/1e6)
	if st.Size() >= 12e6 {
		out, _ := exec.Command("go", "list", "-deps", ".").Output()
		t.Fatalf("the lineage binary is %.1f MB, over 12 MB; what it links:\n%s", float64(st.Size())/1e6, out)
	}
}
