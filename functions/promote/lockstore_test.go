package main

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/promote"
)

// TestConditionalDelete: the lock's store deletes only the object it was given the ETag of.
func TestConditionalDelete(t *testing.T) {
	client, _ := s3test.StartGofakes3(t)
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("curated")}); err != nil {
		t.Fatal(err)
	}
	var s promote.ConditionalDeleter = conditionalDelete{s3store.New(client, "curated"), client}
	store := s.(objectstore.Store)
	old, err := store.Put(ctx, "lock", []byte("mine"), objectstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(ctx, "lock", []byte("someone else's"), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteIfMatch(ctx, "lock", old.ETag); !errors.Is(err, objectstore.ErrPreconditionFailed) {
		t.Fatalf("delete with a stale ETag: %v, want ErrPreconditionFailed", err)
	}
	cur, err := store.Head(ctx, "lock")
	if err != nil {
		t.Fatalf("the other object was deleted: %v", err)
	}
	if err := s.DeleteIfMatch(ctx, "lock", cur.ETag); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Head(ctx, "lock"); !errors.Is(err, objectstore.ErrNotFound) {
		t.Fatalf("not deleted: %v", err)
	}
	if err := s.DeleteIfMatch(ctx, "lock", cur.ETag); err != nil {
		t.Fatalf("deleting a missing key: %v, want nil", err)
	}
}
