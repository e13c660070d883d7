package iceberg_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/iceberg/catalogtest"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
)

// The local lake's catalog: a pointer object swapped with S3 conditional writes.
func TestStoreCatalogConformance(t *testing.T) {
	catalogtest.Run(t, func(t *testing.T) (iceberg.Catalog, objectstore.Store) {
		client, _ := s3test.StartAtomicGofakes3(t)
		if _, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("curated")}); err != nil {
			t.Fatal(err)
		}
		store := s3store.New(client, "curated")
		return &iceberg.StoreCatalog{Store: store}, store
	})
}

// The catalog over a bucket kept as a directory, as the local query engine reads it.
func TestDirStoreCatalogConformance(t *testing.T) {
	catalogtest.Run(t, func(t *testing.T) (iceberg.Catalog, objectstore.Store) {
		store := iceberg.DirStore{Dir: t.TempDir(), Name: "curated"}
		return &iceberg.StoreCatalog{Store: store}, store
	})
}
