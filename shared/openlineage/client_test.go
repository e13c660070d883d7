package openlineage_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/openlineage"
	"github.com/sluicelake/sluice/shared/openlineage/oltest"
)

// server starts an HTTP server on 127.0.0.1 that answers with h and
// stops when the test ends.
func server(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func client(t *testing.T, cfg openlineage.Config) *openlineage.Client {
	t.Helper()
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Millisecond
	}
	c, err := openlineage.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientRetriesThenDelivers(t *testing.T) {
	var calls atomic.Int32
	var got []byte
	var auth, ctype, path string
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			http.Error(w, "warming up", http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Retry-After", "30") // capped by MaxBackoff
			http.Error(w, "slow down", http.StatusTooManyRequests)
		default:
			got, _ = io.ReadAll(r.Body)
			auth, ctype, path = r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.URL.Path
			w.WriteHeader(http.StatusCreated)
		}
	})
	c := client(t, openlineage.Config{BaseURL: s.URL + "/", APIKey: "k3y", MaxAttempts: 3, MaxBackoff: 5 * time.Millisecond})
	if err := c.Emit(context.Background(), fullEvent()); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if path != openlineage.LineagePath || auth != "Bearer k3y" || ctype != "application/json" {
		t.Errorf("path %q auth %q content type %q", path, auth, ctype)
	}
	oltest.Validate(t, got)
}

func TestClientDoesNotRetryA400AndQuotesTheBody(t *testing.T) {
	var calls atomic.Int32
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, `{"errors":["job.name must not be blank"]}`+strings.Repeat(".", 2000), http.StatusBadRequest)
	})
	c := client(t, openlineage.Config{URL: s.URL + "/custom/lineage", MaxAttempts: 5})
	err := c.Emit(context.Background(), fullEvent())
	var he *openlineage.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v, want *HTTPError", err)
	}
	if he.StatusCode != 400 || he.Attempts != 1 || calls.Load() != 1 {
		t.Errorf("status %d after %d attempt(s), %d request(s); want 400 after 1", he.StatusCode, he.Attempts, calls.Load())
	}
	if !strings.Contains(err.Error(), "job.name must not be blank") || !strings.Contains(err.Error(), "/custom/lineage") {
		t.Errorf("error does not quote the body and endpoint: %v", err)
	}
	if len(he.Body) > 600 {
		t.Errorf("body not clipped: %d bytes", len(he.Body))
	}
}

func TestClientGivesUpAfterMaxAttemptsOf5xx(t *testing.T) {
	var calls atomic.Int32
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "down", http.StatusBadGateway)
	})
	c := client(t, openlineage.Config{BaseURL: s.URL, MaxAttempts: 3})
	err := c.EmitJSON(context.Background(), marshal(t, fullEvent()))
	var he *openlineage.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 502 || he.Attempts != 3 || calls.Load() != 3 {
		t.Fatalf("err = %v after %d requests, want 502 after 3", err, calls.Load())
	}
}

func TestClientTimesOutEachAttempt(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before s.Close
	c := client(t, openlineage.Config{BaseURL: s.URL, Timeout: 20 * time.Millisecond, MaxAttempts: 2})
	err := c.Emit(context.Background(), fullEvent())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline exceeded", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d attempts, want 2 (timeouts are retried)", n)
	}
}

func TestClientRefusesAnInvalidEventWithoutSending(t *testing.T) {
	var calls atomic.Int32
	s := server(t, func(w http.ResponseWriter, r *http.Request) { calls.Add(1) })
	c := client(t, openlineage.Config{BaseURL: s.URL})
	ev := fullEvent()
	ev.Run.RunID = ""
	if err := c.Emit(context.Background(), ev); err == nil || calls.Load() != 0 {
		t.Fatalf("err = %v, %d requests; want an error and none sent", err, calls.Load())
	}
}

func TestNewClientNeedsAnEndpoint(t *testing.T) {
	if _, err := openlineage.NewClient(openlineage.Config{}); err == nil {
		t.Error("no endpoint accepted")
	}
	if _, err := openlineage.NewClient(openlineage.Config{BaseURL: "marquez:5000"}); err == nil {
		t.Error("endpoint without scheme accepted")
	}
	c, err := openlineage.NewClient(openlineage.Config{BaseURL: "http://marquez:5000/"})
	if err != nil || c.Endpoint() != "http://marquez:5000/api/v1/lineage" {
		t.Errorf("endpoint %q, err %v", c.Endpoint(), err)
	}
}
