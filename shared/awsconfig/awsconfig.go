// Package awsconfig builds the one aws.Config every function uses.
//
// It loads the SDK's standard chain unchanged, so AWS_REGION, AWS_ENDPOINT_URL,
// AWS_ENDPOINT_URL_<SERVICE>, profiles and credentials work as the SDK documents them: the
// same binary talks to AWS, to LocalStack, or to a local stand-in depending on the
// environment alone.
package awsconfig

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Load returns the SDK configuration from the standard chain, with an HTTP client the SDK
// can still adjust. It does not trace: callers that want X-Ray subsegments apply
// tracing.InstrumentAWS, so that a function without tracing links no X-Ray SDK. opts are
// applied after ours, so callers may override anything (region, credentials, endpoint).
func Load(ctx context.Context, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	// The SDK applies AWS_CA_BUNDLE by reconfiguring the client's transport, which it can
	// only do for a BuildableClient; a plain *http.Client makes loading fail when the
	// variable is set.
	all := make([]func(*config.LoadOptions) error, 0, len(opts)+1)
	all = append(all, config.WithHTTPClient(awshttp.NewBuildableClient()))
	all = append(all, opts...)
	cfg, err := config.LoadDefaultConfig(ctx, all...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("awsconfig: load the AWS SDK configuration (check AWS_REGION, AWS_PROFILE, AWS_CA_BUNDLE and the credentials in the environment): %w", err)
	}
	return cfg, nil
}

// NewS3Client builds an S3 client from cfg. When an endpoint other than AWS's is configured
// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3, or BaseEndpoint) it uses path-style addressing,
// because stand-ins on 127.0.0.1 cannot serve <bucket>.127.0.0.1 host names. optFns run
// before that decision, so an endpoint set there counts too; UsePathStyle set by a caller
// stays set.
func NewS3Client(cfg aws.Config, optFns ...func(*s3.Options)) *s3.Client {
	fns := make([]func(*s3.Options), 0, len(optFns)+2)
	fns = append(fns, func(o *s3.Options) {
		// Objects written without checksums (by stand-ins, or by tools that skip them) would
		// otherwise print an unstructured line to stderr on every GetObject.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	fns = append(fns, optFns...)
	fns = append(fns, func(o *s3.Options) {
		// By the time option functions run, NewFromConfig has resolved the global and the
		// S3-specific endpoint variables into BaseEndpoint.
		if o.BaseEndpoint != nil && *o.BaseEndpoint != "" {
			o.UsePathStyle = true
		}
	})
	return s3.NewFromConfig(cfg, fns...)
}
