package esm_test

import (
	"log/slog"
	"testing"
)

// slogToTest sends the mapping's log to the test's log (shown with -v).
func slogToTest(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
