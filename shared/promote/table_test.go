package promote_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluicelake/sluice/shared/iceberg"
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
	for _, s := range h[1:] {
		if s.Operation != iceberg.OpOverwrite {
			t.Errorf("snapshot %d is a %s; a promotion updating keys is an overwrite", s.SnapshotID, s.Operation)
		}
	}
}
