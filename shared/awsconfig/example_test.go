package awsconfig_test

import (
	"context"
	"log"

	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
)

// A function's main.go builds its clients once, at init. With AWS_ENDPOINT_URL_S3 set
// (locally) the client talks path-style to the stand-in; unset, to S3.
func Example() {
	ctx := context.Background()
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		log.Fatal(err)
	}
	cleansed := s3store.New(awsconfig.NewS3Client(cfg), "sluice-cleansed")
	_ = cleansed
}
