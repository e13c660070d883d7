// Package piikey reads the key that PII fields whose contract policy is hash are keyed with:
// promote hashes with it, and erasure hashes a key value with it to find its curated rows.
package piikey

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/envvar"
)

// Read reads the key that hashed PII fields are keyed with: from the Secrets Manager secret
// named by SLUICE_PII_KEY_SECRET_ARN (on AWS), else from SLUICE_PII_KEY (locally). A value
// that is valid hex is decoded; any other value is used as its bytes. Neither set is nil.
func Read(ctx context.Context, cfg aws.Config, getenv func(string) string) ([]byte, error) {
	if arn := getenv(envvar.PIIKeySecretARN); arn != "" {
		v, err := getSecret(ctx, cfg, getenv, arn)
		if err != nil {
			return nil, err
		}
		return Decode(v), nil
	}
	if v := getenv(envvar.PIIKey); v != "" {
		return Decode([]byte(v)), nil
	}
	return nil, nil
}

// Decode takes a key as stored: valid hex is decoded, any other value is used as its bytes.
func Decode(v []byte) []byte {
	s := strings.TrimSpace(string(v))
	if b, err := hex.DecodeString(s); err == nil && len(b) > 0 {
		return b
	}
	return v
}

// getSecret reads a secret's value with Secrets Manager's GetSecretValue.
func getSecret(ctx context.Context, cfg aws.Config, getenv func(string) string, arn string) ([]byte, error) {
	region := cfg.Region
	if parts := strings.Split(arn, ":"); len(parts) > 3 && parts[0] == "arn" && parts[3] != "" {
		region = parts[3]
	}
	var out struct {
		SecretString *string
		SecretBinary []byte // base64 in JSON
	}
	err := secretsManager(cfg, getenv, region).Call(ctx, "GetSecretValue", map[string]string{"SecretId": arn}, &out)
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w (the function's role needs secretsmanager:GetSecretValue on it, and kms:Decrypt on its key)", arn, err)
	}
	switch {
	case out.SecretString != nil && *out.SecretString != "":
		return []byte(*out.SecretString), nil
	case len(out.SecretBinary) > 0:
		return out.SecretBinary, nil
	}
	return nil, fmt.Errorf("secret %s is empty: store the PII key in it", arn)
}

// secretsManager is Secrets Manager's JSON API in region, called by hand so that the
// function does not link another SDK module for the one call it needs.
func secretsManager(cfg aws.Config, getenv func(string) string, region string) *awsconfig.JSONClient {
	return &awsconfig.JSONClient{
		Service:      "Secrets Manager",
		Endpoint:     awsconfig.ServiceEndpoint(getenv, "SECRETS_MANAGER", "secretsmanager", region),
		TargetPrefix: "secretsmanager",
		Sign:         awsconfig.Signer(cfg.Credentials, "secretsmanager", region),
		HTTP:         cfg.HTTPClient,
	}
}
