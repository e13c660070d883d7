package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	sluiceevents "github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/filedrop"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/record/recordtest"
)

// build builds this function as `make build` does.
func build(tb testing.TB) string { return runtimeapi.Build(tb, ".") }

func records(tb testing.TB, dataset string, n int, badShare float64) []fake.Record {
	reg, _ := sluiceevents.Registry()
	g, err := fake.New(reg[dataset], fake.Options{Seed: 3, Now: time.Now().Add(-time.Minute), BadShare: badShare, BadKinds: fake.LineKinds(reg[dataset])})
	if err != nil {
		tb.Fatal(err)
	}
	return g.Take(n)
}

var jsonLines = fake.JSONLines

var gz = recordtest.Gzip

func parquetOf(tb testing.TB, recs []fake.Record) []byte {
	reg, _ := sluiceevents.Registry()
	return recordtest.Parquet(tb, reg, recs)
}

// customersCSV writes good customer records as CSV, and one ragged row.
func customersCSV(tb testing.TB, recs []fake.Record) []byte {
	reg, _ := sluiceevents.Registry()
	c := reg["customers"]
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(c.FieldNames())
	for _, r := range recs {
		var m map[string]any
		if err := json.Unmarshal(r.Data, &m); err != nil {
			tb.Fatal(err)
		}
		row := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			if m[f.Name] != nil {
				row[i] = fmt.Sprint(m[f.Name])
			}
		}
		w.Write(row)
	}
	w.Write([]string{"ragged", "row"})
	w.Flush()
	return b.Bytes()
}

func sample(t *testing.T, name string) []byte {
	b, err := os.ReadFile("../../events/samples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSampleEvents runs every validate-*.json sample event through the built binary against an
// S3 stand-in holding the files they name: every row ends in the cleansed zone or in quarantine,
// the broken file goes whole to quarantine, and an SQS message the function cannot handle is
// reported for redelivery.
func TestSampleEvents(t *testing.T) {
	exe := build(t)
	client, endpoint := s3test.StartGofakes3(t)
	ctx := context.Background()
	for _, b := range []string{"raw", "cleansed", "quarantine"} {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	cust := records(t, "customers", 300, 0)
	clicks := records(t, "user_events", 500, 0.1)
	good := records(t, "user_events", 400, 0)
	files := map[string][]byte{
		"landing/customers/2026/11/23/customers.csv":        customersCSV(t, cust),
		"landing/customers/2026/11/23/customers.csv.gz":     gz(customersCSV(t, cust)),
		"landing/user_events/2026/11/23/click stream.jsonl": jsonLines(clicks),
		"landing/user_events/2026/11/23/events.parquet":     parquetOf(t, good),
		"landing/user_events/2026/11/23/events.jsonl.gz":    gz(jsonLines(good)),
		"landing/user_events/2026/11/23/broken.parquet":     parquetOf(t, good)[:1000],
	}
	for k, body := range files {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("raw"), Key: aws.String(k), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	fn, err := runtimeapi.Start(ctx, runtimeapi.Config{
		Name: "validate", Binary: exe, MemorySize: 128, Timeout: 60 * time.Second,
		Env: []string{"AWS_ENDPOINT_URL_S3=" + endpoint, "AWS_ACCESS_KEY_ID=" + s3test.AccessKey,
			"AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey, "AWS_REGION=us-east-1", "SLUICE_TRACING=off",
			"SLUICE_RAW_BUCKET=raw", "SLUICE_CLEANSED_BUCKET=cleansed", "SLUICE_QUARANTINE_BUCKET=quarantine",
			"SLUICE_VALIDATE_CHUNK_ROWS=150"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	invoke := func(payload []byte) []byte {
		t.Helper()
		res, err := fn.Invoke(ctx, payload)
		if err != nil || res.FunctionError != nil {
			t.Fatalf("%v %v", err, res.FunctionError)
		}
		return res.Payload
	}

	var direct Result
	if err := json.Unmarshal(invoke(sample(t, "validate-s3-event.json")), &direct); err != nil {
		t.Fatal(err)
	}
	if len(direct.Files) != 2 || direct.Files[0].Valid != 300 || direct.Files[0].Quarantined != 1 ||
		direct.Files[1].Key != "landing/user_events/2026/11/23/click stream.jsonl" || direct.Files[1].Quarantined != 50 || direct.Files[1].Valid != 450 {
		t.Fatalf("S3 event: %+v", direct)
	}
	if err := json.Unmarshal(invoke(sample(t, "validate-eventbridge.json")), &direct); err != nil {
		t.Fatal(err)
	}
	if len(direct.Files) != 1 || direct.Files[0].Valid != 400 || direct.Files[0].Quarantined != 0 {
		t.Fatalf("EventBridge event: %+v", direct)
	}
	for _, name := range []string{"validate-sqs-s3.json", "validate-sqs-eventbridge.json"} {
		var resp events.SQSEventResponse
		if err := json.Unmarshal(invoke(sample(t, name)), &resp); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("%s: %s", name, invoke(sample(t, name)))
		}
	}
	// A message naming another bucket cannot be handled: only it is reported.
	var ev events.SQSEvent
	json.Unmarshal(sample(t, "validate-sqs-s3.json"), &ev)
	ev.Records[0].Body = strings.Replace(ev.Records[0].Body, `"name": "raw"`, `"name": "elsewhere"`, 1)
	wrong, _ := json.Marshal(ev)
	var resp events.SQSEventResponse
	if err := json.Unmarshal(invoke(wrong), &resp); err != nil || len(resp.BatchItemFailures) != 1 ||
		resp.BatchItemFailures[0].ItemIdentifier != ev.Records[0].MessageId {
		t.Fatalf("wrong bucket: %+v %v", resp, err)
	}

	// An object deleted since its event is skipped, not retried into the dead-letter queue.
	gone := strings.Replace(string(sample(t, "validate-eventbridge.json")), "events.parquet", "deleted.parquet", 1)
	if err := json.Unmarshal(invoke([]byte(gone)), &direct); err != nil || len(direct.Files) != 0 {
		t.Fatalf("deleted object: %+v %v", direct, err)
	}

	// Every file has a report; the reports' counts match what the zones hold.
	var valid, quarantined, whole int64
	reports := s3test.Keys(t, client, "cleansed", filedrop.ReportPrefix)
	if len(reports) != len(files) {
		t.Fatalf("%d reports for %d files: %v", len(reports), len(files), reports)
	}
	for _, k := range reports {
		var rep filedrop.Report
		if err := json.Unmarshal(s3test.Read(t, client, "cleansed", k), &rep); err != nil {
			t.Fatal(err)
		}
		if err := rep.Check(); err != nil {
			t.Fatal(err)
		}
		if rep.File != nil {
			whole++
			if rep.Key != "landing/user_events/2026/11/23/broken.parquet" || rep.File.Reason != filedrop.BadParquet {
				t.Fatalf("quarantined whole: %s %+v", rep.Key, rep.File)
			}
		}
		valid += rep.Valid
		quarantined += rep.Quarantined
	}
	var rows, entries int64
	for _, k := range s3test.Keys(t, client, "cleansed", "") {
		if strings.HasPrefix(k, filedrop.ReportPrefix) {
			continue
		}
		r, err := parquetfile.ReadBytes(s3test.Read(t, client, "cleansed", k))
		if err != nil {
			t.Fatal(err)
		}
		rows += int64(len(r))
	}
	for _, k := range s3test.Keys(t, client, "quarantine", "") {
		e, err := quarantine.Decode(bytes.NewReader(s3test.Read(t, client, "quarantine", k)))
		if err != nil {
			t.Fatal(err)
		}
		entries += int64(len(e))
	}
	if whole != 1 || rows != valid || entries != quarantined+whole || valid != 300+450+400+300+400 {
		t.Fatalf("reports: %d valid, %d quarantined, %d whole; zones: %d rows, %d entries", valid, quarantined, whole, rows, entries)
	}
}
