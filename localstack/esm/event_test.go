package esm

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

func TestEventIsLambdasKinesisEvent(t *testing.T) {
	src := source{
		shardID:           "shardId-000000000006",
		streamARN:         "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream",
		region:            "us-east-2",
		invokeIdentityArn: "arn:aws:iam::123456789012:role/lambda-role",
	}
	seq := "49590338271490256608559692538361571095921575989136588898"
	rec, err := src.encode(types.Record{
		Data:                        []byte("Hello, this is a test."),
		PartitionKey:                aws.String("1"),
		SequenceNumber:              aws.String(seq),
		ApproximateArrivalTimestamp: aws.Time(time.UnixMilli(1545084650987)),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The record from the AWS documentation's example event, byte for byte.
	want := `{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"1","sequenceNumber":"` + seq + `",` +
		`"data":"SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==","approximateArrivalTimestamp":1545084650.987},` +
		`"eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"shardId-000000000006:` + seq + `",` +
		`"eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::123456789012:role/lambda-role",` +
		`"awsRegion":"us-east-2","eventSourceARN":"arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"}`
	if string(rec.json) != want {
		t.Errorf("record\n got %s\nwant %s", rec.json, want)
	}

	second, _ := src.encode(types.Record{
		Data: []byte{0, 1, 2}, PartitionKey: aws.String("2"), SequenceNumber: aws.String(seq + "1"),
		ApproximateArrivalTimestamp: aws.Time(time.Unix(1545084651, 0)), EncryptionType: types.EncryptionTypeKms,
	})
	batch := []record{rec, second}
	payload := buildEvent(batch)
	if len(payload) != eventSize(batch) {
		t.Errorf("eventSize = %d, event is %d bytes", eventSize(batch), len(payload))
	}
	var ev events.KinesisEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Records) != 2 {
		t.Fatalf("%d records", len(ev.Records))
	}
	r := ev.Records[0]
	if string(r.Kinesis.Data) != "Hello, this is a test." || r.Kinesis.SequenceNumber != seq || r.EventID != src.shardID+":"+seq ||
		r.EventSourceArn != src.streamARN || r.AwsRegion != "us-east-2" || r.EventName != "aws:kinesis:record" ||
		r.Kinesis.ApproximateArrivalTimestamp.Round(time.Millisecond).UnixMilli() != 1545084650987 {
		t.Errorf("decoded record = %+v", r)
	}
	if r2 := ev.Records[1]; r2.Kinesis.EncryptionType != "KMS" || string(r2.Kinesis.Data) != "\x00\x01\x02" ||
		r2.Kinesis.ApproximateArrivalTimestamp.Unix() != 1545084651 {
		t.Errorf("decoded second record = %+v", r2)
	}
}

func TestFirstFailure(t *testing.T) {
	batch := []record{{seq: "100"}, {seq: "101"}, {seq: "102"}}
	for _, tc := range []struct {
		resp string
		want int
	}{
		{``, 3},
		{`null`, 3},
		{`{}`, 3},
		{`{"batchItemFailures":null}`, 3},
		{`{"batchItemFailures":[]}`, 3},
		{`{"batchItemFailures":[{"itemIdentifier":"102"},{"itemIdentifier":"101"}]}`, 1},
		{`{"batchItemFailures":[{"itemIdentifier":"100"}]}`, 0},
		{`{"batchItemFailures":[{"itemIdentifier":"102"}]}`, 2},
		{`{"batchItemFailures":[{"itemIdentifier":""}]}`, 0},
		{`{"batchItemFailures":[{"itemIdentifier":null}]}`, 0},
		{`{"batchItemFailures":[{"id":"101"}]}`, 0},
		{`{"batchItemFailures":[{"itemIdentifier":"999"}]}`, 0},
		{`{"batchItemFailures":[{"itemIdentifier":"102"},{"itemIdentifier":"999"}]}`, 0},
		{`"ok"`, 0},
		{`{"batchItemFailures":`, 0},
	} {
		got, why := firstFailure([]byte(tc.resp), batch)
		if got != tc.want {
			t.Errorf("firstFailure(%s) = %d (%s), want %d", tc.resp, got, why, tc.want)
		}
	}
}

func TestBatchLenKeepsUnderMaxPayload(t *testing.T) {
	rec := record{json: make([]byte, 100)}
	pending := []record{rec, rec, rec, rec, rec}
	m := &Mapping{cfg: Config{BatchSize: 4, MaxPayload: len(eventPrefix) + len(eventSuffix) + 3*100 + 2}}
	if n := m.batchLen(pending); n != 3 {
		t.Errorf("batchLen = %d, want 3 (the payload limit)", n)
	}
	if size := eventSize(pending[:3]); size > m.cfg.MaxPayload {
		t.Errorf("3 records make %d bytes, over %d", size, m.cfg.MaxPayload)
	}
	m.cfg.MaxPayload = MaxPayload
	if n := m.batchLen(pending); n != 4 {
		t.Errorf("batchLen = %d, want 4 (the batch size)", n)
	}
	m.cfg.MaxPayload = 10
	if n := m.batchLen(pending); n != 1 {
		t.Errorf("batchLen = %d, want 1: a record over the limit still goes alone", n)
	}
}
