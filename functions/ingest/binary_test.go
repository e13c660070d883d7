package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	sluiceevents "github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/record"
)

// kinesisEvent builds a Kinesis trigger payload of about size bytes of record data.
func kinesisEvent(tb testing.TB, size int) ([]byte, int) {
	reg, _ := sluiceevents.Registry()
	g, err := fake.New(reg["user_events"], fake.Options{Seed: 9})
	if err != nil {
		tb.Fatal(err)
	}
	var ev events.KinesisEvent
	total := 0
	for i := 0; total < size; i++ {
		r := g.Next()
		total += len(r.Data)
		seq := fmt.Sprintf("4959%020d", i)
		ev.Records = append(ev.Records, events.KinesisEventRecord{
			EventSource: "aws:kinesis", EventSourceArn: "arn:aws:kinesis:us-east-1:000000000000:stream/bench",
			EventID: "shardId-000000000000:" + seq, AwsRegion: "us-east-1",
			Kinesis: events.KinesisRecord{Data: r.Data, SequenceNumber: seq, PartitionKey: r.PartitionKey,
				KinesisSchemaVersion: "1.0", ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: time.Now()}},
		})
	}
	b, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return b, len(ev.Records)
}

// peakRSS reads the high-water mark of resident memory of the running process built from exe.
func peakRSS(exe string) (int64, error) {
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, p := range procs {
		if target, err := os.Readlink(p); err == nil && target == exe {
			status, err := os.ReadFile(filepath.Join(filepath.Dir(p), "status"))
			if err != nil {
				return 0, err
			}
			for _, line := range strings.Split(string(status), "\n") {
				if strings.HasPrefix(line, "VmHWM:") {
					kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
					return kb << 10, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("no running process of %s", exe)
}

// build builds this function as `make build` does.
func build(tb testing.TB) string { return runtimeapi.Build(tb, ".") }

// TestSampleEvent runs events/samples/kinesis-batch.json through the built binary: every record
// ends in the cleansed zone or in quarantine, and the function reports no failures.
func TestSampleEvent(t *testing.T) {
	payload, err := os.ReadFile("../../events/samples/kinesis-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.KinesisEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	reg, _ := sluiceevents.Registry()
	wantBad := 0
	for i, r := range ev.Records {
		if _, rej := record.NewBatch(reg, record.Options{DefaultDataset: "user_events"}).Add(r.Kinesis.Data, i); rej != nil {
			wantBad++
		}
	}
	client, endpoint := s3test.StartGofakes3(t)
	cleansed := s3test.CreateBucket(t, client, "cleansed")
	quarantined := s3test.CreateBucket(t, client, "quarantine")
	fn, err := runtimeapi.Start(context.Background(), runtimeapi.Config{
		Name: "ingest", Binary: build(t), MemorySize: 128,
		Env: []string{"AWS_ENDPOINT_URL_S3=" + endpoint, "AWS_ACCESS_KEY_ID=" + s3test.AccessKey,
			"AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey, "AWS_REGION=us-east-1", "SLUICE_DEFAULT_DATASET=user_events",
			"SLUICE_CLEANSED_BUCKET=" + cleansed, "SLUICE_QUARANTINE_BUCKET=" + quarantined},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	res, err := fn.Invoke(context.Background(), payload)
	if err != nil || res.FunctionError != nil {
		t.Fatalf("%v %v", err, res.FunctionError)
	}
	if string(res.Payload) != `{"batchItemFailures":null}` && string(res.Payload) != `{"batchItemFailures":[]}` {
		t.Fatalf("response %s", res.Payload)
	}
	rows, bad := 0, 0
	for _, in := range s3test.Keys(t, client, cleansed, "") {
		body := s3test.Read(t, client, cleansed, in)
		r, err := parquetfile.ReadBytes(body)
		if err != nil {
			t.Fatal(err)
		}
		rows += len(r)
	}
	for _, in := range s3test.Keys(t, client, quarantined, "") {
		entries, err := quarantine.Decode(bytes.NewReader(s3test.Read(t, client, quarantined, in)))
		if err != nil {
			t.Fatal(err)
		}
		bad += len(entries)
	}
	if wantBad == 0 || bad != wantBad || rows+bad != len(ev.Records) {
		t.Fatalf("%d records: %d rows + %d quarantined, want %d bad", len(ev.Records), rows, bad, wantBad)
	}
}

// BenchmarkBinary6MB drives the built, stripped bootstrap through the Lambda Runtime API with a
// full 6 MB Kinesis batch against an S3 stand-in, and reports the process's peak RSS (what a
// function's memory size must hold) and its start-to-ready time.
func BenchmarkBinary6MB(b *testing.B) {
	exe := build(b)
	client, endpoint := s3test.StartGofakes3(b)
	cleansed := s3test.CreateBucket(b, client, "cleansed")
	quarantine := s3test.CreateBucket(b, client, "quarantine")
	// 6 MB is the limit on the whole event, records base64'd inside it: fill it to just under.
	payload, _ := kinesisEvent(b, 1<<20)
	payload, n := kinesisEvent(b, int(float64(1<<20)*float64(6<<20-32<<10)/float64(len(payload))))
	b.Logf("event: %d records, %.2f MB", n, float64(len(payload))/(1<<20))

	fn, err := runtimeapi.Start(context.Background(), runtimeapi.Config{
		Name: "ingest", Binary: exe, MemorySize: 128, Timeout: 120 * time.Second,
		Env: []string{"AWS_ENDPOINT_URL_S3=" + endpoint, "AWS_ACCESS_KEY_ID=" + s3test.AccessKey,
			"AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey, "AWS_REGION=us-east-1",
			"SLUICE_CLEANSED_BUCKET=" + cleansed, "SLUICE_QUARANTINE_BUCKET=" + quarantine, "SLUICE_TRACING=off",
			"GOMEMLIMIT=" + os.Getenv("BENCH_GOMEMLIMIT")}, // empty: the function sizes itself (shared/memlimit)
	})
	if err != nil {
		b.Fatal(err)
	}
	defer fn.Close()
	var rss int64
	for b.Loop() {
		res, err := fn.Invoke(context.Background(), payload)
		if err != nil || res.FunctionError != nil {
			b.Fatalf("%v %v", err, res.FunctionError)
		}
		var resp events.KinesisEventResponse
		if err := json.Unmarshal(res.Payload, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
			b.Fatalf("response %s", res.Payload)
		}
		if rss, err = peakRSS(exe); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(fn.InitDuration().Microseconds())/1000, "start-to-ready-ms")
	b.ReportMetric(float64(len(payload))/(1<<20), "event-MB")
}
