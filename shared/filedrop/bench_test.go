package filedrop_test

import (
	"context"
	"testing"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/objectstore"
)

// benchmarkFile validates one file of 20,000 clickstream records per iteration, end to end
// against the S3 stand-in: read, validate, cleansed Parquet, quarantine, report.
func benchmarkFile(b *testing.B, name string, body []byte, rows int) {
	l := newLake(b)
	l.v.ChunkRows = 10_000
	ctx := context.Background()
	key := "landing/user_events/bench/" + name
	if _, err := l.raw.Put(ctx, key, body, objectstore.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for b.Loop() {
		rep, err := l.v.Validate(ctx, key, "")
		if err != nil {
			b.Fatal(err)
		}
		if rep.RowsIn != int64(rows) {
			b.Fatalf("%d rows in, want %d", rep.RowsIn, rows)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkValidate(b *testing.B) {
	reg, _ := events.Registry()
	recs := generate(b, "user_events", 20_000, 0.01)
	var good = recs[:0:0]
	for _, r := range recs {
		if r.Bad == "" {
			good = append(good, r)
		}
	}
	b.Run("jsonl", func(b *testing.B) { benchmarkFile(b, "f.jsonl", jsonLines(recs), len(recs)) })
	b.Run("jsonl.gz", func(b *testing.B) { benchmarkFile(b, "f.jsonl.gz", gz(jsonLines(recs)), len(recs)) })
	b.Run("csv", func(b *testing.B) { benchmarkFile(b, "f.csv", csvOf(b, reg["user_events"], good), len(good)) })
	b.Run("csv.gz", func(b *testing.B) { benchmarkFile(b, "f.csv.gz", gz(csvOf(b, reg["user_events"], good)), len(good)) })
	b.Run("parquet", func(b *testing.B) { benchmarkFile(b, "f.parquet", parquetOf(b, reg, good), len(good)) })
}
