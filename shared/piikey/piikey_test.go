package piikey

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPIIKeyFromEnvironment(t *testing.T) {
	for v, want := range map[string]string{"00ff10": "\x00\xff\x10", "not hex: a passphrase": "not hex: a passphrase"} {
		got, err := Read(context.Background(), aws.Config{}, envOf(map[string]string{"SLUICE_PII_KEY": v}))
		if err != nil || string(got) != want {
			t.Errorf("SLUICE_PII_KEY=%q: %q %v, want %q", v, got, err, want)
		}
	}
	if got, err := Read(context.Background(), aws.Config{}, envOf(nil)); got != nil || err != nil {
		t.Errorf("no setting: %q %v, want none", got, err)
	}
}

// TestPIIKeyFromSecretsManager reads the key from a secret on moto_server's Secrets Manager.
func TestPIIKeyFromSecretsManager(t *testing.T) {
	_, endpoint := s3test.StartMoto(t)
	ctx := context.Background()
	cfg := aws.Config{Region: "us-east-1", HTTPClient: awshttp.NewBuildableClient(),
		Credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, "")}
	env := envOf(map[string]string{"AWS_ENDPOINT_URL": endpoint})
	var created struct{ ARN string }
	err := secretsManager(cfg, env, "us-east-1").Call(ctx, "CreateSecret", map[string]string{"Name": "sluice/pii-key", "SecretString": "0123456789abcdef"}, &created)
	if err != nil || created.ARN == "" {
		t.Fatalf("CreateSecret: %+v %v", created, err)
	}
	env = envOf(map[string]string{"AWS_ENDPOINT_URL": endpoint, "SLUICE_PII_KEY_SECRET_ARN": created.ARN, "SLUICE_PII_KEY": "ignored"})
	got, err := Read(ctx, cfg, env)
	if err != nil || !bytes.Equal(got, []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}) {
		t.Fatalf("key %x %v", got, err)
	}
	env = envOf(map[string]string{"AWS_ENDPOINT_URL": endpoint, "SLUICE_PII_KEY_SECRET_ARN": created.ARN + "-missing"})
	_, err = Read(ctx, cfg, env)
	var refused *awsconfig.APIError
	if !errors.As(err, &refused) || refused.Type != "ResourceNotFoundException" {
		t.Fatalf("missing secret: %v, want Secrets Manager's ResourceNotFoundException", err)
	}
	// What a reader of the log needs: the call, the status, the service's own words, the grant.
	for _, part := range []string{"GetSecretValue answered " + strconv.Itoa(refused.Status), refused.Message, "secretsmanager:GetSecretValue on it"} {
		if part == "" || !strings.Contains(err.Error(), part) {
			t.Errorf("missing secret: error %q does not say %q", err, part)
		}
	}
}
