package main

import (
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluicelake/sluice/shared/fake"
)

// The sample's stream and function, in kinesis-mock's default account and region, so that the
// sample matches what the local host delivers.
const (
	sampleRegion = "us-east-1"
	sampleStream = "arn:aws:kinesis:us-east-1:000000000000:stream/sluice-events"
	sampleRole   = "arn:aws:iam::000000000000:role/sluice-ingest"
	sampleShard  = "shardId-000000000000"
	// A Kinesis sequence number as AWS writes them: 56 decimal digits, rising within a shard.
	firstSequence = "49656395069581446592435672049327389347366342906813759490"
)

// sampleEvent builds the event Lambda delivers for a batch of n records read from one shard
// (an event source mapping batch never mixes shards), taking records from gens in turn.
func sampleEvent(gens []*fake.Generator, n int, now time.Time) ([]byte, error) {
	seq, ok := new(big.Int).SetString(firstSequence, 10)
	if !ok {
		return nil, fmt.Errorf("bad sequence number constant")
	}
	var ev events.KinesisEvent
	for i := 0; i < n; i++ {
		r := gens[i%len(gens)].Next()
		s := seq.String()
		seq.Add(seq, big.NewInt(1<<20+int64(i)*7919)) // gaps, as in a real shard
		ev.Records = append(ev.Records, events.KinesisEventRecord{
			AwsRegion:         sampleRegion,
			EventID:           sampleShard + ":" + s,
			EventName:         "aws:kinesis:record",
			EventSource:       "aws:kinesis",
			EventSourceArn:    sampleStream,
			EventVersion:      "1.0",
			InvokeIdentityArn: sampleRole,
			Kinesis: events.KinesisRecord{
				ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: now.Add(time.Duration(i) * 7 * time.Millisecond).Truncate(time.Millisecond)},
				Data:                        r.Data,
				PartitionKey:                r.PartitionKey,
				SequenceNumber:              s,
				KinesisSchemaVersion:        "1.0",
			},
		})
	}
	out, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
