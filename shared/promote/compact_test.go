package promote_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/promote"
)

// Compact merges a partition's small files into one replace snapshot holding the same rows,
// without the PII key or the cleansed bucket; it leaves a partition another promotion holds
// to that promotion, and one that differs from its manifest to its next promotion.
func TestCompactAlone(t *testing.T) {
	p, cleansed, curated := lake(t)
	ctx := context.Background()
	var rows []customer
	for i := range 2000 {
		rows = append(rows, customer{i + 1, i % 60, fmt.Sprintf("customer number %d with a longer name", i), ""})
	}
	putCleansed(t, cleansed, "a.parquet", rows...)
	p.TargetBytes = 32 << 10
	if _, err := p.Promote(ctx, "customers", part); err != nil {
		t.Fatal(err)
	}
	before, small := curatedRows(t, curated)
	if len(small) < 3 {
		t.Fatalf("%d files: the test needs several small ones", len(small))
	}
	// The maintenance function has neither the PII key nor the cleansed bucket.
	m := &promote.Promoter{Contracts: p.Contracts, Curated: curated, Lock: promote.LockOptions{Poll: time.Millisecond}}

	putLock(t, curated, time.Now().Add(time.Minute))
	res, err := m.Compact(ctx, "customers", part)
	if err != nil || !res.Deferred {
		t.Fatalf("compact of a held partition: %+v %v; want deferred to the holder", res, err)
	}
	if err := curated.Delete(ctx, promote.LockKey("customers", part)); err != nil {
		t.Fatal(err)
	}

	res, err = m.Compact(ctx, "customers", part)
	if err != nil || res.Deferred || res.Skipped != "" || len(res.Deleted) != len(small) {
		t.Fatalf("compact: %+v %v; want all %d small files replaced", res, err, len(small))
	}
	after, files := curatedRows(t, curated)
	if len(files) != 1 || len(after) != len(before) || len(byUUID(after)) != len(byUUID(before)) {
		t.Fatalf("after compaction %d files, %d rows; want 1 file, %d rows", len(files), len(after), len(before))
	}
	st, err := p.Table("customers").Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if op := st.Meta.Current().Operation(); op != iceberg.OpReplace {
		t.Errorf("compaction committed %s, want replace", op)
	}
	// Promotion goes on from the compacted partition as from its own work.
	putCleansed(t, cleansed, "b.parquet", customer{5000, 1, "new", ""})
	if res, err := p.Promote(ctx, "customers", part); err != nil || res.Recomputed {
		t.Fatalf("promotion after compaction: %+v %v; want incremental", res, err)
	}

	// A partition whose manifest no longer matches is left alone, with the reason.
	if err := curated.Delete(ctx, promote.ManifestKey("customers", part)); err != nil {
		t.Fatal(err)
	}
	res, err = m.Compact(ctx, "customers", part)
	if err != nil || res.Skipped == "" || len(res.Deleted) != 0 {
		t.Fatalf("compact without manifest: %+v %v; want skipped with a reason", res, err)
	}
}
