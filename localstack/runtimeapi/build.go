package runtimeapi

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sluicelake/sluice/infra/bundle"
)

// Build builds the Go main package pkg (an import path, or "." for the test's own) as `make
// build` and the CDK app build a function (bundle.Build), for this machine's architecture. It
// returns the bootstrap's path in a folder the test removes.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	exe := filepath.Join(tb.TempDir(), "bootstrap")
	if err := bundle.Build(context.Background(), "", runtime.GOARCH, exe, pkg); err != nil {
		tb.Fatal(err)
	}
	return exe
}
