package awsconfig_test

import (
	"bytes"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"

	"github.com/sluicelake/sluice/shared/awsconfig"
)

// isolate gives the SDK a clean, local environment: fixed keys and region, no profiles,
// no endpoints and no tracing, whatever the developer's shell holds.
func isolate(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_REGION":                  "eu-west-1",
		"AWS_ACCESS_KEY_ID":           "test-key",
		"AWS_SECRET_ACCESS_KEY":       "test-secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"SLUICE_TRACING":              "off",
		"AWS_XRAY_DAEMON_ADDRESS":     "",
		"_X_AMZN_TRACE_ID":            "",
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"} {
		t.Setenv(k, "") // registers restoration
		os.Unsetenv(k)  // the SDK treats a set-but-empty endpoint variable as set
	}
}

func fakeS3() http.Handler { return gofakes3.New(s3mem.New()).Server() }

// roundTrip proves the client reaches the stand-in: with virtual-hosted addressing the
// request would go to <bucket>.127.0.0.1 and fail.
func roundTrip(t *testing.T, client *s3.Client) {
	t.Helper()
	ctx := t.Context()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("raw")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("raw"), Key: aws.String("k"), Body: bytes.NewReader([]byte("hello")),
	}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("raw"), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	if string(b) != "hello" {
		t.Fatalf("GetObject = %q", b)
	}
}

func TestServiceEndpointFromEnvironment(t *testing.T) {
	isolate(t)
	srv := httptest.NewServer(fakeS3())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)

	cfg, err := awsconfig.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("region %q, want AWS_REGION's eu-west-1", cfg.Region)
	}
	client := awsconfig.NewS3Client(cfg)
	if !client.Options().UsePathStyle {
		t.Error("a custom S3 endpoint did not switch on path-style addressing")
	}
	roundTrip(t, client)
}

func TestGlobalEndpointFromEnvironment(t *testing.T) {
	isolate(t)
	srv := httptest.NewServer(fakeS3())
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)

	cfg, err := awsconfig.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, awsconfig.NewS3Client(cfg))
}

func TestAWSKeepsVirtualHostedAddressing(t *testing.T) {
	isolate(t)
	cfg, err := awsconfig.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if awsconfig.NewS3Client(cfg).Options().UsePathStyle {
		t.Fatal("with no custom endpoint the client must use AWS's virtual-hosted addressing")
	}
	forced := awsconfig.NewS3Client(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if !forced.Options().UsePathStyle {
		t.Fatal("a caller's UsePathStyle was overridden")
	}
}

// AWS_CA_BUNDLE is set on the machines this project runs on. The SDK can only apply it to
// a client it is allowed to rebuild: a plain *http.Client fails to load, Load's works and
// trusts the bundle's CA.
func TestCABundleIsHonoured(t *testing.T) {
	isolate(t)
	srv := httptest.NewTLSServer(fakeS3())
	t.Cleanup(srv.Close)
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(bundle, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)

	if _, err := config.LoadDefaultConfig(t.Context(), config.WithHTTPClient(&http.Client{})); err == nil {
		t.Error("this SDK now loads a plain *http.Client with AWS_CA_BUNDLE set; the reason Load uses a BuildableClient is gone, revisit it")
	}

	cfg, err := awsconfig.Load(t.Context())
	if err != nil {
		t.Fatalf("Load with AWS_CA_BUNDLE set: %v", err)
	}
	// The server's certificate is signed by nothing the system trusts: success means the
	// bundle was applied.
	roundTrip(t, awsconfig.NewS3Client(cfg))
}

func TestLoadErrorSaysWhatToCheck(t *testing.T) {
	isolate(t)
	t.Setenv("AWS_CA_BUNDLE", filepath.Join(t.TempDir(), "missing.pem"))
	_, err := awsconfig.Load(t.Context())
	if err == nil {
		t.Fatal("Load accepted a CA bundle that does not exist")
	}
	if !strings.Contains(err.Error(), "AWS_CA_BUNDLE") {
		t.Fatalf("error %q does not point at the variables to check", err)
	}
}
