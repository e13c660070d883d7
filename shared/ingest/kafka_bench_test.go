package ingest_test

import (
	"context"
	"encoding/base64"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/ingest"
	"github.com/sluicelake/sluice/shared/kafkawire"
	"github.com/sluicelake/sluice/shared/record"
)

// BenchmarkIngestKafka: BenchmarkIngest's 10,000 records as one Kafka batch over 3 partitions
// (values base64, as Lambda's event carries them): all JSON, and with the user_events as Avro
// in the Confluent wire format. MB/cpu-s is of the values as produced (JSON or Avro).
func BenchmarkIngestKafka(b *testing.B) {
	reg, err := events.Registry()
	if err != nil {
		b.Fatal(err)
	}
	schemas, err := kafkawire.ParseRegistry(`{"1":"user_events"}`, reg)
	if err != nil {
		b.Fatal(err)
	}
	for _, avro := range []bool{false, true} {
		name := "json"
		if avro {
			name = "avro-user_events"
		}
		b.Run(name, func(b *testing.B) {
			var batch ingest.KafkaBatch
			var size int64
			for i, r := range clickstream(10_000) {
				value := r.Data
				if avro && i%10 != 9 { // the customers (every tenth) stay JSON
					if value, err = kafkawire.Encode(reg["user_events"], 1, r.Data); err != nil {
						b.Fatal(err)
					}
				}
				size += int64(len(value))
				batch.Records = append(batch.Records, ingest.KafkaRecord{Topic: "clicks", Partition: int32(i % 3), Offset: int64(i / 3),
					Timestamp: now, Value: base64.StdEncoding.EncodeToString(value)})
			}
			var written atomic.Int64
			p := &ingest.Processor{Contracts: reg, Cleansed: discard{&written}, Quarantine: discard{}, Concurrency: 1,
				Options: record.Options{DefaultDataset: "customers", Now: func() time.Time { return now }},
				Kafka:   ingest.Kafka{Schemas: schemas}}
			b.SetBytes(size)
			defer cpuRate(b, size)()
			for b.Loop() {
				res, err := p.ProcessKafka(context.Background(), batch)
				if err != nil || res.Written != len(batch.Records) {
					b.Fatalf("%v %+v", err, res.Reasons)
				}
			}
		})
	}
}
