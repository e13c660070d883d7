// Package s3localtest starts versitygw (see s3local) for tests. It lives under localstack/, not
// beside the other S3 stand-ins in shared/objectstore/s3store/s3test, because shared packages
// never depend on localstack/.
package s3localtest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/localstack/s3local"
)

// Start runs versitygw over a fresh temporary directory until the test ends and returns the
// server (for Dir and Endpoint) with a client for it. One per test binary at a time: it
// changes the working directory while it runs.
func Start(t testing.TB) (*s3.Client, *s3local.Server) {
	t.Helper()
	srv, err := s3local.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("s3localtest: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("s3localtest: %v", err)
		}
	})
	return srv.Client(), srv
}
