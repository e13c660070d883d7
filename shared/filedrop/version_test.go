package filedrop_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/filedrop"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
)

// A drop rewritten before its first event is handled: on the versioned raw bucket each event
// names its version, and validation reads that version, through every read path (a text file
// streamed, a Parquet file read by ranges).
func TestValidateReadsTheVersionTheEventNames(t *testing.T) {
	client, _ := s3test.StartMoto(t)
	ctx := context.Background()
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	raw := s3store.New(client, s3test.CreateVersionedBucket(t, client, "raw"))
	v := &filedrop.Validator{Contracts: reg, Raw: raw, ChunkRows: 400,
		Cleansed:   s3store.New(client, s3test.CreateBucket(t, client, "cleansed")),
		Quarantine: s3store.New(client, s3test.CreateBucket(t, client, "quarantine"))}
	for _, tc := range []struct {
		key           string
		first, second []byte
		rows          int64
	}{
		{"landing/customers/2026/11/23/batch.csv", []byte(customers(3)), []byte(customers(5)), 3},
		{"landing/user_events/2026/11/23/batch.parquet", parquetOf(t, reg, generate(t, "user_events", 30, 0)),
			parquetOf(t, reg, generate(t, "user_events", 50, 0)), 30},
	} {
		first, err := raw.Put(ctx, tc.key, tc.first, objectstore.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Put(ctx, tc.key, tc.second, objectstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		rep, err := v.Validate(ctx, tc.key, first.Version)
		if err != nil {
			t.Fatalf("%s: %v", tc.key, err)
		}
		if rep.RowsIn != tc.rows || rep.ETag != first.ETag || rep.Bytes != int64(len(tc.first)) {
			t.Errorf("%s at its first version: %d rows, ETag %s, %d bytes; want %d rows, ETag %s, %d bytes (the version the event names)",
				tc.key, rep.RowsIn, rep.ETag, rep.Bytes, tc.rows, first.ETag, len(tc.first))
		}
	}
}

// A refused read is an error for the handler to retry, never "gone", which it skips.
func TestValidateForbiddenIsNotGone(t *testing.T) {
	// Free actions: three buckets, one object, three IAM calls.
	admin, endpoint := s3test.StartMotoIAM(t, 7)
	ctx := context.Background()
	reg, _ := events.Registry()
	rawBucket := s3test.CreateBucket(t, admin, "raw")
	cleansed, quarantined := s3test.CreateBucket(t, admin, "cleansed"), s3test.CreateBucket(t, admin, "quarantine")
	key := "landing/customers/batch.csv" // no '=' in keys signed for moto IAM users (see s3test.IAMUser)
	if _, err := s3store.New(admin, rawBucket).Put(ctx, key, []byte(customers(3)), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	client := s3test.IAMUser(t, endpoint, "validate-fn",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::`+cleansed+`/*"}]}`)
	v := &filedrop.Validator{Contracts: reg, Raw: s3store.New(client, rawBucket), Cleansed: s3store.New(client, cleansed), Quarantine: s3store.New(client, quarantined)}
	for _, k := range []string{key, "landing/customers/never-written.csv"} {
		_, err := v.Validate(ctx, k, "")
		if !errors.Is(err, objectstore.ErrForbidden) || errors.Is(err, objectstore.ErrNotFound) || !strings.Contains(err.Error(), "s3:GetObject") {
			t.Errorf("Validate(%s) without read access: error %v, want access denied naming s3:GetObject, and not a missing key", k, err)
		}
	}
}
