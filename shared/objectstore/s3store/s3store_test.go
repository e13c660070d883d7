package s3store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/localstack/s3local/s3localtest"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/objectstore/storetest"
)

// storeFactory gives each subtest of the suite its own empty bucket on one server.
func storeFactory(client *s3.Client) func(t *testing.T) objectstore.Store {
	return func(t *testing.T) objectstore.Store {
		return s3store.New(client, s3test.CreateBucket(t, client, "conformance"))
	}
}

// versionedStoreFactory is storeFactory with S3 versioning on.
func versionedStoreFactory(client *s3.Client) func(t *testing.T) objectstore.Store {
	return func(t *testing.T) objectstore.Store {
		return s3store.New(client, s3test.CreateVersionedBucket(t, client, "versioned"))
	}
}

func TestConformanceGofakes3(t *testing.T) {
	client, _ := s3test.StartGofakes3(t)
	storetest.Run(t, storeFactory(client), storetest.Options{ConditionalWrites: true, ConditionalDeletes: true, NestedKeys: true})
}

func TestConformanceMoto(t *testing.T) {
	client, _ := s3test.StartMoto(t)
	storetest.Run(t, storeFactory(client), storetest.Options{ConditionalWrites: true, ConditionalDeletes: true, NestedKeys: true})
}

func TestConformanceVersityGW(t *testing.T) {
	client, _ := s3localtest.Start(t)
	// Objects are files, so "a" and "a/b" cannot both exist.
	storetest.Run(t, storeFactory(client), storetest.Options{ConditionalWrites: true, ConditionalDeletes: true, NestedKeys: false})
}

func TestConformanceMotoVersioned(t *testing.T) {
	client, _ := s3test.StartMoto(t)
	storetest.Run(t, versionedStoreFactory(client), storetest.Options{ConditionalWrites: true, ConditionalDeletes: true, NestedKeys: true, Versioning: true})
}

func TestConformanceVersityGWVersioned(t *testing.T) {
	client, _ := s3localtest.Start(t)
	storetest.Run(t, versionedStoreFactory(client), storetest.Options{ConditionalWrites: true, ConditionalDeletes: true, NestedKeys: false, Versioning: true})
}

func TestMissingBucketSaysWhatToDo(t *testing.T) {
	client, _ := s3test.StartGofakes3(t)
	s := s3store.New(client, "no-such-bucket")
	_, err := s.Put(t.Context(), "k", []byte("x"), objectstore.PutOptions{})
	if err == nil {
		t.Fatal("Put into a missing bucket succeeded")
	}
	if errors.Is(err, objectstore.ErrNotFound) {
		t.Errorf("a missing bucket must not read as a missing key: %v", err)
	}
	for _, want := range []string{"s3://no-such-bucket/k", "does not exist", "create it"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
