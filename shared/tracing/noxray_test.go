//go:build noxray

package tracing

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestWithoutBackendNothingIsTraced(t *testing.T) {
	t.Setenv(EnvSwitch, "on")
	t.Setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
	if Enabled() {
		t.Fatal("Enabled() is true in a binary built without a tracing backend")
	}
	var cfg aws.Config
	InstrumentAWS(&cfg)
	if len(cfg.APIOptions) != 0 {
		t.Fatalf("InstrumentAWS added %d API options without a backend", len(cfg.APIOptions))
	}
}
