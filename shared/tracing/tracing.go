// Package tracing is the lake's one seam to a tracing backend.
//
// Today the backend is AWS X-Ray (github.com/aws/aws-xray-sdk-go), in xray.go. The X-Ray
// SDKs are in maintenance mode and AWS points to OpenTelemetry, so nothing outside xray.go
// may import the X-Ray SDK: moving to OpenTelemetry means replacing that one file with one
// that provides the same unexported function, instrumentAWS.
//
// The X-Ray SDK drags in the v1 AWS SDK, gRPC and fasthttp: about 19 MB of a stripped
// binary. Building with -tags noxray swaps in noxray.go, which records nothing, for
// binaries that must stay small.
//
// Tracing is off unless the process runs where a trace can go somewhere: inside Lambda
// (which sets _X_AMZN_TRACE_ID and AWS_XRAY_DAEMON_ADDRESS), or when SLUICE_TRACING says
// so. Off means nothing is added to SDK clients, no segment is ever looked up, and no
// "context missing" message is logged, which keeps local runs and tests quiet and free of
// UDP traffic to a daemon that is not there.
package tracing

import (
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sluicelake/sluice/shared/envvar"
)

// EnvSwitch forces tracing on or off ("on"/"off", or any value strconv.ParseBool accepts),
// whatever the environment looks like otherwise.
const EnvSwitch = envvar.Tracing

// Enabled reports whether spans are recorded in this process. It reads the environment on
// every call, so tests can flip it with t.Setenv. It is always false in a binary built
// without a backend.
func Enabled() bool {
	if Backend == "none" {
		return false
	}
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
	// Lambda sets both; either one alone still means a daemon or a trace header is there to
	// receive what we record. Without active tracing Lambda's header says Sampled=0, and
	// nothing is sent.
	return os.Getenv("_X_AMZN_TRACE_ID") != "" || os.Getenv("AWS_XRAY_DAEMON_ADDRESS") != ""
}

// InstrumentAWS makes every client built from cfg record a span per AWS call and propagate
// the trace header, when tracing is enabled. Otherwise cfg is left untouched.
func InstrumentAWS(cfg *aws.Config) {
	if cfg == nil || !Enabled() {
		return
	}
	instrumentAWS(cfg)
}
