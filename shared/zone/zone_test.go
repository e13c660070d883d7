package zone_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/zone"
)

func TestPartitionAndKeyRoundTrip(t *testing.T) {
	cases := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 23, 9, 59, 59, 999e6, time.UTC), "user_events/dt=2026-11-23/hr=09/x.parquet"},
		{time.Date(2026, 11, 23, 23, 30, 0, 0, time.FixedZone("", -2*3600)), "user_events/dt=2026-11-24/hr=01/x.parquet"},
		{time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), "user_events/dt=1969-12-31/hr=23/x.parquet"},
	}
	for _, tc := range cases {
		p := zone.PartitionOf(tc.at.UnixMilli())
		key := zone.Key("user_events", p, "x.parquet")
		if key != tc.want {
			t.Errorf("%s: key %s, want %s", tc.at, key, tc.want)
		}
		ds, back, name, err := zone.ParseKey(key)
		if err != nil || ds != "user_events" || back != p || name != "x.parquet" {
			t.Errorf("ParseKey(%s) = %s %v %s %v", key, ds, back, name, err)
		}
	}
}

func TestParseKeyRejectsOtherShapes(t *testing.T) {
	for _, key := range []string{
		"user_events/x.parquet",
		"user_events/dt=2026-13-01/hr=01/x.parquet",
		"user_events/dt=2026-11-23/hr=24/x.parquet",
		"user_events/hr=01/dt=2026-11-23/x.parquet",
		"landing/user_events/dt=2026-11-23/hr=01/x.parquet",
	} {
		if _, _, _, err := zone.ParseKey(key); err == nil {
			t.Errorf("%s: accepted", key)
		}
	}
}

func ExampleKey() {
	at := time.Date(2026, 11, 23, 14, 5, 0, 0, time.UTC)
	fmt.Println(zone.Key("user_events", zone.PartitionOf(at.UnixMilli()), zone.StreamObjectName("shardId-000000000001", "4959", ".parquet")))
	// Output: user_events/dt=2026-11-23/hr=14/shardId-000000000001-4959.parquet
}

func TestParseKeyOfACuratedTableDataFile(t *testing.T) {
	ds, p, name, err := zone.ParseKey("customers/data/dt=2026-11-23/hr=09/part-00000-0123.parquet")
	if err != nil || ds != "customers" || p != (zone.Partition{Date: "2026-11-23", Hour: 9}) || name != "part-00000-0123.parquet" {
		t.Fatalf("ParseKey: %q %v %q %v", ds, p, name, err)
	}
	if _, _, _, err := zone.ParseKey("customers/metadata/dt=2026-11-23/hr=09/x"); err == nil {
		t.Error("a five-part key outside data/ parsed")
	}
}

func TestIsBookkeeping(t *testing.T) {
	for key, want := range map[string]bool{
		"_locks/user_events/dt=2026-11-23/hr=09": true, "_lineage/a.parquet.json": true, "_reports/customers/x.json": true,
		"_unknown/dt=2026-11-23/hr=09/s-1.jsonl.gz": false, "user_events/dt=2026-11-23/hr=09/a.parquet": false, "_unknownish/x": true,
		"customers/metadata/00001-x.metadata.json": true, "customers/metadata/sluice-catalog.json": true,
		"customers/data/dt=2026-11-23/hr=09/part-00000-0123.parquet": false, "metadata/x": false,
	} {
		if got := zone.IsBookkeeping(key); got != want {
			t.Errorf("IsBookkeeping(%q) = %v, want %v", key, got, want)
		}
	}
}
