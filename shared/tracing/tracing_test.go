//go:build !noxray

package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/aws-xray-sdk-go/xraylog"
)

const (
	traceRoot   = "1-5759e988-bd862e3fe1be46a994272793"
	traceHeader = "Root=" + traceRoot + ";Parent=53995c3f42cd8ad8;Sampled=1"
)

// clearEnv puts the process in the local shape: no Lambda tracing variables, no switch.
func clearEnv(t *testing.T) {
	for _, k := range []string{EnvSwitch, "_X_AMZN_TRACE_ID", "AWS_XRAY_DAEMON_ADDRESS", "AWS_XRAY_CONTEXT_MISSING"} {
		t.Setenv(k, "")
	}
}

func TestEnabled(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"local", nil, false},
		{"lambda with active tracing", map[string]string{"_X_AMZN_TRACE_ID": traceHeader, "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"}, true},
		{"daemon only", map[string]string{"AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000"}, true},
		{"switched on locally", map[string]string{EnvSwitch: "on"}, true},
		{"switched off in lambda", map[string]string{EnvSwitch: "off", "_X_AMZN_TRACE_ID": traceHeader}, false},
		{"bool spelling", map[string]string{EnvSwitch: "false", "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if got := Enabled(); got != tc.want {
				t.Fatalf("Enabled() = %v, want %v", got, tc.want)
			}
		})
	}
}

// headerServer answers every request with 200 and remembers the trace headers it saw.
type headerServer struct {
	*httptest.Server
	mu      sync.Mutex
	headers []string
}

func newHeaderServer(t *testing.T) *headerServer {
	hs := &headerServer{}
	hs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs.mu.Lock()
		hs.headers = append(hs.headers, r.Header.Get("X-Amzn-Trace-Id"))
		hs.mu.Unlock()
	}))
	t.Cleanup(hs.Close)
	return hs
}

func (hs *headerServer) seen() []string {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return append([]string(nil), hs.headers...)
}

func s3Client(cfg aws.Config, endpoint string) *s3.Client {
	cfg.Region = "us-east-1"
	cfg.Credentials = credentials.NewStaticCredentialsProvider("k", "s", "")
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
	})
}

func TestOffLeavesClientsAndContextsAlone(t *testing.T) {
	clearEnv(t)
	srv := newHeaderServer(t)
	var cfg aws.Config
	InstrumentAWS(&cfg)
	if len(cfg.APIOptions) != 0 {
		t.Fatalf("tracing is off but InstrumentAWS added %d API options", len(cfg.APIOptions))
	}
	client := s3Client(cfg, srv.URL)

	// Even a context carrying Lambda's trace header is not traced when tracing is off.
	ctx := context.WithValue(t.Context(), xray.LambdaTraceHeaderKey, traceHeader)
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("b")}); err != nil {
		t.Errorf("HeadBucket: %v", err)
	}
	for _, h := range srv.seen() {
		if h != "" {
			t.Fatalf("tracing is off but the request carried X-Amzn-Trace-Id %q", h)
		}
	}
	if len(srv.seen()) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(srv.seen()))
	}
}

// captureXRayLog sends the X-Ray SDK's own log to a buffer for the rest of the test.
func captureXRayLog(t *testing.T) *lockedBuffer {
	var b lockedBuffer
	xray.SetLogger(xraylog.NewDefaultLogger(&b, xraylog.LogLevelDebug))
	t.Cleanup(func() { xray.SetLogger(xraylog.NewDefaultLogger(discard{}, xraylog.LogLevelWarn)) })
	return &b
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// listenDaemon stands in for the X-Ray daemon: a UDP socket collecting segment documents.
func listenDaemon(t *testing.T) (addr string, docs <-chan map[string]any) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	out := make(chan map[string]any, 64)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			// Each datagram is a header line and a segment document.
			_, body, ok := bytes.Cut(buf[:n], []byte("\n"))
			if !ok {
				continue
			}
			var doc map[string]any
			if json.Unmarshal(body, &doc) == nil {
				out <- doc
			}
		}
	}()
	return conn.LocalAddr().String(), out
}

func TestOnInLambdaRecordsAWSCalls(t *testing.T) {
	clearEnv(t)
	daemon, docs := listenDaemon(t)
	t.Setenv("_X_AMZN_TRACE_ID", traceHeader)
	t.Setenv("AWS_XRAY_DAEMON_ADDRESS", daemon)
	srv := newHeaderServer(t)

	var cfg aws.Config
	InstrumentAWS(&cfg)
	if len(cfg.APIOptions) == 0 {
		t.Fatal("tracing is on but InstrumentAWS added nothing")
	}
	// configure runs once per process; point it at this test's daemon whatever ran before.
	if err := xray.Configure(xray.Config{DaemonAddr: daemon}); err != nil {
		t.Fatal(err)
	}
	xlog := captureXRayLog(t)
	client := s3Client(cfg, srv.URL)

	// aws-lambda-go puts the invocation's trace header in the handler's context like this.
	ctx := context.WithValue(t.Context(), xray.LambdaTraceHeaderKey, traceHeader)
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("cleansed")}); err != nil {
		t.Fatalf("HeadBucket: %v", err)
	}

	headers := srv.seen()
	if len(headers) != 1 || !strings.Contains(headers[0], "Root="+traceRoot) {
		t.Fatalf("the S3 request did not carry the invocation's trace header: %q", headers)
	}

	want := map[string]bool{"S3": false}
	timeout := time.After(10 * time.Second) // a bound on waiting, not an assertion on speed
	for !want["S3"] {
		select {
		case doc := <-docs:
			if doc["trace_id"] != traceRoot {
				t.Errorf("segment %v has trace_id %v, want %s", doc["name"], doc["trace_id"], traceRoot)
			}
			collect(doc, want)
		case <-timeout:
			t.Fatalf("the daemon did not receive subsegments for %v; X-Ray log:\n%s", want, xlog.String())
		}
	}
	if strings.Contains(xlog.String(), "context missing") {
		t.Errorf("X-Ray reported a missing context:\n%s", xlog.String())
	}
}

// collect marks the names of doc and its nested subsegments as seen.
func collect(doc map[string]any, seen map[string]bool) {
	if name, ok := doc["name"].(string); ok {
		if _, wanted := seen[name]; wanted {
			seen[name] = true
		}
	}
	subs, _ := doc["subsegments"].([]any)
	for _, s := range subs {
		if m, ok := s.(map[string]any); ok {
			collect(m, seen)
		}
	}
}

func TestOnWithoutTracedContextIsQuiet(t *testing.T) {
	clearEnv(t)
	t.Setenv(EnvSwitch, "on")
	srv := newHeaderServer(t)
	var cfg aws.Config
	InstrumentAWS(&cfg)
	xlog := captureXRayLog(t)
	client := s3Client(cfg, srv.URL)

	// An init-time call, or one from a goroutine that lost the handler's context.
	if _, err := client.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String("b")}); err != nil {
		t.Fatalf("HeadBucket without a traced context: %v", err)
	}
	if log := xlog.String(); strings.Contains(log, "context missing") || strings.Contains(log, "cannot be found") {
		t.Fatalf("X-Ray complained about the missing context:\n%s", log)
	}
	if h := srv.seen(); len(h) != 1 || h[0] != "" {
		t.Fatalf("an untraced call carried a trace header: %q", h)
	}
}
