//go:build !noxray

package tracing

import (
	"log/slog"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-xray-sdk-go/instrumentation/awsv2"
	"github.com/aws/aws-xray-sdk-go/strategy/ctxmissing"
	"github.com/aws/aws-xray-sdk-go/xray"
	"github.com/aws/aws-xray-sdk-go/xraylog"
)

// Backend names the tracing backend compiled in.
const Backend = "xray"

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

func instrumentAWS(cfg *aws.Config) {
	configure()
	awsv2.AWSV2Instrumentor(&cfg.APIOptions)
}
