package main

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

// conditionalDelete adds S3's conditional delete (DeleteObject with If-Match) to the curated
// store, so that a promotion releases its partition lock only while the lock is still its own
// (promote.ConditionalDeleter). It belongs in s3store once the port grows the operation.
type conditionalDelete struct {
	objectstore.Store
	client *s3.Client
}

func (s conditionalDelete) DeleteIfMatch(ctx context.Context, key, etag string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket()), Key: aws.String(key), IfMatch: aws.String(etag)})
	var api smithy.APIError
	var re *awshttp.ResponseError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &api) && api.ErrorCode() == "NoSuchKey":
		return nil // gone already
	case errors.As(err, &api) && api.ErrorCode() == "PreconditionFailed",
		errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed:
		return errors.Join(objectstore.ErrPreconditionFailed, err)
	}
	return err
}
