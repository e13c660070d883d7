package promote_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/promote"
)

// gatedRelease runs its gate when the holder releases the lock, before the lock is gone: the
// last moment a waiter can find it held.
type gatedRelease struct {
	objectstore.Store
	g *gate
}

func (s gatedRelease) DeleteIfMatch(ctx context.Context, key, etag string) error {
	if key == promote.LockKey("customers", part) {
		s.g.pass()
	}
	return s.Store.(objectstore.ConditionalDeleter).DeleteIfMatch(ctx, key, etag)
}

// A promotion triggered by a new file while another holds the partition returns at once,
// successfully, and the holder promotes the file: staged at both ends of the holder's run,
// just after it listed the partition (the file is not in its listing) and just before it
// releases the lock (the latest a waiter can find it held).
func TestWaiterDefersToTheHolderWhichPromotesItsFile(t *testing.T) {
	for _, when := range []string{"after the holder listed", "as the holder releases"} {
		t.Run(when, func(t *testing.T) {
			base, cleansed, curated := lake(t)
			// A waiter that waited would fail at once: it must not wait.
			base.Lock = promote.LockOptions{Poll: time.Millisecond, MaxWait: time.Nanosecond}
			ctx := context.Background()
			putCleansed(t, cleansed, "a.parquet", customer{1, 1, "a", ""})

			var waiter promote.Result
			var waiterErr error
			arrive := &gate{fn: func() {
				putCleansed(t, cleansed, "b.parquet", customer{2, 1, "b", ""})
				w := *base
				waiter, waiterErr = w.PromoteOrDefer(ctx, "customers", part)
			}}
			holder := *base
			if when == "after the holder listed" {
				holder.Cleansed = gatedReads{cleansed, arrive}
			} else {
				holder.Curated = gatedRelease{curated, arrive}
			}
			res, err := holder.Promote(ctx, "customers", part)
			if err != nil {
				t.Fatal(err)
			}
			if waiterErr != nil || !waiter.Deferred {
				t.Fatalf("the waiter: %+v, %v; want deferred to the holder, no error", waiter, waiterErr)
			}
			rows, _ := curatedRows(t, curated)
			if len(rows) != 2 {
				t.Fatalf("curated holds %d rows after the holder returned, want customers 1 and 2: %v", len(rows), rows)
			}
			if res.FilesIn != 2 || res.RowsOut != 2 {
				t.Errorf("the holder's result counts %d files in and %d rows out, want 2 and 2 over its passes", res.FilesIn, res.RowsOut)
			}
			if liveLock(t, curated) {
				t.Error("the lock is left held")
			}
		})
	}
}

// With the partition free, PromoteOrDefer promotes as Promote does.
func TestPromoteOrDeferPromotesAFreePartition(t *testing.T) {
	p, cleansed, curated := lake(t)
	putCleansed(t, cleansed, "a.parquet", customer{1, 1, "a", ""})
	res, err := p.PromoteOrDefer(context.Background(), "customers", part)
	if err != nil || res.Deferred || res.FilesIn != 1 {
		t.Fatalf("%+v, %v: want the file promoted", res, err)
	}
	if rows, _ := curatedRows(t, curated); len(rows) != 1 {
		t.Fatalf("curated rows %v", rows)
	}
}

// An expired lock is a crashed holder's, which covers nothing: PromoteOrDefer takes it over.
func TestPromoteOrDeferTakesOverAnExpiredLock(t *testing.T) {
	p, cleansed, curated := lake(t)
	putCleansed(t, cleansed, "a.parquet", customer{1, 1, "a", ""})
	putLock(t, curated, time.Now().Add(-time.Second))
	res, err := p.PromoteOrDefer(context.Background(), "customers", part)
	if err != nil || res.Deferred {
		t.Fatalf("%+v, %v: want the lock taken over and the file promoted", res, err)
	}
	if rows, _ := curatedRows(t, curated); len(rows) != 1 {
		t.Fatalf("curated rows %v", rows)
	}
}
