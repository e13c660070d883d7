package runtimeapi_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sluicelake/sluice/localstack/runtimeapi"
)

// BenchmarkColdStart measures start to ready of a trivial bootstrap: process start until its
// first request for an event (reported as init-ms), and the whole Start+Close cycle (ns/op).
func BenchmarkColdStart(b *testing.B) {
	var init float64
	for b.Loop() {
		fn, err := runtimeapi.Start(context.Background(), runtimeapi.Config{Name: "echo", Binary: filepath.Join(handlers, "echo")})
		if err != nil {
			b.Fatal(err)
		}
		init += float64(fn.InitDuration().Microseconds()) / 1000
		fn.Close()
	}
	b.ReportMetric(init/float64(b.N), "init-ms")
}

// BenchmarkWarmInvoke measures one round trip through the Runtime API to a warm process.
func BenchmarkWarmInvoke(b *testing.B) {
	fn, err := runtimeapi.Start(context.Background(), runtimeapi.Config{Name: "echo", Binary: filepath.Join(handlers, "echo")})
	if err != nil {
		b.Fatal(err)
	}
	defer fn.Close()
	for b.Loop() {
		if _, err := fn.Invoke(context.Background(), []byte(`{"a":1}`)); err != nil {
			b.Fatal(err)
		}
	}
}
