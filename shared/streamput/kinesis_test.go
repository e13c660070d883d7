package streamput_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/kinesislocal"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/streamput"
)

func startKinesis(t *testing.T) *kinesis.Client {
	t.Helper()
	s := kinesislocal.ForTest(t)
	return s.Client()
}

// readAll drains every shard of the stream from its start.
func readAll(t *testing.T, ctx context.Context, c *kinesis.Client, stream string) map[string][]types.Record {
	t.Helper()
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	all := map[string][]types.Record{}
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
			ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		for iter != nil {
			out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
			if err != nil {
				t.Fatal(err)
			}
			all[*sh.ShardId] = append(all[*sh.ShardId], out.Records...)
			if len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0 {
				break
			}
			iter = out.NextShardIterator
		}
	}
	return all
}

// TestPutToKinesisLocal sends fake records, bad ones included, to a real Kinesis stand-in and
// reads every one back.
func TestPutToKinesisLocal(t *testing.T) {
	client := startKinesis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := kinesislocal.CreateStream(ctx, client, "clicks", 2); err != nil {
		t.Fatal(err)
	}
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	g, err := fake.New(reg["user_events"], fake.Options{Seed: 11, BadShare: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	progressCalls := 0
	w, err := streamput.New(client, streamput.Config{StreamName: "clicks", Progress: func(streamput.Stats) { progressCalls++ }})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1200
	sent := map[string]int{}
	for i := 0; i < n; i++ {
		r := g.Next()
		sent[r.PartitionKey+"\x00"+string(r.Data)]++
		if err := w.Put(ctx, streamput.Entry{Data: r.Data, PartitionKey: r.PartitionKey}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	s := w.Stats()
	t.Logf("%d records in %d calls, %.0f records/s against kinesis-local", s.Sent, s.Calls, s.PerSecond())
	if s.Sent != n || s.Failed != 0 || s.Calls != 3 || progressCalls != 3 {
		t.Fatalf("stats %+v after %d progress calls, want %d sent in 3 calls", s, progressCalls, n)
	}

	var got []types.Record
	for shard, rs := range readAll(t, ctx, client, "clicks") {
		// The partition keys are the contract key, event ids: they spread over the shards.
		if len(rs) < n/4 {
			t.Errorf("shard %s holds %d of %d records", shard, len(rs), n)
		}
		got = append(got, rs...)
	}
	if len(got) != n {
		t.Fatalf("read back %d records, want %d", len(got), n)
	}
	for _, r := range got {
		k := aws.ToString(r.PartitionKey) + "\x00" + string(r.Data)
		if sent[k] == 0 {
			t.Fatalf("read back a record that was not sent: %q", k)
		}
		sent[k]--
	}
	var left []string
	for k, c := range sent {
		if c != 0 {
			left = append(left, k)
		}
	}
	sort.Strings(left)
	if len(left) > 0 {
		t.Fatalf("%d records sent but not read back, e.g. %q", len(left), left[0])
	}
}
