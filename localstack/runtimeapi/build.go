package runtimeapi

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Build builds the Go main package pkg (an import path, or "." for the test's own) as `make
// build` builds a function: static, stripped, -tags lambda.norpc, for this machine. It returns the
// bootstrap's path in a folder the test removes.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	exe := filepath.Join(tb.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", exe, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return exe
}
