package provenance_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/provenance"
)

// The record survives a round trip through a real S3 server, in metadata when small and in a
// sidecar when not, including keys that are not ASCII.
func TestRoundTripThroughS3(t *testing.T) {
	client, _ := s3test.StartGofakes3(t)
	s := s3store.New(client, s3test.CreateBucket(t, client, "prov"))
	ctx := context.Background()

	small := &provenance.Record{Job: "ingest", Run: "5b6f3c2e-0d6a-4f7e-9a55-0c1f0e3b2a11", Dataset: "user_events",
		Contract: "user_events", ContractVersion: "3", Kind: provenance.Data, Rows: 7,
		Inputs: []provenance.Input{{Stream: "sluice-events", Shard: "shardId-000000000000", First: "4959", Last: "4966", Rows: 7}}}
	big := &provenance.Record{Job: "promote", Dataset: "user_events", Kind: provenance.Data, Rows: 900,
		Dropped: map[string]int64{"duplicate": 100}}
	for i := 0; i < 40; i++ {
		big.Inputs = append(big.Inputs, provenance.Input{Bucket: "cleansed", Key: fmt.Sprintf("user_events/dt=2026-11-23/hr=09/shardId-000000000000-%040d.parquet", i), ETag: `"0123456789abcdef0123456789abcdef"`, Rows: 25})
	}
	unicode := &provenance.Record{Job: "validate", Dataset: "customers", Rows: 1,
		Inputs: []provenance.Input{{Bucket: "raw", Key: "landing/customers/café 😀.csv", Version: "v1", Rows: 1}}}

	for name, rec := range map[string]*provenance.Record{"small": small, "big": big, "unicode": unicode} {
		t.Run(name, func(t *testing.T) {
			key := "user_events/dt=2026-11-23/hr=09/" + name + ".parquet"
			if _, err := provenance.Put(ctx, s, key, []byte("body"), objectstore.PutOptions{ContentType: "application/octet-stream"}, rec); err != nil {
				t.Fatal(err)
			}
			info, err := s.Head(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := provenance.Of(ctx, s, key, info.Metadata)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, rec) {
				t.Fatalf("read back %+v\nwant %+v", got, rec)
			}
			_, sidecar := info.Metadata[provenance.SidecarKeyMeta]
			if sidecar != (name == "big") {
				t.Fatalf("sidecar used = %v for %s; metadata %v", sidecar, name, info.Metadata)
			}
			if info.Metadata["sluice-job"] != rec.Job || info.Metadata["sluice-rows"] != fmt.Sprint(rec.Rows) {
				t.Fatalf("short keys missing: %v", info.Metadata)
			}
			if got.RowsIn() != rec.Rows+rec.Dropped["duplicate"] {
				t.Fatalf("RowsIn %d", got.RowsIn())
			}
		})
	}
}

func TestMetadataIsASCIIAndSmall(t *testing.T) {
	r := &provenance.Record{Job: "validate", Inputs: []provenance.Input{{Bucket: "raw", Key: "landing/x/naïve 😀.json"}}}
	meta, side, err := r.Metadata("k")
	if err != nil || side != nil {
		t.Fatal(err, side)
	}
	total := 0
	for k, v := range meta {
		total += len(k) + len(v)
		for i := 0; i < len(v); i++ {
			if v[i] >= 0x80 {
				t.Fatalf("metadata %s has a non-ASCII byte: %q", k, v)
			}
		}
	}
	if !strings.Contains(meta[provenance.MetadataKey], `\ud83d\ude00`) || total > 2048 {
		t.Fatalf("metadata %v (%d bytes)", meta, total)
	}
}

func TestOfForeignObject(t *testing.T) {
	if _, err := provenance.Of(context.Background(), nil, "k", map[string]string{"other": "x"}); !errors.Is(err, provenance.ErrNone) {
		t.Fatalf("err %v, want ErrNone", err)
	}
	if _, err := provenance.Of(context.Background(), nil, "k", map[string]string{provenance.MetadataKey: "{"}); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("err %v", err)
	}
}

func TestRunInContext(t *testing.T) {
	ctx := provenance.WithRun(context.Background(), "r-1")
	if provenance.RunOf(ctx) != "r-1" || provenance.RunOf(context.Background()) != "" {
		t.Fatal("run not carried")
	}
}
