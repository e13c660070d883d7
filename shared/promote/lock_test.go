package promote_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/promote"
)

// TestConcurrentPromotionsLoseAndDuplicateNothing runs promotions of one partition at once,
// each started right after its own cleansed file lands, as S3 events would start them. Without
// the lock, a promotion that listed the partition before the last file landed could write its
// output after the one that saw every file, losing that file's rows.
func TestConcurrentPromotionsLoseAndDuplicateNothing(t *testing.T) {
	p, cleansed, curated := lake(t)
	p.Lock.Poll = 5 * time.Millisecond
	// Slow reads widen the window between a promotion's listing and its writes, as large
	// files do, so that unguarded promotions would overlap.
	p.Cleansed = slowReads{p.Cleansed}
	ctx := context.Background()
	const writers, perFile = 8, 200
	want := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, writers*2)
	for w := range writers {
		var rows []customer
		for i := range perFile {
			id := w*perFile + i + 1
			rows = append(rows, customer{id, 10, fmt.Sprintf("w%d", w), ""})
			// every writer also updates customer 1: the latest time (writer index) must win
		}
		rows = append(rows, customer{1, 20 + w, fmt.Sprintf("update-%d", w), ""})
		mu.Lock()
		for _, r := range rows[:perFile] {
			want[uuidOf(r.id)] = r.name
		}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			putCleansed(t, cleansed, fmt.Sprintf("w%02d.parquet", w), rows...)
			// two triggers for the same file: a duplicated event, run at the same time
			var inner sync.WaitGroup
			for range 2 {
				inner.Add(1)
				go func() {
					defer inner.Done()
					if _, err := p.Promote(ctx, "customers", part); err != nil {
						errs <- err
					}
				}()
			}
			inner.Wait()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want[uuidOf(1)] = fmt.Sprintf("update-%d", writers-1)

	rows, _ := curatedRows(t, curated)
	if len(rows) != len(want) {
		t.Fatalf("%d curated rows, want %d", len(rows), len(want))
	}
	got := byUUID(rows)
	for id, name := range want {
		if got[id] == nil || got[id]["name"] != name {
			t.Fatalf("customer %s: got %v, want name %q", id, got[id], name)
		}
	}
	if lk, _ := curated.List(ctx, promote.LockPrefix); len(lk) != 0 {
		t.Fatalf("lock left behind: %v", lk)
	}
}

func putLock(t *testing.T, s objectstore.Store, expires time.Time) {
	t.Helper()
	body := fmt.Appendf(nil, `{"owner":"crashed","expires":%q}`, expires.UTC().Format(time.RFC3339Nano))
	if _, err := s.Put(context.Background(), promote.LockKey("customers", part), body, objectstore.PutOptions{IfNoneMatch: true}); err != nil {
		t.Fatal(err)
	}
}

func TestHeldLockMakesPromotionWaitThenFail(t *testing.T) {
	p, cleansed, curated := lake(t)
	putCleansed(t, cleansed, "a.parquet", customer{1, 1, "x", ""})
	putLock(t, curated, time.Now().Add(time.Hour))
	p.Lock = promote.LockOptions{Poll: time.Millisecond, MaxWait: 20 * time.Millisecond}
	_, err := p.Promote(context.Background(), "customers", part)
	if !errors.Is(err, promote.ErrLocked) {
		t.Fatalf("error %v: want ErrLocked", err)
	}
	if rows, _ := curatedRows(t, curated); len(rows) != 0 {
		t.Fatalf("a promotion without the lock wrote %v", rows)
	}
}

func TestExpiredLockIsTakenOver(t *testing.T) {
	p, cleansed, curated := lake(t)
	putCleansed(t, cleansed, "a.parquet", customer{1, 1, "x", ""})
	putLock(t, curated, time.Now().Add(-time.Second))
	if _, err := p.Promote(context.Background(), "customers", part); err != nil {
		t.Fatal(err)
	}
	if rows, _ := curatedRows(t, curated); len(rows) != 1 {
		t.Fatalf("curated rows %v: want 1", rows)
	}
	if lk, _ := curated.List(context.Background(), promote.LockPrefix); len(lk) != 0 {
		t.Fatalf("lock left behind: %v", lk)
	}
}

type slowReads struct{ objectstore.Store }

func (s slowReads) Get(ctx context.Context, key string) (io.ReadCloser, objectstore.Info, error) {
	time.Sleep(3 * time.Millisecond)
	return s.Store.Get(ctx, key)
}

// gate runs fn once, before the first call that passes through it.
type gate struct {
	once sync.Once
	fn   func()
}

func (g *gate) pass() { g.once.Do(g.fn) }

type gatedReads struct {
	objectstore.Store
	g *gate
}

func (s gatedReads) Get(ctx context.Context, key string) (io.ReadCloser, objectstore.Info, error) {
	s.g.pass()
	return s.Store.Get(ctx, key)
}

type gatedWrites struct {
	objectstore.Store
	g *gate
}

func (s gatedWrites) Put(ctx context.Context, key string, body []byte, opts objectstore.PutOptions) (objectstore.Info, error) {
	s.g.pass()
	return s.Store.Put(ctx, key, body, opts)
}

// TestStalePromotionDoesNotOverwriteANewerOne stages the losing interleaving: promotion A lists
// the partition, then stalls; a new file lands and promotion B starts. Without the lock, B
// writes the full result and A, resuming, overwrites it with its stale one. With it, B waits for
// A and then recomputes with the new file.
func TestStalePromotionDoesNotOverwriteANewerOne(t *testing.T) {
	base, cleansed, curated := lake(t)
	base.Lock.Poll = time.Millisecond
	ctx := context.Background()
	putCleansed(t, cleansed, "a.parquet", customer{1, 1, "a", ""})

	bWrites := make(chan struct{})
	a := *base
	a.Cleansed = gatedReads{cleansed, &gate{fn: func() {
		putCleansed(t, cleansed, "b.parquet", customer{2, 1, "b", ""}) // lands after A listed
		go func() {
			b := *base
			b.Curated = gatedWrites{curated, &gate{fn: func() { close(bWrites) }}}
			if _, err := b.Promote(ctx, "customers", part); err != nil {
				t.Error(err)
			}
		}()
		<-bWrites // A resumes once B writes to curated: its lock attempt, or (unguarded) its output
	}}}
	if _, err := a.Promote(ctx, "customers", part); err != nil {
		t.Fatal(err)
	}
	// B finishes after A: wait for the lock to go and B's output to be there.
	for range 2000 {
		rows, _ := curatedRows(t, curated)
		lk, _ := curated.List(ctx, promote.LockPrefix)
		if len(lk) == 0 && len(rows) == 2 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	rows, _ := curatedRows(t, curated)
	t.Fatalf("curated holds %v: want customers 1 and 2", rows)
}
