// Package tracing is the lake's one seam to a tracing backend.
//
// Today the backend is AWS X-Ray (github.com/aws/aws-xray-sdk-go). The X-Ray SDKs are in
// maintenance mode and AWS points to OpenTelemetry, so nothing outside this file may import
// the X-Ray SDK: moving to OpenTelemetry means rewriting this one file behind the same
// three functions.
//
// Tracing is off unless the process runs where a trace can go somewhere: inside Lambda with
// active tracing (the runtime sets _X_AMZN_TRACE_ID and AWS_XRAY_DAEMON_ADDRESS), or when
// SLUICE_TRACING says so. Off means nothing is added to SDK clients, no segment is ever
// looked up, and no "context missing" message is logged, which keeps local runs and tests
// quiet and free of UDP traffic to a daemon that is not there.
package tracing

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-xray-sdk-go/instrumentation/awsv2"
	"github.com/aws/aws-xray-sdk-go/strategy/ctxmissing"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/aws-xray-sdk-go/xraylog"
)

// EnvSwitch forces tracing on or off ("on"/"off", or any value strconv.ParseBool accepts),
// whatever the environment looks like otherwise.
const EnvSwitch = "SLUICE_TRACING"

// Enabled reports whether spans are recorded in this process. It reads the environment on
// every call, so tests can flip it with t.Setenv.
func Enabled() bool {
	if v, ok := os.LookupEnv(EnvSwitch); ok && v != "" {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "on", "yes":
			return true
		case "off", "no":
			return false
		}
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	// Lambda sets both when active tracing is on; either one alone still means a daemon
	// or a trace header is there to receive what we record.
	return os.Getenv("_X_AMZN_TRACE_ID") != "" || os.Getenv("AWS_XRAY_DAEMON_ADDRESS") != ""
}

var configureOnce sync.Once

// configure makes X-Ray tolerate calls made outside a traced request (init-time SDK calls,
// background goroutines): those are simply not traced instead of logging "context missing"
// or panicking. AWS_XRAY_CONTEXT_MISSING, when set, still wins inside the X-Ray SDK; Lambda
// sets it to LOG_ERROR, so there an SDK call made with a context that does not descend from
// the handler's logs one line. Pass the handler's ctx down.
func configure() {
	configureOnce.Do(func() {
		xray.SetLogger(xraylog.NewDefaultLogger(os.Stderr, xraylog.LogLevelWarn))
		cfg := xray.Config{ContextMissingStrategy: ctxmissing.NewDefaultIgnoreErrorStrategy()}
		if addr := os.Getenv("AWS_XRAY_DAEMON_ADDRESS"); addr != "" {
			cfg.DaemonAddr = addr
		}
		if err := xray.Configure(cfg); err != nil {
			// A malformed daemon address must not stop a function: traces are lost, work is not.
			slog.Warn("tracing: X-Ray rejected its configuration; check AWS_XRAY_DAEMON_ADDRESS", "error", err)
		}
	})
}

// InstrumentAWS makes every client built from cfg record a subsegment per AWS call and
// propagate the trace header, when tracing is enabled. Otherwise cfg is left untouched.
func InstrumentAWS(cfg *aws.Config) {
	if cfg == nil || !Enabled() {
		return
	}
	configure()
	awsv2.AWSV2Instrumentor(&cfg.APIOptions)
}

// Subsegment runs fn inside a named span when tracing is enabled and ctx belongs to a traced
// request; otherwise it just runs fn(ctx). fn's error is recorded on the span and returned.
func Subsegment(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	if !Enabled() || !traced(ctx) {
		return fn(ctx)
	}
	configure()
	return xray.Capture(ctx, name, fn)
}

// traced reports whether ctx carries a segment or the trace header aws-lambda-go puts in
// a handler's context, i.e. whether X-Ray has a parent to attach a subsegment to.
func traced(ctx context.Context) bool {
	return xray.GetSegment(ctx) != nil || ctx.Value(xray.LambdaTraceHeaderKey) != nil
}
