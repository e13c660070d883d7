//go:build noxray

package tracing

import (
	"github.com/aws/aws-sdk-go-v2/aws"
)

// Backend names the tracing backend compiled in: none, so Enabled is always false.
const Backend = "none"

func instrumentAWS(*aws.Config) {}
