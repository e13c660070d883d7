package partition_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/archive/partition"
	"github.com/sluicelake/sluice/shared/fake"
)

// BenchmarkDecodeAndKeys is the local Firehose's per-record partitioning cost: decode the JSON,
// run the jq program with gojq. MB/s is of record bytes.
func BenchmarkDecodeAndKeys(b *testing.B) {
	reg, err := events.Registry()
	if err != nil {
		b.Fatal(err)
	}
	c := reg["user_events"]
	prog, err := partition.Compile(c)
	if err != nil {
		b.Fatal(err)
	}
	g, err := fake.New(c, fake.Options{Seed: 1, Now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	recs := make([][]byte, 1000)
	size := 0
	for i := range recs {
		recs[i] = g.Next().Data // BadShare 0: every record good
		size += len(recs[i])
	}
	b.SetBytes(int64(size / len(recs)))
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := partition.Decode(recs[i%len(recs)])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := prog.Keys(ctx, v); err != nil {
			b.Fatal(err)
		}
	}
}
