package duckengine_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/shared/query/querytest"
)

const benchRows, benchDays = 1_000_000, 10

var (
	benchOnce sync.Once
	benchDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchLake writes 1M generated events over 10 days (240 hourly files) once per test binary.
func benchLake(b *testing.B) string {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "duckengine-bench")
		if err != nil {
			b.Fatal(err)
		}
		all := querytest.Generate(benchRows, benchDays)
		// A day at a time keeps the record batch small; days never share a partition.
		perDay := benchRows / benchDays
		for d := 0; d < benchDays; d++ {
			writeLake(b, dir, "cleansed", all[d*perDay:(d+1)*perDay])
		}
		benchDir = dir
	})
	if benchDir == "" {
		b.Fatal("benchmark lake not written")
	}
	return benchDir
}

func benchQuery(b *testing.B, body string, threads int) {
	dir := benchLake(b)
	eng, err := duckengine.Open(duckengine.Options{LakeDir: dir, Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	q := compile(b, compiler(b, eng), body)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		id, err := eng.Start(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if err := eng.Wait(ctx, id); err != nil {
			b.Fatal(err)
		}
		p, err := eng.Results(ctx, id, "", 100)
		if err != nil || len(p.Rows) == 0 {
			st, _ := eng.Status(ctx, id)
			b.Fatalf("%v %+v", err, st)
		}
	}
}

const (
	prunedAggregate = `{"dataset":"user_events","zone":"cleansed","dt":{"from":"2026-11-23","to":"2026-11-23"},"hr":{"from":9,"to":17},
		"group_by":["event_type"],"aggregates":[{"fn":"count"},{"fn":"sum","column":"amount"}],"order_by":[{"column":"event_type"}]}`
	fullScan = `{"dataset":"user_events","zone":"cleansed","where":[{"column":"country","op":"=","value":"DE"}],
		"group_by":["event_type"],"aggregates":[{"fn":"count"},{"fn":"sum","column":"amount"},{"fn":"avg","column":"quantity"}],"order_by":[{"column":"event_type"}]}`
)

// 1M rows, 240 files; the pruned query reads 9 of them.
func BenchmarkPrunedAggregate(b *testing.B)        { benchQuery(b, prunedAggregate, 0) }
func BenchmarkFullScan(b *testing.B)               { benchQuery(b, fullScan, 0) }
func BenchmarkPrunedAggregateOneCore(b *testing.B) { benchQuery(b, prunedAggregate, 1) }
func BenchmarkFullScanOneCore(b *testing.B)        { benchQuery(b, fullScan, 1) }
