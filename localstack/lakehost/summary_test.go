package lakehost_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/lakehost"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/zone"
)

// The summary counts a curated table's current snapshot, not the replaced files beside it,
// and PrintTables lists its snapshots.
func TestSummaryOfACuratedTable(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	c := reg["customers"]
	bucket := lakehost.Buckets[zone.Curated]
	store := iceberg.DirStore{Dir: filepath.Join(dir, bucket), Name: bucket}
	tbl := iceberg.Dataset(store, nil, "customers")
	s, last, err := iceberg.SchemaOf(c, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := iceberg.NewMetadata(tbl.Location(), s, last, c.Fields[c.EventTime].Name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Create(ctx, m); err != nil {
		t.Fatal(err)
	}
	file := func(name string, rows int64) iceberg.DataFile {
		return iceberg.DataFile{Path: tbl.Path("customers/data/dt=2026-11-23/hr=09/" + name), Partition: map[string]int{"event_date_hour": 1}, Records: rows, Size: 10 * rows}
	}
	for _, ch := range []iceberg.Change{
		{Add: []iceberg.DataFile{file("a.parquet", 3)}, Run: "run-1"},
		{Add: []iceberg.DataFile{file("b.parquet", 5)}, Remove: []string{file("a.parquet", 3).Path}, Run: "run-2"},
	} {
		if _, err := tbl.Commit(ctx, func(context.Context, *iceberg.State) (*iceberg.Change, error) { return &ch, nil }); err != nil {
			t.Fatal(err)
		}
	}
	counts, err := lakehost.Summarize(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 1 || counts[0].Zone != zone.Curated || counts[0].Objects != 1 || counts[0].Rows != 5 {
		t.Fatalf("summary %+v: want curated customers with the current snapshot's 1 file of 5 rows", counts)
	}
	var out strings.Builder
	if err := lakehost.PrintTables(&out, dir); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"curated table customers: 2 snapshots", "append", "overwrite", "+1/-1", "+5/-3", "run-2", "(current)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("PrintTables output lacks %q:\n%s", want, out.String())
		}
	}
}
