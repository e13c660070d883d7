package promote_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/promote"
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

// BenchmarkPromote measures, in MB/s of input read, beside a plain copy of the same cleansed
// objects through the same S3 stand-in (bytecopy):
//
//   - convert: a first promotion of the partition (read, dedupe, PII, encode, write); rows
//     cannot be copied as they are, as the PII policy rewrites them;
//
//   - append: one new cleansed file landing in a partition whose last curated file already holds
//     the others' rows (the steady state): that file's row groups are copied as bytes and the
//     new rows converted; input is the curated file plus the new file;
//
//   - compact: small curated files merged into one by copying their row groups as bytes; input
//     is the small files.
//
//     go test -run XXX -bench BenchmarkPromote -benchtime 20x ./shared/promote
func BenchmarkPromote(b *testing.B) {
	const files, rows = 20, 5000
	ctx := context.Background()
	b.Run(fmt.Sprintf("files=%d/convert", files), func(b *testing.B) {
		p, cleansed, curated := lakeB(b)
		pt, size := benchPartition(b, cleansed, files, rows)
		b.SetBytes(size)
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			emptyCurated(b, curated, pt)
			b.StartTimer()
			if _, err := p.Promote(ctx, "user_events", pt); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("files=%d/append", files), func(b *testing.B) {
		p, cleansed, curated := lakeB(b)
		pt, _ := benchPartition(b, cleansed, files, rows)
		last := zone.Key("user_events", pt, fmt.Sprintf("f%04d.parquet", files-1))
		body := getObject(b, cleansed, last)
		if err := cleansed.Delete(ctx, last); err != nil {
			b.Fatal(err)
		}
		if _, err := p.Promote(ctx, "user_events", pt); err != nil {
			b.Fatal(err)
		}
		saved := saveCurated(b, curated, pt)
		var in int64
		for k, v := range saved {
			if strings.HasSuffix(k, ".parquet") {
				in += int64(len(v))
			}
		}
		b.SetBytes(in + int64(len(body)))
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			restoreCurated(b, curated, pt, saved)
			cleansed.Delete(ctx, last)
			b.StartTimer()
			if _, err := cleansed.Put(ctx, last, body, objectstore.PutOptions{}); err != nil {
				b.Fatal(err)
			}
			res, err := p.Promote(ctx, "user_events", pt)
			if err != nil {
				b.Fatal(err)
			}
			if res.FilesIn != 1 || res.Recomputed {
				b.Fatalf("appended %d files (recomputed %v), want 1", res.FilesIn, res.Recomputed)
			}
		}
	})
	b.Run(fmt.Sprintf("files=%d/compact", files), func(b *testing.B) {
		p, cleansed, curated := lakeB(b)
		pt, _ := benchPartition(b, cleansed, files, rows)
		p.TargetBytes = 1 << 20 // small curated files, to merge
		if _, err := p.Promote(ctx, "user_events", pt); err != nil {
			b.Fatal(err)
		}
		p.TargetBytes = 0
		saved := saveCurated(b, curated, pt)
		var in int64
		for k, v := range saved {
			if strings.HasSuffix(k, ".parquet") {
				in += int64(len(v))
			}
		}
		b.SetBytes(in)
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			restoreCurated(b, curated, pt, saved)
			b.StartTimer()
			res, err := p.Promote(ctx, "user_events", pt)
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Deleted) == 0 || res.Recomputed {
				b.Fatalf("no files merged: %+v", res)
			}
		}
	})
	b.Run(fmt.Sprintf("files=%d/bytecopy", files), func(b *testing.B) {
		_, cleansed, curated := lakeB(b)
		pt, size := benchPartition(b, cleansed, files, rows)
		b.SetBytes(size)
		b.ResetTimer()
		for range b.N {
			infos, _ := cleansed.List(ctx, zone.Prefix("user_events", pt))
			for _, in := range infos {
				if _, err := curated.Put(ctx, in.Key, getObject(b, cleansed, in.Key), objectstore.PutOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

func getObject(b testing.TB, s objectstore.Store, key string) []byte {
	rc, _, err := s.Get(context.Background(), key)
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	body, err := io.ReadAll(rc)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// saveCurated returns the curated table (data files, metadata, catalog pointer) and the
// partition's promotion manifest.
func saveCurated(b testing.TB, s objectstore.Store, pt zone.Partition) map[string][]byte {
	ctx := context.Background()
	out := map[string][]byte{}
	infos, err := s.List(ctx, "user_events/")
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range infos {
		out[in.Key] = getObject(b, s, in.Key)
	}
	mk := promote.ManifestKey("user_events", pt)
	out[mk] = getObject(b, s, mk)
	return out
}

func emptyCurated(b testing.TB, s objectstore.Store, pt zone.Partition) {
	ctx := context.Background()
	infos, err := s.List(ctx, "user_events/")
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range infos {
		s.Delete(ctx, in.Key)
	}
	s.Delete(ctx, promote.ManifestKey("user_events", pt))
}

// restoreCurated puts back what saveCurated saved (the same bytes, so the same ETags).
func restoreCurated(b testing.TB, s objectstore.Store, pt zone.Partition, saved map[string][]byte) {
	emptyCurated(b, s, pt)
	for k, v := range saved {
		if _, err := s.Put(context.Background(), k, v, objectstore.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
