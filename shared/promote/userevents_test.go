package promote_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

// TestUserEventsKeepEveryColumn promotes clickstream rows with every kind of column (optional
// ones, enums, a map of strings): copies of rows collapse to one, kept columns come through as
// they were, user_id is hashed and ip_address masked.
func TestUserEventsKeepEveryColumn(t *testing.T) {
	p, cleansed, curated := lake(t)
	ctx := context.Background()
	reg, _ := events.Registry()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	g, err := fake.New(reg["user_events"], fake.Options{Seed: 7, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	b := record.NewBatch(reg, record.Options{DefaultDataset: "user_events", Now: func() time.Time { return now }})
	for i := range 30000 { // enough rows that pages end mid-batch of the readers
		if _, rej := b.Add(g.Next().Data, i); rej != nil {
			t.Fatal(rej)
		}
	}
	tab := b.Tables()[0]
	byPart := map[zone.Partition][]int{}
	var best zone.Partition
	for i := range tab.Len() {
		pt := zone.PartitionOf(tab.EventTime(i))
		byPart[pt] = append(byPart[pt], i)
		if len(byPart[pt]) > len(byPart[best]) {
			best = pt
		}
	}
	rows := byPart[best]
	var full bytes.Buffer
	if err := parquetfile.Write(&full, tab, rows, parquetfile.Options{}); err != nil {
		t.Fatal(err)
	}
	var half bytes.Buffer
	if err := parquetfile.Write(&half, tab, rows[:len(rows)/2], parquetfile.Options{}); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"a.parquet": full.Bytes(), "b.parquet": half.Bytes(), "c.parquet": full.Bytes()} {
		if _, err := cleansed.Put(ctx, zone.Key("user_events", best, name), body, objectstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := p.Promote(ctx, "user_events", best)
	if err != nil {
		t.Fatal(err)
	}
	want, err := parquetfile.ReadBytes(full.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsOut != int64(len(want)) || res.RowsIn != int64(2*len(want)+len(want)/2) {
		t.Fatalf("result %+v for %d distinct rows", res, len(want))
	}
	var got []map[string]any
	for _, f := range res.Files {
		rc, _, err := curated.Get(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		buf.ReadFrom(rc)
		rc.Close()
		r, err := parquetfile.ReadBytes(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r...)
	}
	byID := map[string]map[string]any{}
	for _, r := range got {
		byID[r["event_id"].(string)] = r
	}
	if len(byID) != len(want) {
		t.Fatalf("%d distinct curated rows, want %d", len(byID), len(want))
	}
	withProps := 0
	for _, w := range want {
		g := byID[w["event_id"].(string)]
		if g == nil {
			t.Fatalf("row %v is missing", w)
		}
		if g["user_id"] != promote.HashHex(testKey, []byte(w["user_id"].(string))) {
			t.Fatalf("user_id not hashed: %v from %v", g["user_id"], w["user_id"])
		}
		if ip, ok := w["ip_address"].(string); ok && g["ip_address"] != promote.Mask(ip) {
			t.Fatalf("ip_address %v, want %q", g["ip_address"], promote.Mask(ip))
		}
		for k, v := range w {
			if k != "user_id" && k != "ip_address" && !reflect.DeepEqual(g[k], v) {
				t.Fatalf("column %s: curated %#v, cleansed %#v", k, g[k], v)
			}
		}
		if w["properties"] != nil {
			withProps++
		}
	}
	t.Logf("%d distinct rows in the partition", len(want))
	if withProps == 0 {
		t.Fatal("no row had properties: the map column went untested")
	}
}
