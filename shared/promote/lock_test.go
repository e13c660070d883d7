package promote_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
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
	// A reader polls the table throughout: it never sees a key twice, and sees each writer's
	// new customers all or none (customer 1, which every writer updates, aside).
	var stop atomic.Bool
	var reads atomic.Int64
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for !stop.Load() {
			rows, _ := curatedRows(t, curated)
			seen := map[string]bool{}
			for _, r := range rows {
				id := r["uuid"].(string)
				if seen[id] {
					t.Errorf("a reader saw customer %s twice", id)
					return
				}
				seen[id] = true
			}
			for w := range writers {
				n := 0
				for i := 1; i < perFile; i++ {
					if seen[uuidOf(w*perFile+i+1)] {
						n++
					}
				}
				if n != 0 && n != perFile-1 {
					t.Errorf("a reader saw %d of writer %d's %d new customers: half a promotion", n, w, perFile-1)
					return
				}
			}
			reads.Add(1)
		}
	}()
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
	stop.Store(true)
	<-readerDone
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if reads.Load() == 0 {
		t.Error("the reader never read the table")
	}
	want[uuidOf(1)] = fmt.Sprintf("update-%d", writers-1)
	// The promotions committed one after the other, and none lost a row another had committed.
	if n := serialHistory(t, p, "customers", true); n == 0 || n > writers*2 {
		t.Errorf("%d snapshots for %d files promoted by %d triggers", n, writers, writers*2)
	}

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

	bWrites, bDone := make(chan struct{}), make(chan struct{})
	a := *base
	a.Cleansed = gatedReads{cleansed, &gate{fn: func() {
		putCleansed(t, cleansed, "b.parquet", customer{2, 1, "b", ""}) // lands after A listed
		go func() {
			defer close(bDone)
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
	// B finishes after A (and after it lists the partition again, once released). (B's store
	// hides the conditional delete, so B marks the lock released instead of deleting it.)
	<-bDone
	for range 2000 {
		rows, _ := curatedRows(t, curated)
		if !liveLock(t, curated) && len(rows) == 2 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	rows, _ := curatedRows(t, curated)
	t.Fatalf("curated holds %v: want customers 1 and 2", rows)
}

// liveLock tells whether the test partition's lock is held: present and not released.
func liveLock(t *testing.T, s objectstore.Store) bool {
	t.Helper()
	rc, _, err := s.Get(context.Background(), promote.LockKey("customers", part))
	if errors.Is(err, objectstore.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var body struct{ Released bool }
	if err := json.NewDecoder(rc).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return !body.Released
}

// plainStore hides the conditional delete of the store it wraps.
type plainStore struct{ objectstore.Store }

// TestReleaseWithoutConditionalDelete: on a store without conditional deletes the lock is
// marked released, and the next promotion takes it over at once, without waiting.
func TestReleaseWithoutConditionalDelete(t *testing.T) {
	p, cleansed, curated := lake(t)
	p.Curated = plainStore{curated}
	putCleansed(t, cleansed, "a.parquet", customer{1, 1, "a", ""})
	if _, err := p.Promote(context.Background(), "customers", part); err != nil {
		t.Fatal(err)
	}
	if lk, _ := curated.List(context.Background(), promote.LockPrefix); len(lk) != 1 || liveLock(t, curated) {
		t.Fatalf("locks %v: want one, released", lk)
	}
	putCleansed(t, cleansed, "b.parquet", customer{2, 1, "b", ""})
	p.Lock = promote.LockOptions{Poll: time.Millisecond, MaxWait: time.Millisecond}
	if _, err := p.Promote(context.Background(), "customers", part); err != nil {
		t.Fatalf("the next promotion did not take the released lock: %v", err)
	}
	if rows, _ := curatedRows(t, curated); len(rows) != 2 {
		t.Fatalf("curated rows %v: want 2", rows)
	}
}

// takeoverStore lets another promotion take the lock over (its expiry passed) between the
// holder's last check of its lock and its release, the interleaving a check-then-delete
// release loses: the holder must leave the new owner's lock alone.
type takeoverStore struct {
	objectstore.Store
	t       *testing.T
	written bool // the manifest, the promotion's last write, is written
	arm     bool
	once    sync.Once
}

func (s *takeoverStore) takeover() {
	if !s.arm {
		return
	}
	s.once.Do(func() {
		body := fmt.Appendf(nil, `{"owner":"successor","expires":%q}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano))
		if _, err := s.Store.Put(context.Background(), promote.LockKey("customers", part), body, objectstore.PutOptions{}); err != nil {
			s.t.Error(err)
		}
	})
}

// Head is the holder's check of its lock, the last request before the release: it arms the
// takeover once the promotion's output is written.
func (s *takeoverStore) Head(ctx context.Context, key string) (objectstore.Info, error) {
	info, err := s.Store.Head(ctx, key)
	if key == promote.LockKey("customers", part) && s.written {
		s.arm = true
	}
	return info, err
}

func (s *takeoverStore) Put(ctx context.Context, key string, body []byte, opts objectstore.PutOptions) (objectstore.Info, error) {
	if key == promote.LockKey("customers", part) && opts.IfMatch != "" {
		s.takeover()
	}
	info, err := s.Store.Put(ctx, key, body, opts)
	if key == promote.ManifestKey("customers", part) {
		s.written = true
	}
	return info, err
}

func (s *takeoverStore) Delete(ctx context.Context, key string) error {
	s.takeover()
	return s.Store.Delete(ctx, key)
}

type takeoverConditional struct{ *takeoverStore }

func (s takeoverConditional) DeleteIfMatch(ctx context.Context, key, etag string) error {
	s.takeover()
	return s.Store.(objectstore.ConditionalDeleter).DeleteIfMatch(ctx, key, etag)
}

func TestReleaseLeavesATakenOverLock(t *testing.T) {
	for _, conditional := range []bool{true, false} {
		t.Run(fmt.Sprintf("conditional_delete=%v", conditional), func(t *testing.T) {
			p, cleansed, curated := lake(t)
			putCleansed(t, cleansed, "a.parquet", customer{1, 1, "a", ""})
			ts := &takeoverStore{Store: curated, t: t}
			p.Curated = ts
			if conditional {
				p.Curated = takeoverConditional{ts}
			}
			if _, err := p.Promote(context.Background(), "customers", part); err != nil {
				t.Fatal(err)
			}
			if !ts.arm {
				t.Fatal("the takeover was never armed: the test no longer stages the interleaving")
			}
			rc, _, err := curated.Get(context.Background(), promote.LockKey("customers", part))
			if err != nil {
				t.Fatalf("the successor's lock is gone: %v", err)
			}
			defer rc.Close()
			var body struct{ Owner string }
			json.NewDecoder(rc).Decode(&body)
			if body.Owner != "successor" {
				t.Fatalf("lock owner %q, want successor", body.Owner)
			}
		})
	}
}
