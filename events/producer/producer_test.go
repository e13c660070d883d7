package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/sluicelake/sluice/localstack/kinesislocal"
)

var update = flag.Bool("update", false, "rewrite events/samples/kinesis-batch.json")

// sampleArgs make events/samples/kinesis-batch.json:
//
//	go run ./events/producer --sample-event 40 --dataset all --bad 0.3 --seed 20261123 --now 2026-11-23T12:00:00Z > events/samples/kinesis-batch.json
var sampleArgs = []string{"--sample-event", "40", "--dataset", "all", "--bad", "0.3", "--seed", "20261123", "--now", "2026-11-23T12:00:00Z"}

var samplePath = filepath.Join("..", "samples", "kinesis-batch.json")

// TestSampleEventIsCurrent regenerates the sample trigger payload and compares it with the file,
// so that a change to the contracts or the generator cannot leave a stale sample behind.
func TestSampleEventIsCurrent(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), sampleArgs, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if *update {
		if err := os.WriteFile(samplePath, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatalf("%v: run `go test ./events/producer -run Sample -args -update` to write it", err)
	}
	if !bytes.Equal(have, out.Bytes()) {
		t.Fatalf("%s is stale: run `go test ./events/producer -run Sample -args -update` and commit the result", samplePath)
	}

	// It is the exact shape Lambda delivers: it decodes into aws-lambda-go's KinesisEvent with
	// nothing left over, one shard, rising sequence numbers, both datasets, good and bad records.
	dec := json.NewDecoder(bytes.NewReader(have))
	dec.DisallowUnknownFields()
	var ev events.KinesisEvent
	if err := dec.Decode(&ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Records) != 40 {
		t.Fatalf("%d records, want 40", len(ev.Records))
	}
	datasets := map[string]int{}
	bad := 0
	prev := ""
	for i, r := range ev.Records {
		k := r.Kinesis
		if r.EventSource != "aws:kinesis" || r.EventName != "aws:kinesis:record" || r.EventVersion != "1.0" ||
			!strings.HasPrefix(r.EventID, "shardId-000000000000:"+k.SequenceNumber) || k.PartitionKey == "" {
			t.Errorf("record %d does not look like Lambda's: %+v", i, r)
		}
		if len(k.SequenceNumber) != 56 || k.SequenceNumber <= prev {
			t.Errorf("record %d: sequence number %s after %s", i, k.SequenceNumber, prev)
		}
		prev = k.SequenceNumber
		var obj struct {
			Dataset string `json:"_dataset"`
		}
		if json.Unmarshal(k.Data, &obj) != nil {
			bad++
			continue
		}
		datasets[obj.Dataset]++
	}
	if datasets["user_events"] == 0 || datasets["customers"] == 0 || bad == 0 {
		t.Errorf("want both datasets and some undecodable records; got %v and %d undecodable", datasets, bad)
	}
}

// TestProduceToKinesisLocal runs the command against a real Kinesis stand-in, through the SDK's
// standard configuration, and reads the stream back.
func TestProduceToKinesisLocal(t *testing.T) {
	srv, err := kinesislocal.Start(context.Background(), kinesislocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client := srv.Client()
	if err := kinesislocal.CreateStream(ctx, client, "sluice-events", 2); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": srv.Endpoint, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
	} {
		t.Setenv(k, v)
	}

	const amount = 1500
	var out, errs bytes.Buffer
	args := []string{"--stream", "sluice-events", "--dataset", "all", "--amount", "1500", "--bad", "0.05", "--seed", "9"}
	if code := run(ctx, args, &out, &errs); code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errs.String())
	}
	t.Logf("summary:\n%s", out.String())
	if !strings.Contains(out.String(), "sent 1500, failed 0") || !strings.Contains(out.String(), "bad records produced: 74 of 1500") {
		t.Errorf("summary lacks the counts:\n%s", out.String())
	}
	// Not a terminal: the bar prints a line at most per tenth (here per call of 500), no
	// carriage returns.
	if lines := strings.Count(errs.String(), "\n"); strings.Contains(errs.String(), "\r") || lines != 3 ||
		!strings.Contains(errs.String(), "] 1500/1500 100%") {
		t.Errorf("progress on a non-terminal:\n%q", errs.String())
	}

	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("sluice-events")})
	if err != nil {
		t.Fatal(err)
	}
	datasets := map[string]int{}
	total := 0
	for _, sh := range shards.Shards {
		it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("sluice-events"),
			ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		for iter := it.ShardIterator; iter != nil; {
			got, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range got.Records {
				total++
				var obj struct {
					Dataset string `json:"_dataset"`
				}
				if json.Unmarshal(r.Data, &obj) == nil {
					datasets[obj.Dataset]++
				}
			}
			if len(got.Records) == 0 {
				break
			}
			iter = got.NextShardIterator
		}
	}
	if total != amount || datasets["user_events"] < 700 || datasets["customers"] < 700 {
		t.Errorf("read back %d records (%v), want %d split between the two datasets", total, datasets, amount)
	}

	// A stream that is not there stops the run with a hint and a failing exit code.
	out.Reset()
	errs.Reset()
	code := run(ctx, []string{"--stream", "nope", "--amount", "10", "--seed", "1"}, &out, &errs)
	if code != 1 || !strings.Contains(errs.String(), "create-stream --stream-name nope") {
		t.Errorf("missing stream: exit %d, stderr %s", code, errs.String())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--amount", "5"},                                 // no stream
		{"--stream", "s", "--dataset", "nope"},            // unknown dataset
		{"--stream", "s", "--bad", "1.5"},                 // share out of range
		{"--stream", "s", "--partitions-from", "nope"},    // no such field
		{"--stream", "s", "--now", "2026-11-23T12:00:00"}, // no zone
	} {
		var out, errs bytes.Buffer
		if code := run(context.Background(), append(args, "--seed", "1"), &out, &errs); code != 2 || errs.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errs.String())
		}
	}
}
