package kinesislocal

import (
	"context"
	"os"
	"testing"
)

// ForTest starts kinesis-local for one test and stops it when the test ends. Its output goes
// to stderr under `go test -v`, and is discarded otherwise.
func ForTest(tb testing.TB) *Server {
	tb.Helper()
	opts := Options{}
	if testing.Verbose() {
		opts.Stderr = os.Stderr
	}
	s, err := Start(context.Background(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
