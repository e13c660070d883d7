package promote_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

// benchPartition fills one clickstream partition of the cleansed zone with files small ones
// of rows each, as the stream writes them, and returns their total size.
func benchPartition(b *testing.B, s objectstore.Store, files, rows int) (zone.Partition, int64) {
	return benchPartitionT(b, s, files, rows)
}

func benchPartitionT(b testing.TB, s objectstore.Store, files, rows int) (zone.Partition, int64) {
	b.Helper()
	reg, _ := events.Registry()
	now := time.Date(2026, 11, 23, 9, 59, 0, 0, time.UTC)
	g, err := fake.New(reg["user_events"], fake.Options{Seed: 1, Now: now})
	if err != nil {
		b.Fatal(err)
	}
	pt := zone.PartitionOf(now.UnixMilli())
	var total int64
	for f := range files {
		batch := record.NewBatch(reg, record.Options{DefaultDataset: "user_events", Now: func() time.Time { return now }})
		for i := range rows {
			batch.Add(g.Next().Data, i)
		}
		tab := batch.Tables()[0]
		var idx []int
		for i := range tab.Len() {
			idx = append(idx, i) // rows outside the hour are kept: the benchmark measures bytes, not partitioning
		}
		var buf bytes.Buffer
		if err := parquetfile.Write(&buf, tab, idx, parquetfile.Options{}); err != nil {
			b.Fatal(err)
		}
		total += int64(buf.Len())
		if _, err := s.Put(context.Background(), zone.Key("user_events", pt, fmt.Sprintf("f%04d.parquet", f)), buf.Bytes(), objectstore.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	return pt, total
}

// BenchmarkPromote measures a partition's promotion (read, dedupe, PII, encode, write) in MB/s
// of cleansed Parquet, beside a plain copy of the same objects through the same S3 stand-in.
// Row groups cannot be copied as they are: deduplication and the PII policy rewrite rows.
func BenchmarkPromote(b *testing.B) {
	for _, files := range []int{20} {
		b.Run(fmt.Sprintf("files=%d/promote", files), func(b *testing.B) {
			p, cleansed, _ := lakeB(b)
			pt, size := benchPartition(b, cleansed, files, 5000)
			b.SetBytes(size)
			b.ResetTimer()
			for range b.N {
				if _, err := p.Promote(context.Background(), "user_events", pt); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("files=%d/bytecopy", files), func(b *testing.B) {
			_, cleansed, curated := lakeB(b)
			pt, size := benchPartition(b, cleansed, files, 5000)
			b.SetBytes(size)
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				infos, _ := cleansed.List(ctx, zone.Prefix("user_events", pt))
				for _, in := range infos {
					rc, _, err := cleansed.Get(ctx, in.Key)
					if err != nil {
						b.Fatal(err)
					}
					body, _ := io.ReadAll(rc)
					rc.Close()
					if _, err := curated.Put(ctx, in.Key, body, objectstore.PutOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
