package kinesislocal_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/sluicelake/sluice/localstack/kinesislocal"
)

func startServer(t *testing.T) *kinesislocal.Server {
	t.Helper()
	s := kinesislocal.ForTest(t)
	t.Logf("kinesis-mock ready in %v at %s", s.StartupTime, s.Endpoint)
	if rss, err := os.ReadFile("/proc/" + strconv.Itoa(s.PID) + "/status"); err == nil {
		for _, line := range strings.Split(string(rss), "\n") {
			if strings.HasPrefix(line, "VmRSS") {
				t.Logf("kinesis-mock %s", line)
			}
		}
	}
	return s
}

func TestStreamRoundTrip(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	client := s.Client()
	began := time.Now()
	if err := kinesislocal.CreateStream(ctx, client, "events", 2); err != nil {
		t.Fatal(err)
	}
	t.Logf("CreateStream took %v", time.Since(began))
	sum, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("events")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToInt32(sum.StreamDescriptionSummary.OpenShardCount); got != 2 {
		t.Errorf("open shards = %d, want 2", got)
	}
	if want := "arn:aws:kinesis:us-east-1:000000000000:stream/events"; aws.ToString(sum.StreamDescriptionSummary.StreamARN) != want {
		t.Errorf("stream ARN = %s, want %s", aws.ToString(sum.StreamDescriptionSummary.StreamARN), want)
	}

	put, err := client.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("events"), PartitionKey: aws.String("k"), Data: []byte(`{"n":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName: aws.String("events"), ShardId: put.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Records) != 1 || !bytes.Equal(got.Records[0].Data, []byte(`{"n":1}`)) ||
		aws.ToString(got.Records[0].SequenceNumber) != aws.ToString(put.SequenceNumber) {
		t.Fatalf("records = %+v", got.Records)
	}

	// Creating the same stream again waits for it instead of failing.
	if err := kinesislocal.CreateStream(ctx, client, "events", 2); err != nil {
		t.Fatal(err)
	}
}

func TestCloseStopsTheServer(t *testing.T) {
	s := startServer(t)
	s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.Client(func(o *kinesis.Options) { o.RetryMaxAttempts = 1 }).ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err == nil {
		t.Fatal("ListStreams still answered after Close")
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(s.PID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("process %d still exists after Close", s.PID)
	}
}

func TestMissingPackageSaysRunMakeTools(t *testing.T) {
	_, err := kinesislocal.Start(context.Background(), kinesislocal.Options{ToolsDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("Start = %v, want advice to run make tools", err)
	}
}
