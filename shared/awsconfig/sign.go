package awsconfig

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Signer signs HTTP requests for service in region with SigV4, for the few calls made without
// a service's SDK module: API Gateway with IAM auth (execute-api), and promote's one
// Secrets Manager call, which does not justify linking another client.
func Signer(creds aws.CredentialsProvider, service, region string) func(r *http.Request, body []byte) error {
	signer := v4.NewSigner()
	return func(r *http.Request, body []byte) error {
		if creds == nil {
			return fmt.Errorf("sign a %s request: no AWS credentials configured", service)
		}
		c, err := creds.Retrieve(r.Context())
		if err != nil {
			return fmt.Errorf("sign a %s request: credentials: %w", service, err)
		}
		sum := sha256.Sum256(body)
		return signer.SignHTTP(r.Context(), c, r, hex.EncodeToString(sum[:]), service, region, time.Now())
	}
}
