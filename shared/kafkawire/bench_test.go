package kafkawire_test

import (
	"testing"

	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/kafkawire"
	"github.com/sluicelake/sluice/shared/record"
)

// BenchmarkAvroToRows reads 10,000 wire-format user_events into validated rows (the Kafka Avro
// path), beside BenchmarkJSONToRows, the same records as JSON through the same validation.
func BenchmarkAvroToRows(b *testing.B) {
	reg := contracts(b)
	c := reg["user_events"]
	g, _ := fake.New(c, fake.Options{Seed: 1})
	var values [][]byte
	size := 0
	for range 10000 {
		v, err := kafkawire.Encode(c, 1, g.Next().Data)
		if err != nil {
			b.Fatal(err)
		}
		values = append(values, v)
		size += len(v)
	}
	b.SetBytes(int64(size))
	arena := make([]byte, 0, 4*size) // the batch is released each round: its JSON may be reused
	for b.Loop() {
		batch := record.NewBatch(reg, record.Options{})
		batch.Reserve(len(values))
		arena = arena[:0]
		for i, v := range values {
			start := len(arena)
			var rej *record.Reject
			if arena, rej = kafkawire.AppendJSON(arena, c, v[5:]); rej != nil {
				b.Fatal(rej)
			}
			if _, rej := batch.AddFrom("user_events", arena[start:], i); rej != nil {
				b.Fatal(rej)
			}
		}
		batch.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(values)), "ns/record")
}

func BenchmarkJSONToRows(b *testing.B) {
	reg := contracts(b)
	g, _ := fake.New(reg["user_events"], fake.Options{Seed: 1})
	var values [][]byte
	size := 0
	for range 10000 {
		r := g.Next()
		values = append(values, r.Data)
		size += len(r.Data)
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		batch := record.NewBatch(reg, record.Options{})
		batch.Reserve(len(values))
		for i, v := range values {
			if _, rej := batch.Add(v, i); rej != nil {
				b.Fatal(rej)
			}
		}
		batch.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(values)), "ns/record")
}
