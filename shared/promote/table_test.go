package promote_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/zone"
)

// Promotions of different partitions of one dataset run at once and all commit to the one
// table: the commits that lose the race re-plan on the winner's snapshot, and no partition's
// rows are lost.
func TestConcurrentPartitionsCommitToOneTable(t *testing.T) {
	p, cleansed, curated := lake(t)
	ctx := context.Background()
	const hours, perHour = 6, 50
	for h := range hours {
		var rows []customer
		for i := range perHour {
			rows = append(rows, customer{h*perHour + i + 1, i % 60, fmt.Sprintf("h%d", h), ""})
		}
		putCleansedAt(t, cleansed, zone.Partition{Date: part.Date, Hour: h}, "a.parquet", rows...)
	}
	var wg sync.WaitGroup
	errs := make(chan error, hours)
	for h := range hours {
		wg.Go(func() {
			_, err := p.Promote(ctx, "customers", zone.Partition{Date: part.Date, Hour: h})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for h := range hours {
		rows, _ := tableRows(t, curated, "customers", zone.Partition{Date: part.Date, Hour: h})
		if len(rows) != perHour {
			t.Errorf("hour %d: %d curated rows, want %d", h, len(rows), perHour)
		}
		total += len(rows)
	}
	st, err := p.Table("customers").Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.Meta.Snapshots); n != hours {
		t.Errorf("%d snapshots, want one per promotion (%d)", n, hours)
	}
	// The commits that lost the catalog race re-planned on the winner's snapshot: one line of
	// snapshots, each keeping every row of the one before.
	serialHistory(t, p, "customers", true)
	if got := st.Meta.Current().Summary["total-records"]; got != fmt.Sprint(total) {
		t.Errorf("the current snapshot counts %s records, the partitions hold %d", got, total)
	}
}

// A reader polling the table while promotions update keys and compact files never sees a key
// twice, nor part of a promotion: each snapshot holds all of a cleansed file's new keys or none.
func TestReaderSeesWholePromotionsOnly(t *testing.T) {
	p, cleansed, curated := lake(t)
	p.TargetBytes = 24 << 10 // small files, so that promotions rewrite and merge them
	ctx := context.Background()
	const rounds, fresh = 6, 40
	// Round r adds customers r*1000+1.. (new keys) and updates customers 1..20 (existing keys).
	batch := func(r int) []customer {
		var rows []customer
		for i := range fresh {
			rows = append(rows, customer{r*1000 + i + 1, 1, fmt.Sprintf("round %d, a customer with a long name to fill pages %d", r, i), ""})
		}
		for id := 1; id <= 20; id++ {
			rows = append(rows, customer{id, 2 + r, fmt.Sprintf("update %d", r), ""})
		}
		return rows
	}
	var stop atomic.Bool
	var reads atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			rows, _ := tableRows(t, curated, "customers", part)
			seen := map[string]bool{}
			for _, r := range rows {
				id := r["uuid"].(string)
				if seen[id] {
					t.Errorf("a reader saw customer %s twice", id)
					return
				}
				seen[id] = true
			}
			for r := range rounds {
				n := 0
				for i := range fresh {
					if seen[uuidOf(r*1000+i+1)] {
						n++
					}
				}
				if n != 0 && n != fresh {
					t.Errorf("a reader saw %d of round %d's %d new customers: half a promotion", n, r, fresh)
					return
				}
			}
			reads.Add(1)
		}
	}()
	for r := range rounds {
		putCleansed(t, cleansed, fmt.Sprintf("r%02d.parquet", r), batch(r)...)
		if _, err := p.Promote(ctx, "customers", part); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	<-done
	if reads.Load() == 0 {
		t.Fatal("the reader never read the table")
	}
	rows, _ := curatedRows(t, curated)
	if len(rows) != rounds*fresh { // round 0's new keys 1..40 include the updated 1..20
		t.Errorf("%d rows at the end, want %d", len(rows), rounds*fresh)
	}
	for id, r := range byUUID(rows) {
		var n int
		fmt.Sscanf(id, "%08x", &n)
		if n <= 20 && r["name"] != fmt.Sprintf("update %d", rounds-1) {
			t.Errorf("customer %d is %v, want the last update", n, r["name"])
		}
	}
	h, err := p.Table("customers").History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != rounds {
		t.Errorf("%d snapshots for %d promotions, want one each", len(h), rounds)
	}
	serialHistory(t, p, "customers", true)
	for _, s := range h[1:] {
		if s.Operation != iceberg.OpOverwrite {
			t.Errorf("snapshot %d is a %s; a promotion updating keys is an overwrite", s.SnapshotID, s.Operation)
		}
	}
}

// A contract evolved between promotions (a new optional column) becomes the table's new
// schema, field ids kept; the snapshot before it still reads its files, without the column.
func TestEvolvedContractIsANewTableSchema(t *testing.T) {
	p, cleansed, curated := lake(t)
	ctx := context.Background()
	putCleansed(t, cleansed, "a.parquet", customer{1, 1, "one", ""})
	if _, err := p.Promote(ctx, "customers", part); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../../events/customers.avsc")
	if err != nil {
		t.Fatal(err)
	}
	evolved := bytes.Replace(src, []byte(`"fields": [`), []byte(`"fields": [
    {"name": "country", "type": ["null", "string"], "default": null},`), 1)
	next, err := contract.Parse("customers.avsc", evolved)
	if err != nil {
		t.Fatal(err)
	}
	if err := contract.CheckEvolution(p.Contracts["customers"], next); err != nil {
		t.Fatalf("the test's evolution is refused: %v", err)
	}
	p.Contracts = map[string]*contract.Contract{"customers": next}
	putCleansed(t, cleansed, "b.parquet", customer{2, 2, "two", ""})
	if _, err := p.Promote(ctx, "customers", part); err != nil {
		t.Fatal(err)
	}

	st, err := p.Table("customers").Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Meta.Schemas) != 2 || st.Meta.CurrentSchemaID != 1 {
		t.Fatalf("schemas %d, current %d: want the evolved contract as schema 1", len(st.Meta.Schemas), st.Meta.CurrentSchemaID)
	}
	old, cur := &st.Meta.Schemas[0], st.Meta.CurrentSchema()
	for _, f := range old.Fields {
		if nf, ok := cur.Field(f.Name); !ok || nf.ID != f.ID {
			t.Errorf("field %s: id %d before, %d after", f.Name, f.ID, nf.ID)
		}
	}
	if country, ok := cur.Field("country"); !ok || country.ID <= old.Fields[len(old.Fields)-1].ID || country.ID != st.Meta.LastColumnID || country.Required {
		t.Errorf("country %+v (last column id %d): want a new optional field with the next id", country, st.Meta.LastColumnID)
	}
	h := st.Meta.History()
	if len(h) != 2 || *st.Meta.Snapshots[0].SchemaID != 0 || *st.Meta.Snapshots[1].SchemaID != 1 {
		t.Fatalf("history %+v: want a snapshot under each schema", h)
	}
	// The first snapshot's files still read, without the new column; the current ones have it.
	files, err := st.Files(ctx, h[0].SnapshotID)
	if err != nil || len(files) != 1 {
		t.Fatalf("first snapshot files %v %v", files, err)
	}
	key, _ := p.Table("customers").Key(files[0].Path)
	rc, _, err := curated.Get(ctx, key)
	if err != nil {
		t.Fatalf("the first snapshot's file is gone: %v", err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	rows, err := parquetfile.ReadBytes(body)
	if err != nil || len(rows) != 1 {
		t.Fatalf("first snapshot rows %v %v", rows, err)
	}
	if _, ok := rows[0]["country"]; ok {
		t.Errorf("the first snapshot's row has country: %v", rows[0])
	}
	now, _ := curatedRows(t, curated)
	if len(now) != 2 {
		t.Fatalf("current rows %v, want 2", now)
	}
	for _, r := range now {
		if v, ok := r["country"]; !ok || v != nil {
			t.Errorf("current row %v: want a null country", r)
		}
	}
}

// serialHistory checks that the table's snapshots form one line, each made on the one before
// it (sequence numbers 1, 2, 3, … and each parent the previous snapshot): the commits were
// serial, none overwrote a concurrent one. Each snapshot, read back, holds every key once and
// as many rows as its summary says; with grow, it also keeps every key the one before held (no
// promotion lost a row). It returns the number of snapshots.
func serialHistory(t *testing.T, p *promote.Promoter, dataset string, grow bool) int {
	t.Helper()
	ctx := context.Background()
	tbl := p.Table(dataset)
	st, err := tbl.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snaps := st.Meta.Snapshots
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].SequenceNumber < snaps[j].SequenceNumber })
	var prev map[string]bool
	for i, sn := range snaps {
		if sn.SequenceNumber != int64(i+1) {
			t.Errorf("snapshot %d has sequence number %d, want %d: a commit was lost or made twice", sn.SnapshotID, sn.SequenceNumber, i+1)
		}
		if i > 0 && (sn.ParentSnapshotID == nil || *sn.ParentSnapshotID != snaps[i-1].SnapshotID) {
			t.Errorf("snapshot %d (sequence %d) was not made on the one before it (%d): commits were not serial", sn.SnapshotID, sn.SequenceNumber, snaps[i-1].SnapshotID)
		}
		files, err := st.Files(ctx, sn.SnapshotID)
		if err != nil {
			t.Fatal(err)
		}
		keys := map[string]bool{}
		for _, f := range files {
			key, _ := tbl.Key(f.Path)
			rc, _, err := tbl.Store.Get(ctx, key)
			if err != nil {
				t.Fatalf("snapshot %d reads %s: %v", sn.SnapshotID, key, err)
			}
			body, _ := io.ReadAll(rc)
			rc.Close()
			rows, err := parquetfile.ReadBytes(body)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				id := r["uuid"].(string)
				if keys[id] {
					t.Errorf("snapshot %d holds customer %s twice", sn.SnapshotID, id)
				}
				keys[id] = true
			}
		}
		if got := fmt.Sprint(len(keys)); sn.Summary["total-records"] != got {
			t.Errorf("snapshot %d reads %s rows, its summary says %s", sn.SnapshotID, got, sn.Summary["total-records"])
		}
		for id := range prev {
			if grow && !keys[id] {
				t.Errorf("snapshot %d lost customer %s, which the snapshot before held", sn.SnapshotID, id)
			}
		}
		prev = keys
	}
	return len(snaps)
}
