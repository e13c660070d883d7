package promote

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/sluicelake/sluice/shared/objectstore"
)

// S3Conditional adds S3's conditional delete to a store, as functions/promote does, so that
// tests release the lock the way the deployed function does.
type S3Conditional struct {
	objectstore.Store
	Client *s3.Client
}

func (s S3Conditional) DeleteIfMatch(ctx context.Context, key, etag string) error {
	_, err := s.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String(key), IfMatch: aws.String(etag)})
	var api smithy.APIError
	var re *awshttp.ResponseError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &api) && api.ErrorCode() == "NoSuchKey":
		return nil
	case errors.As(err, &api) && api.ErrorCode() == "PreconditionFailed",
		errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed:
		return errors.Join(objectstore.ErrPreconditionFailed, err)
	}
	return err
}
