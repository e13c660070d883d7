package promote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/zone"
)

// LockPrefix is where partition locks live in the curated bucket: outside every dataset's
// prefix, so that no table reads them.
const LockPrefix = "_locks/"

// LockOptions tune the partition lock.
//
// The lock is an object written with If-None-Match: *, so exactly one promotion creates it. It
// holds an expiry: a holder that crashed stops blocking the partition once it passes, and the
// next promotion takes the lock over with If-Match on the expired lock's ETag (so two waiters
// cannot both take it). A holder whose lock was taken over fails its promotion, and its trigger
// is redelivered and recomputes the partition.
type LockOptions struct {
	// TTL is how long a lock holds when the context has no deadline. With a deadline (a Lambda
	// invocation's), the lock expires a little after it, when a crashed holder is surely dead.
	// Default 15 minutes, the longest a Lambda runs.
	TTL time.Duration
	// Poll is the pause between attempts while another promotion holds the lock. Default 250 ms.
	Poll time.Duration
	// MaxWait bounds the wait for a held lock; then Promote fails with ErrLocked and the trigger
	// is redelivered. Default 5 minutes, and never more than half the time left before the
	// context's deadline, so that the promotion itself still fits in a Lambda invocation.
	MaxWait time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// ErrLocked is returned (wrapped) when another promotion held the partition for longer than
// LockOptions.MaxWait.
var ErrLocked = errors.New("promote: partition is locked by another promotion")

// errHeld is acquire's answer, when asked not to wait, to a lock another promotion holds.
var errHeld = errors.New("promote: another promotion holds the partition")

type lockBody struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
	// Released marks a lock its holder gave up on a store without conditional deletes.
	Released bool `json:"released,omitempty"`
}

type heldLock struct {
	store objectstore.Store
	key   string
	etag  string
	owner string
}

// LockKey is the key of a partition's lock in the curated bucket.
func LockKey(dataset string, p zone.Partition) string {
	return LockPrefix + zone.Key(dataset, p, "promote.lock")
}

// TableLockKey is the key of the lock of a change stream's curated table, which every
// promotion of the dataset changes as a whole (its rows are not partitioned by time).
func TableLockKey(dataset string) string {
	return LockPrefix + dataset + "/table.lock"
}

// acquire takes the lock at key (a partition's, or a change stream's table's), waiting while
// another promotion holds it unless deferToHolder says to return errHeld then.
func (p *Promoter) acquire(ctx context.Context, key string, deferToHolder bool) (*heldLock, error) {
	o := p.Lock
	if o.TTL <= 0 {
		o.TTL = 15 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 5 * time.Minute
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	var id [8]byte
	rand.Read(id[:])
	owner := hex.EncodeToString(id[:])
	giveUp := now().Add(o.MaxWait)
	if d, ok := ctx.Deadline(); ok {
		// Leave the promotion itself half of what remains of the invocation.
		if half := now().Add(time.Until(d) / 2); half.Before(giveUp) {
			giveUp = half
		}
	}
	for {
		expires := now().Add(o.TTL)
		if d, ok := ctx.Deadline(); ok {
			expires = d.Add(10 * time.Second)
		}
		body, _ := json.Marshal(lockBody{Owner: owner, Expires: expires.UTC()})
		info, err := p.Curated.Put(ctx, key, body, objectstore.PutOptions{ContentType: "application/json", IfNoneMatch: true})
		if err == nil {
			return &heldLock{store: p.Curated, key: key, etag: info.ETag, owner: owner}, nil
		}
		if !errors.Is(err, objectstore.ErrPreconditionFailed) {
			return nil, fmt.Errorf("promote: take lock %s/%s: %w", p.Curated.Bucket(), key, err)
		}
		cur, etag, err := readLock(ctx, p.Curated, key)
		if errors.Is(err, objectstore.ErrNotFound) {
			continue // released between our write and our read
		}
		if err != nil {
			return nil, err
		}
		if now().After(cur.Expires) {
			info, err := p.Curated.Put(ctx, key, body, objectstore.PutOptions{ContentType: "application/json", IfMatch: etag})
			if err == nil {
				if p.Log != nil && !cur.Released {
					p.Log.Warn("took over an expired promotion lock", "key", key, "previous_owner", cur.Owner, "expired", cur.Expires)
				}
				return &heldLock{store: p.Curated, key: key, etag: info.ETag, owner: owner}, nil
			}
			if !errors.Is(err, objectstore.ErrPreconditionFailed) && !errors.Is(err, objectstore.ErrNotFound) {
				return nil, fmt.Errorf("promote: take over expired lock %s/%s: %w", p.Curated.Bucket(), key, err)
			}
			continue
		}
		if deferToHolder {
			return nil, errHeld
		}
		if now().After(giveUp) {
			return nil, fmt.Errorf("%w: %s/%s held by %s until %s; the trigger will be retried", ErrLocked, p.Curated.Bucket(), key, cur.Owner, cur.Expires.Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s/%s held by %s: %w", ErrLocked, p.Curated.Bucket(), key, cur.Owner, ctx.Err())
		case <-time.After(o.Poll):
		}
	}
}

// unlessHeld runs fn holding the lock at key, for work any promotion may leave to the next
// run (compaction, pruning deletes): when a promotion holds the lock, fn does not run and
// unlessHeld reports it held. After fn it checks that the lock is still ours.
func (p *Promoter) unlessHeld(ctx context.Context, key string, fn func() error) (held bool, err error) {
	lock, err := p.acquire(ctx, key, true)
	if errors.Is(err, errHeld) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer func() {
		if err := lock.release(context.WithoutCancel(ctx)); err != nil && p.Log != nil {
			p.Log.Warn("maintenance lock not released", "key", key, "error", err)
		}
	}()
	if err := fn(); err != nil {
		return false, err
	}
	return false, lock.check(ctx)
}

func readLock(ctx context.Context, s objectstore.Store, key string) (lockBody, string, error) {
	var b lockBody
	rc, info, err := s.Get(ctx, key)
	if err != nil {
		return b, "", fmt.Errorf("promote: read lock %s/%s: %w", s.Bucket(), key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return b, "", fmt.Errorf("promote: read lock %s/%s: %w", s.Bucket(), key, err)
	}
	if err := json.Unmarshal(data, &b); err != nil {
		// Unreadable: treat as long expired so it cannot block the partition for ever.
		return lockBody{Owner: "unreadable lock"}, info.ETag, nil
	}
	return b, info.ETag, nil
}

// check fails if the lock is no longer ours: it expired and another promotion took it over, so
// what this one wrote may be mixed with that one's output, and it must be recomputed.
func (l *heldLock) check(ctx context.Context) error {
	info, err := l.store.Head(ctx, l.key)
	if err != nil {
		return fmt.Errorf("promote: lock %s/%s lost while promoting (%w); the trigger will be retried", l.store.Bucket(), l.key, err)
	}
	if info.ETag != l.etag {
		return fmt.Errorf("promote: lock %s/%s expired and was taken over while promoting; the trigger will be retried", l.store.Bucket(), l.key)
	}
	return nil
}

// release gives the lock up if it is still ours, never a lock another promotion took over:
// with a conditional delete (If-Match on the lock's ETag) when the store has one, else with a
// conditional overwrite (If-Match) that marks it released and expired, which the next
// promotion takes over as it would a crashed holder's lock, at the cost of one more request.
func (l *heldLock) release(ctx context.Context) error {
	if cd, ok := l.store.(objectstore.ConditionalDeleter); ok {
		err := cd.DeleteIfMatch(ctx, l.key, l.etag)
		if err == nil || errors.Is(err, objectstore.ErrPreconditionFailed) {
			return nil // released, or taken over: no longer ours to delete
		}
		return fmt.Errorf("promote: release lock %s/%s: %w", l.store.Bucket(), l.key, err)
	}
	body, _ := json.Marshal(lockBody{Owner: l.owner, Expires: time.Unix(0, 0).UTC(), Released: true})
	_, err := l.store.Put(ctx, l.key, body, objectstore.PutOptions{ContentType: "application/json", IfMatch: l.etag})
	if err == nil || errors.Is(err, objectstore.ErrPreconditionFailed) || errors.Is(err, objectstore.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("promote: release lock %s/%s: %w", l.store.Bucket(), l.key, err)
}
