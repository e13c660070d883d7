package lineage_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/shared/lineage"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/zone"
)

// recorderOver records the lineage of curated (and names cleansed as a zone) into lineage,
// all stores of client.
func recorderOver(client *s3.Client, curated, cleansed, lineageBucket string) *lineage.Recorder {
	return &lineage.Recorder{Store: s3store.New(client, lineageBucket), Zones: map[string]lineage.Zone{
		curated:  {Zone: zone.Curated, Store: s3store.New(client, curated)},
		cleansed: {Zone: zone.Cleansed, Store: s3store.New(client, cleansed)},
	}}
}

func promoted(t *testing.T, s objectstore.Store, key, body, input string, rows int64) objectstore.Info {
	t.Helper()
	info, err := provenance.Put(context.Background(), s, key, []byte(body), objectstore.PutOptions{}, &provenance.Record{
		Job: "promote", Dataset: "customers", Kind: provenance.Data, Rows: rows,
		Inputs: []provenance.Input{{Bucket: "cleansed", Key: input, ETag: `"0123"`, Rows: rows}}})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// Two quick rewrites of a curated file: the event of the first names its version, and its
// record must describe that version (its inputs, rows and ETag), not the newer one that is
// current by the time the event is handled.
func TestRecordReadsTheVersionTheEventNames(t *testing.T) {
	client, _ := s3test.StartMoto(t)
	ctx := context.Background()
	curated := s3test.CreateVersionedBucket(t, client, "curated")
	cleansed := s3test.CreateVersionedBucket(t, client, "cleansed")
	rec := recorderOver(client, curated, cleansed, s3test.CreateVersionedBucket(t, client, "lineage"))
	s := s3store.New(client, curated)
	key := "customers/dt=2026-11-23/hr=09/part-00000.parquet"
	first := promoted(t, s, key, "PAR1 first PAR1", "customers/dt=2026-11-23/hr=09/a.parquet", 3)
	second := promoted(t, s, key, "PAR1 second, longer PAR1", "customers/dt=2026-11-23/hr=09/b.parquet", 5)
	if first.Version == "" || first.Version == second.Version {
		t.Fatalf("versions %q and %q: the bucket does not keep versions", first.Version, second.Version)
	}

	for _, v := range []struct {
		put   objectstore.Info
		input string
		rows  int64
	}{{first, "a.parquet", 3}, {second, "b.parquet", 5}} {
		res, err := rec.Record(ctx, curated, key, objectstore.ReadOptions{Version: v.put.Version})
		if err != nil {
			t.Fatalf("Record(version %s): %v", v.put.Version, err)
		}
		if res.Outcome != lineage.Recorded {
			t.Fatalf("Record(version %s) = %s, want recorded (a duplicate means the record of another version was taken for it)", v.put.Version, res.Outcome)
		}
		row := res.Rows[0]
		if row.OutputVersion != strings.Trim(v.put.ETag, `"`) || !strings.HasSuffix(row.InputName, v.input) || row.OutputRows == nil || *row.OutputRows != v.rows {
			t.Errorf("record of version %s: output version %s, input %s, rows %v; want ETag %s, input %s, %d rows",
				v.put.Version, row.OutputVersion, row.InputName, row.OutputRows, v.put.ETag, v.input, v.rows)
		}
	}
	// The event delivered again stores nothing new.
	if res, err := rec.Record(ctx, curated, key, objectstore.ReadOptions{Version: first.Version}); err != nil || res.Outcome != lineage.Duplicate {
		t.Fatalf("the first version's event again: %v, %v; want a duplicate", res.Outcome, err)
	}
	// A version that no longer exists (here: one of another key) is gone: done, not retried.
	other := promoted(t, s, "customers/dt=2026-11-23/hr=09/part-00001.parquet", "PAR1 x PAR1", "c.parquet", 1)
	if res, err := rec.Record(ctx, curated, key, objectstore.ReadOptions{Version: other.Version}); err != nil || res.Outcome != lineage.Gone {
		t.Fatalf("an event naming a missing version: %v, %v; want gone", res.Outcome, err)
	}
}

// In a bucket without versions the event's ETag tells whether the object read is the one the
// event is about; a rewritten object is superseded (done), not recorded under the old event.
func TestRecordUnversionedChecksTheETag(t *testing.T) {
	client, _ := s3test.StartGofakes3(t)
	ctx := context.Background()
	curated := s3test.CreateBucket(t, client, "curated")
	rec := recorderOver(client, curated, s3test.CreateBucket(t, client, "cleansed"), s3test.CreateBucket(t, client, "lineage"))
	s := s3store.New(client, curated)
	key := "customers/dt=2026-11-23/hr=09/part-00000.parquet"
	first := promoted(t, s, key, "PAR1 first PAR1", "a.parquet", 3)
	second := promoted(t, s, key, "PAR1 second PAR1", "b.parquet", 5)

	res, err := rec.Record(ctx, curated, key, objectstore.ReadOptions{IfMatch: strings.Trim(first.ETag, `"`)})
	if err != nil || res.Outcome != lineage.Superseded {
		t.Fatalf("the first write's event after a rewrite: %v, %v; want superseded", res.Outcome, err)
	}
	all, err := s3store.New(client, rec.Store.Bucket()).List(ctx, "")
	if err != nil || len(all) != 0 {
		t.Fatalf("a superseded object left lineage records %v (%v)", all, err)
	}
	res, err = rec.Record(ctx, curated, key, objectstore.ReadOptions{IfMatch: strings.Trim(second.ETag, `"`)})
	if err != nil || res.Outcome != lineage.Recorded || !strings.HasSuffix(res.Rows[0].InputName, "b.parquet") {
		t.Fatalf("the rewrite's event: %v, %v; want it recorded from b.parquet", res.Outcome, err)
	}
}

// Without a grant S3 answers 403, also for a key that does not exist when s3:ListBucket is
// missing. That must be an error to retry (and to fix), never "gone": gone is not retried,
// so a missing permission would silently lose every record.
func TestRecordForbiddenIsAnErrorNotGone(t *testing.T) {
	// Free actions: two buckets, one object, three IAM calls.
	admin, endpoint := s3test.StartMotoIAM(t, 6)
	ctx := context.Background()
	curated := s3test.CreateBucket(t, admin, "curated")
	lin := s3test.CreateBucket(t, admin, "lineage")
	key := "customers/part-00000.parquet" // no '=' in keys signed for moto IAM users (see s3test.IAMUser)
	if _, err := s3store.New(admin, curated).Put(ctx, key, []byte("PAR1"), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	// The role may write lineage, but was given no read of the curated bucket.
	client := s3test.IAMUser(t, endpoint, "lineage-fn",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::`+lin+`/*"}]}`)
	rec := &lineage.Recorder{Store: s3store.New(client, lin), Zones: map[string]lineage.Zone{curated: {Zone: zone.Curated, Store: s3store.New(client, curated)}}}
	for _, k := range []string{key, "customers/never-written.parquet"} {
		res, err := rec.Record(ctx, curated, k, objectstore.ReadOptions{})
		if err == nil {
			t.Fatalf("Record(%s) without read access = %s, want an error", k, res.Outcome)
		}
		if !errors.Is(err, objectstore.ErrForbidden) || !strings.Contains(err.Error(), "s3:GetObject") {
			t.Errorf("Record(%s): error %q does not say access was denied and which permission to grant", k, err)
		}
	}
}
