package s3store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
)

// A 403 is an error that names the permission to grant, and never reads as a missing key:
// lineage and validate treat a missing key as done, so taking a refusal for one would lose
// records silently.
func TestAccessDeniedIsForbiddenNotGone(t *testing.T) {
	// Free actions: create two buckets, enable versioning, put two versions, and the three IAM calls.
	admin, endpoint := s3test.StartMotoIAM(t, 8)
	ctx := context.Background()
	bucket := s3test.CreateVersionedBucket(t, admin, "forbidden")
	other := s3test.CreateBucket(t, admin, "elsewhere")
	first, err := s3store.New(admin, bucket).Put(ctx, "dt1/a.parquet", []byte("PAR1 one"), objectstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3store.New(admin, bucket).Put(ctx, "dt1/a.parquet", []byte("PAR1 two"), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var checkIn func(op string, err error, permission, bucket string)
	reader := s3test.IAMUser(t, endpoint, "reader",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+bucket+`/*"}]}`)
	s := s3store.New(reader, bucket)

	// Allowed: the current object.
	if rc, _, err := s.Get(ctx, "dt1/a.parquet"); err != nil {
		t.Fatalf("Get with s3:GetObject: %v", err)
	} else {
		rc.Close()
	}
	if _, err := s.Head(ctx, "dt1/a.parquet"); err != nil {
		t.Fatalf("Head with s3:GetObject: %v", err)
	}
	check := func(op string, err error, permission string) {
		t.Helper()
		checkIn(op, err, permission, bucket)
	}
	checkIn = func(op string, err error, permission, bucket string) {
		t.Helper()
		if !errors.Is(err, objectstore.ErrForbidden) {
			t.Errorf("%s without %s: error %v does not wrap objectstore.ErrForbidden", op, permission, err)
		}
		if errors.Is(err, objectstore.ErrNotFound) {
			t.Errorf("%s: a 403 must not read as a missing key: %v", op, err)
		}
		for _, want := range []string{permission, "s3:ListBucket", "arn:aws:s3:::" + bucket} {
			if err != nil && !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not name %q", op, err, want)
			}
		}
	}
	at := objectstore.ReadOptions{Version: first.Version}
	// (moto authorises a HEAD of a version as s3:GetObject, where AWS wants
	// s3:GetObjectVersion, so only the GET shows it here.)
	rc, _, err := s.GetAt(ctx, "dt1/a.parquet", at)
	if rc != nil {
		rc.Close()
	}
	check("GetAt(version)", err, "s3:GetObjectVersion")
	// A HEAD's 403 has no body and so no error code: the status alone must say it.
	_, err = s3store.New(reader, other).Head(ctx, "dt1/missing.parquet")
	checkIn("Head in a bucket not granted", err, "s3:GetObject", other)
	_, err = s.List(ctx, "dt1/")
	check("List", err, "s3:ListBucket")
	_, err = s.Put(ctx, "dt1/b.parquet", []byte("x"), objectstore.PutOptions{})
	check("Put", err, "s3:PutObject")
	rc, _, err = s.Get(ctx, "dt1/a.parquet")
	if err != nil {
		t.Fatalf("Get with s3:GetObject: %v", err)
	}
	rc.Close()
}
