package main

import (
	"io"
	"log/slog"
	"reflect"
	"testing"

	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/zone"
)

// TestEventShapes: each shape names its partitions; keys S3 URL-encodes are decoded; objects
// that are not partition files, and the S3 test event, name none.
func TestEventShapes(t *testing.T) {
	h := newHandler(&promote.Promoter{Cleansed: s3store.New(nil, "cleansed")}, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	p9 := partition{"customers", zone.Partition{Date: "2026-11-23", Hour: 9}}
	cases := map[string][]partition{
		eventBridge("cleansed", "customers/dt=2026-11-23/hr=09/a b.parquet"): {p9},
		`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"cleansed"},"object":{"key":"customers/dt%3D2026-11-23/hr%3D09/a+b.parquet"}}},` +
			`{"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"cleansed"},"object":{"key":"customers/dt%3D2026-11-23/hr%3D10/x.parquet"}}}]}`: {p9},
		eventBridge("cleansed", "_reports/customers/x.json"):                 nil,
		eventBridge("cleansed", "customers/loose.parquet"):                   nil,
		`{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"cleansed"}`: nil,
	}
	for ev, want := range cases {
		got, err := h.partitionsOf([]byte(ev))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v %v, want %v", ev, got, err, want)
		}
	}
	for _, bad := range []string{eventBridge("raw", "customers/dt=2026-11-23/hr=09/a.parquet"), `{"hello":"world"}`, `[`} {
		if _, err := h.partitionsOf([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	if got := sorted([]partition{p9, {"a", p9.Partition}, p9}); len(got) != 2 || got[0].Dataset != "a" {
		t.Errorf("sorted and deduplicated: %v", got)
	}
}
