package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	sluiceevents "github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

// build builds this function as `make build` does.
func build(tb testing.TB) string { return runtimeapi.Build(tb, ".") }

const prefix = "customers/dt=2026-11-23/hr=09/"

// customers writes customer rows (id, minute of event time, name) as one cleansed file.
func customers(t *testing.T, client *s3.Client, name string, rows ...[3]any) {
	t.Helper()
	reg, _ := sluiceevents.Registry()
	b := record.NewBatch(reg, record.Options{DefaultDataset: "customers", Now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }})
	for i, r := range rows {
		data := fmt.Appendf(nil, `{"uuid":"%08x-0000-4000-8000-000000000000","event_date":"2026-11-23T09:%02d:00Z","status":"Active","name":%q,"last_name":"Hopper","email":"c%d@example.com","phone":"+1 555 0100"}`,
			r[0], r[1], r[2], r[0])
		if _, rej := b.Add(data, i); rej != nil {
			t.Fatal(rej)
		}
	}
	var buf bytes.Buffer
	if err := parquetfile.WriteTable(&buf, b.Tables()[0], parquetfile.Options{}); err != nil {
		t.Fatal(err)
	}
	put(t, client, "cleansed", prefix+name, buf.Bytes())
}

func put(t *testing.T, client *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func eventBridge(bucket, key string) string {
	b, _ := json.Marshal(map[string]any{"version": "0", "detail-type": "Object Created", "source": "aws.s3",
		"detail": map[string]any{"bucket": map[string]any{"name": bucket}, "object": map[string]any{"key": key, "size": 1, "etag": "00"}}})
	return string(b)
}

func sqsBatch(bodies ...string) []byte {
	var ev events.SQSEvent
	for i, b := range bodies {
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprintf("m%d", i), Body: b, EventSource: "aws:sqs"})
	}
	out, _ := json.Marshal(ev)
	return out
}

// TestBuiltBinary runs the built bootstrap through the Runtime API against an S3 stand-in:
// an SQS batch of EventBridge events promotes its one partition once, duplicates across files
// are removed, PII is masked, hashed and dropped, a replay changes nothing, and messages the
// function cannot handle are the only ones reported for redelivery.
func TestBuiltBinary(t *testing.T) {
	exe := build(t)
	client, endpoint := s3test.StartGofakes3(t)
	ctx := context.Background()
	for _, b := range []string{"cleansed", "curated"} {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	customers(t, client, "a.parquet", [3]any{1, 1, "old"}, [3]any{2, 2, "two"})
	customers(t, client, "b.parquet", [3]any{1, 5, "new"}, [3]any{3, 3, "three"})
	customers(t, client, "c.parquet", [3]any{1, 1, "old"}, [3]any{2, 2, "two"}) // a replay of a.parquet

	env := []string{"AWS_ENDPOINT_URL_S3=" + endpoint, "AWS_ACCESS_KEY_ID=" + s3test.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey, "AWS_REGION=us-east-1", "SLUICE_TRACING=off",
		"SLUICE_CLEANSED_BUCKET=cleansed", "SLUICE_CURATED_BUCKET=curated"}

	// No key while a contract hashes: the function refuses to start.
	var initLog bytes.Buffer
	if fn, err := runtimeapi.Start(ctx, runtimeapi.Config{Name: "promote", Binary: exe, Env: env, Stdout: &initLog}); err == nil {
		fn.Close()
		t.Fatal("the function started without a PII key")
	} else if !strings.Contains(initLog.String(), "SLUICE_PII_KEY") {
		t.Fatalf("init error %v; its log does not name the key setting: %s", err, initLog.String())
	}

	fn, err := runtimeapi.Start(ctx, runtimeapi.Config{Name: "promote", Binary: exe, MemorySize: 128, Timeout: 60 * time.Second,
		Env: append(env, "SLUICE_PII_KEY=00112233445566778899aabbccddeeff")})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	if st, err := os.Stat(exe); err == nil {
		t.Logf("bootstrap: %.1f MB stripped, start to ready %v", float64(st.Size())/1e6, fn.InitDuration())
	}
	invoke := func(payload []byte) []byte {
		t.Helper()
		res, err := fn.Invoke(ctx, payload)
		if err != nil || res.FunctionError != nil {
			t.Fatalf("%v %v", err, res.FunctionError)
		}
		return res.Payload
	}

	var resp events.SQSEventResponse
	out := invoke(sqsBatch(eventBridge("cleansed", prefix+"a.parquet"), eventBridge("cleansed", prefix+"b.parquet"),
		eventBridge("cleansed", prefix+"c.parquet"), eventBridge("cleansed", "_reports/customers/x.json")))
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("SQS batch: %s", out)
	}
	// The lock is released with S3's conditional delete: nothing is left under _locks/.
	if lk, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("curated"), Prefix: aws.String(promote.LockPrefix)}); err != nil || len(lk.Contents) != 0 {
		t.Fatalf("locks left behind: %v %v", lk, err)
	}
	rows, keys := curated(t, client)
	if len(keys) != 1 || len(rows) != 3 {
		t.Fatalf("curated %v holds %d rows, want 1 file of 3", keys, len(rows))
	}
	key := []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	for _, r := range rows {
		id := r["uuid"].(string)
		var n int
		fmt.Sscanf(id, "%08x", &n)
		if n == 1 && r["name"] != "new" {
			t.Errorf("customer 1 is %v: the later event should win", r)
		}
		if r["last_name"] != "**pper" || r["email"] != promote.HashHex(key, fmt.Appendf(nil, "c%d@example.com", n)) {
			t.Errorf("PII not applied: %v", r)
		}
		if _, ok := r["phone"]; ok {
			t.Errorf("phone not dropped: %v", r)
		}
	}

	// A plain S3 notification, direct: the same partition again, with nothing new.
	s3ev := fmt.Sprintf(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"cleansed"},"object":{"key":%q}}}]}`,
		strings.ReplaceAll(prefix, "=", "%3D")+"b.parquet")
	var direct Result
	if err := json.Unmarshal(invoke([]byte(s3ev)), &direct); err != nil {
		t.Fatal(err)
	}
	// Nothing new in the partition: no cleansed file converted, the curated file left as it was.
	if len(direct.Partitions) != 1 || direct.Partitions[0].RowsIn != 0 || direct.Partitions[0].RowsOut != 3 || direct.Partitions[0].FilesIn != 0 || direct.Partitions[0].Unchanged != 1 {
		t.Fatalf("S3 event: %+v", direct)
	}
	_, keys2 := curated(t, client)
	if fmt.Sprint(keys2) != fmt.Sprint(keys) {
		t.Fatalf("a replay changed curated: %v then %v", keys, keys2)
	}

	// A message for another bucket, and one for a dataset without a contract, are reported;
	// the good one in the same batch is not.
	out = invoke(sqsBatch(eventBridge("elsewhere", prefix+"a.parquet"), eventBridge("cleansed", "nope/dt=2026-11-23/hr=09/x.parquet"),
		eventBridge("cleansed", prefix+"a.parquet"), "not json"))
	resp = events.SQSEventResponse{}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if fmt.Sprint(failed) != "[m0 m3 m1]" {
		t.Fatalf("failures %v, want m0 m3 m1 (bad bucket, not JSON, no contract)", failed)
	}
}

// curated reads the curated partition in the curated table's current snapshot: its rows, and
// its keys with their ETags.
func curated(t *testing.T, client *s3.Client) ([]map[string]any, []string) {
	t.Helper()
	ctx := context.Background()
	p := &promote.Promoter{Curated: s3store.New(client, "curated")}
	files, err := p.Files(ctx, "customers", zone.Partition{Date: "2026-11-23", Hour: 9})
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	var keys []string
	for _, f := range files {
		key, err := p.Table("customers").Key(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("curated"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key+" "+aws.ToString(obj.ETag))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		r, err := parquetfile.ReadBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r...)
	}
	return rows, keys
}
