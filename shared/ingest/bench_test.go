package ingest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/ingest"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/record"
)

// clickstream returns n realistic records: nine in ten user_events (~450 bytes each, like the
// producer's), one in ten customers exactly as the reference producer writes them (no _dataset,
// a naive timestamp with microseconds, an integer phone coerced to a string), so the benchmark
// pays for the default dataset, the zone and the coercion.
func clickstream(n int) []ingest.Record {
	first := []string{"Alicia", "Jose", "David", "Kathleen", "Samuel"}
	last := []string{"Olson", "Saunders", "Vega", "Davis", "Jones"}
	statuses := []string{"Active", "Inactive", "Canceled"}
	rng := rand.New(rand.NewPCG(1, 2))
	types := []string{"page_view", "click", "search", "add_to_cart", "purchase"}
	devices := []string{"desktop", "mobile", "tablet"}
	recs := make([]ingest.Record, n)
	for i := range recs {
		ts := now.Add(-time.Duration(rng.IntN(3*3600*1000)) * time.Millisecond)
		if i%10 == 9 {
			// Python's json.dumps layout, key order and separators included.
			data := fmt.Appendf(nil, `{"uuid": "%08x-%04x-4%03x-8%03x-%012x", "event_date": "%s", "status": "%s", "name": "%s", "last_name": "%s", "email": "%s%d@example.com", "phone": %d}`,
				rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Int64N(1<<48),
				ts.Add(time.Duration(rng.IntN(1000))*time.Microsecond).Format("2006-01-02T15:04:05.000000"),
				statuses[rng.IntN(3)], first[rng.IntN(5)], last[rng.IntN(5)], strings.ToLower(first[rng.IntN(5)]), 1+rng.IntN(99),
				900000000+rng.IntN(100000000))
			recs[i] = ingest.Record{Data: data, Stream: "events", Shard: "shardId-000000000000",
				Sequence: fmt.Sprintf("4959%020d", i), Arrival: now}
			continue
		}
		ev := map[string]any{
			"_dataset":   "user_events",
			"event_id":   fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Int64N(1<<48)),
			"user_id":    fmt.Sprintf("u_%d", rng.IntN(100000)),
			"session_id": fmt.Sprintf("s_%016x", rng.Uint64()),
			"event_type": types[rng.IntN(len(types))],
			"timestamp":  ts.Format(time.RFC3339Nano),
			"page":       fmt.Sprintf("/catalog/category-%d/product-%d?ref=home&variant=%d", rng.IntN(50), rng.IntN(5000), rng.IntN(9)),
			"referrer":   fmt.Sprintf("https://www.example-search.com/search?q=product+%d&page=%d", rng.IntN(5000), rng.IntN(5)),
			"device":     devices[rng.IntN(len(devices))],
			"country":    []string{"DE", "FR", "US", "GB", "ES"}[rng.IntN(5)],
			"ip_address": fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256)),
			"is_bot":     rng.IntN(50) == 0,
			"properties": map[string]string{"campaign": fmt.Sprintf("winter-%d", rng.IntN(20)), "ab_bucket": fmt.Sprint(rng.IntN(4)), "app_version": "5.12.3"},
		}
		if ev["event_type"] == "purchase" {
			ev["amount"] = float64(rng.IntN(50000)) / 100
			ev["currency"] = "EUR"
			ev["quantity"] = 1 + rng.IntN(4)
		}
		data, _ := json.Marshal(ev)
		recs[i] = ingest.Record{Data: data, Stream: "events", Shard: "shardId-000000000000",
			Sequence: fmt.Sprintf("4959%020d", i), Arrival: now}
	}
	return recs
}

// discard is a store that keeps nothing but a count of bytes: the benchmark measures CPU, not
// the network.
type discard struct{ written *atomic.Int64 }

func (discard) Bucket() string { return "discard" }
func (d discard) Put(_ context.Context, key string, body []byte, _ objectstore.PutOptions) (objectstore.Info, error) {
	if d.written != nil {
		d.written.Add(int64(len(body)))
	}
	return objectstore.Info{Key: key, Size: int64(len(body))}, nil
}
func (discard) Get(context.Context, string) (io.ReadCloser, objectstore.Info, error) {
	return nil, objectstore.Info{}, objectstore.ErrNotFound
}
func (discard) GetRange(context.Context, string, int64, int64) ([]byte, error) {
	return nil, objectstore.ErrNotFound
}
func (discard) Head(context.Context, string) (objectstore.Info, error) {
	return objectstore.Info{}, objectstore.ErrNotFound
}
func (discard) List(context.Context, string) ([]objectstore.Info, error) { return nil, nil }
func (discard) Delete(context.Context, string) error                     { return nil }

func batchBytes(recs []ingest.Record) int64 {
	var n int64
	for _, r := range recs {
		n += int64(len(r.Data))
	}
	return n
}

// BenchmarkIngest: a 10,000-record batch (~4.3 MB; see clickstream). MB/s is of JSON input, one core
// (run with -cpu 1). Baselines in the same run: encoding/json into maps (what a generic decoder
// costs) and sluice's own decode+validate without Parquet.
func BenchmarkIngest(b *testing.B) {
	recs := clickstream(10_000)
	size := batchBytes(recs)
	reg, err := events.Registry()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("batch: %d records, %.2f MB", len(recs), float64(size)/1e6)

	b.Run("baseline=encoding-json-decode", func(b *testing.B) {
		b.SetBytes(size)
		defer cpuRate(b, size)()
		for b.Loop() {
			for _, r := range recs {
				var m map[string]any
				if err := json.Unmarshal(r.Data, &m); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("decode+validate", func(b *testing.B) {
		b.SetBytes(size)
		defer cpuRate(b, size)()
		for b.Loop() {
			batch := record.NewBatch(reg, record.Options{DefaultDataset: "customers", Now: func() time.Time { return now }})
			batch.Reserve(len(recs))
			for i, r := range recs {
				if _, rej := batch.Add(r.Data, i); rej != nil {
					b.Fatal(rej)
				}
			}
		}
	})
	b.Run("decode+validate+partition+zstd-parquet", func(b *testing.B) {
		var written atomic.Int64
		p := &ingest.Processor{Contracts: reg, Cleansed: discard{&written}, Quarantine: discard{}, Concurrency: 1,
			Options: record.Options{DefaultDataset: "customers", Now: func() time.Time { return now }}}
		b.SetBytes(size)
		defer cpuRate(b, size)()
		for b.Loop() {
			written.Store(0)
			res, err := p.Process(context.Background(), recs)
			if err != nil || res.Written != len(recs) {
				b.Fatalf("%v %+v", err, res.Reasons)
			}
		}
		b.ReportMetric(float64(size)/float64(written.Load()), "json/parquet")
	})
}

// cpuRate reports MB of input per second of this process's CPU time (user + system, GC
// included). Wall-clock MB/s swings with whatever else the machine runs; CPU time does not, so
// this is the steadier "per core" figure. Call it before the loop and defer what it returns.
func cpuRate(b *testing.B, size int64) func() {
	start := cpuTime()
	return func() {
		if used := cpuTime() - start; used > 0 {
			b.ReportMetric(float64(size)*float64(b.N)/used.Seconds()/1e6, "MB/cpu-s")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIngestPeakHeap processes a full 6 MB batch and reports the Go heap's high-water
// mark (the function's RSS is measured on the built binary by the integration test).
func BenchmarkIngestPeakHeap(b *testing.B) {
	recs := clickstream(10_000)
	for batchBytes(recs) < 6<<20 { // 6 MiB, the event source mapping's maximum payload
		recs = append(recs, clickstream(1000)...)
	}
	for i := range recs {
		recs[i].Sequence = fmt.Sprintf("4959%020d", i)
	}
	reg, _ := events.Registry()
	p := &ingest.Processor{Contracts: reg, Cleansed: discard{}, Quarantine: discard{},
		Options: record.Options{DefaultDataset: "customers", Now: func() time.Time { return now }}}
	var peak uint64
	for b.Loop() {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		done := make(chan struct{})
		go func() {
			var ms runtime.MemStats
			for {
				select {
				case <-done:
					return
				default:
				}
				runtime.ReadMemStats(&ms)
				if d := ms.HeapInuse; d > peak {
					peak = d
				}
				time.Sleep(time.Millisecond)
			}
		}()
		if _, err := p.Process(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
		close(done)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(batchBytes(recs))/(1<<20), "batch-MB")
}
