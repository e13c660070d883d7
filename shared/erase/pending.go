package erase

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/objectstore"
)

// PendingPrefix is where an erasure records, in the curated bucket, the snapshots it kept for
// the grace period (Report.Pending): a record per erasure, under <dataset>/, which table
// maintenance reads to expire them once the grace has passed (ExpirePending), so that the
// erased rows do not wait for another erasure of the key. The underscore keeps the records out
// of every table, and lineage skips them.
const PendingPrefix = "_erase/"

// PendingSnapshot is a snapshot kept for the grace period, and when it may be expired.
type PendingSnapshot struct {
	ID    int64     `json:"snapshot_id"`
	After time.Time `json:"expire_after"`
}

// pendingRecord is one erasure's record. It never contains the key.
type pendingRecord struct {
	Dataset   string            `json:"dataset"`
	Snapshots []PendingSnapshot `json:"snapshots"`
}

// writePending records the snapshots of tbl an erasure keeps for the grace period, under a
// name made of the record's hash: erasing the same key again writes the same record.
func writePending(ctx context.Context, tbl *iceberg.Table, snaps []PendingSnapshot) (string, error) {
	body, err := json.Marshal(pendingRecord{Dataset: tbl.Name, Snapshots: snaps})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(body)
	key := PendingPrefix + tbl.Name + "/" + hex.EncodeToString(sum[:8]) + ".json"
	if _, err := tbl.Store.Put(ctx, key, body, objectstore.PutOptions{ContentType: "application/json"}); err != nil {
		return "", fmt.Errorf("erase: record the snapshots kept for the grace period at s3://%s/%s (without it only another erasure of the key expires them): %w", tbl.Store.Bucket(), key, err)
	}
	return key, nil
}

// Pending is what ExpirePending did.
type Pending struct {
	// Expired are the snapshots whose grace had passed, expired; FilesDeleted the data files,
	// manifests and manifest lists only they referenced, deleted with every version.
	Expired      []int64
	FilesDeleted int
	// Waiting counts the snapshots still within their grace.
	Waiting int
	// Cleared are the records whose snapshots are all gone, deleted.
	Cleared []string
}

// ExpirePending expires the snapshots of tbl that erasures kept for their grace period (the
// records under PendingPrefix in tbl's bucket) once it has passed at now, and deletes the
// files only they referenced for good (every version, in a versioned bucket, as the key's rows
// must not stay as noncurrent versions); a record is deleted once none of its snapshots is
// left in the table, and rewritten without those that are gone otherwise.
func ExpirePending(ctx context.Context, tbl *iceberg.Table, now time.Time) (Pending, error) {
	var out Pending
	records, err := readPending(ctx, tbl)
	if err != nil || len(records) == 0 {
		return out, err
	}
	due := map[int64]bool{}
	for _, r := range records {
		for _, s := range r.Snapshots {
			if !now.Before(s.After) {
				due[s.ID] = true
			}
		}
	}
	st, err := tbl.Load(ctx)
	if err != nil {
		return out, err
	}
	var expire []int64
	for _, sn := range st.Meta.Snapshots {
		if due[sn.SnapshotID] {
			expire = append(expire, sn.SnapshotID)
		}
	}
	left := map[int64]bool{}
	for _, sn := range st.Meta.Snapshots {
		left[sn.SnapshotID] = true
	}
	if len(expire) > 0 {
		ex, err := expireSnapshots(ctx, tbl, expire)
		if err != nil {
			return out, err
		}
		if err := purgeVersions(ctx, tbl, ex); err != nil {
			return out, err
		}
		out.Expired = ex.Snapshots
		out.FilesDeleted = len(ex.DataFiles) + len(ex.Manifests) + len(ex.ManifestLists)
		for _, id := range ex.Snapshots {
			delete(left, id)
		}
	}
	for key, r := range records {
		kept := slices.DeleteFunc(slices.Clone(r.Snapshots), func(s PendingSnapshot) bool { return !left[s.ID] })
		out.Waiting += len(kept)
		switch {
		case len(kept) == 0:
			if err := tbl.Store.Delete(ctx, key); err != nil {
				return out, fmt.Errorf("erase: clear the pending erasure s3://%s/%s: %w", tbl.Store.Bucket(), key, err)
			}
			out.Cleared = append(out.Cleared, key)
		case len(kept) < len(r.Snapshots):
			body, _ := json.Marshal(pendingRecord{Dataset: r.Dataset, Snapshots: kept})
			if _, err := tbl.Store.Put(ctx, key, body, objectstore.PutOptions{ContentType: "application/json"}); err != nil {
				return out, fmt.Errorf("erase: rewrite the pending erasure s3://%s/%s: %w", tbl.Store.Bucket(), key, err)
			}
		}
	}
	slices.Sort(out.Cleared)
	return out, nil
}

// readPending reads the records of tbl's pending erasures, by key.
func readPending(ctx context.Context, tbl *iceberg.Table) (map[string]pendingRecord, error) {
	listed, err := tbl.Store.List(ctx, PendingPrefix+tbl.Name+"/")
	if err != nil {
		return nil, fmt.Errorf("erase: list the pending erasures of %s: %w", tbl.Name, err)
	}
	records := map[string]pendingRecord{}
	for _, in := range listed {
		body, _, err := get(ctx, tbl.Store, in.Key)
		if errors.Is(err, objectstore.ErrNotFound) {
			continue // cleared since the listing
		}
		if err != nil {
			return nil, err
		}
		var r pendingRecord
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, fmt.Errorf("erase: s3://%s/%s is not a record of pending snapshots (%v): delete it, and erase its key again to expire what it named", tbl.Store.Bucket(), in.Key, err)
		}
		records[in.Key] = r
	}
	return records, nil
}

// HeldError refuses to make a snapshot current again that an erasure keeps only for its grace
// period: it still holds the erased rows.
type HeldError struct {
	Table    string
	Snapshot int64
	Until    time.Time
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("snapshot %d of %s still holds rows an erasure removed: it is kept only until %s for queries already reading it, and cannot be made current again; roll back to a snapshot made after the erasure",
		e.Snapshot, e.Table, e.Until.UTC().Format(time.RFC3339))
}

// CheckRestore fails with a *HeldError when snapshot id of tbl is one an erasure keeps for its
// grace period. A rollback must ask first: restoring such a snapshot would bring the erased
// rows back into the current table, where no further erasure or maintenance looks for them.
func CheckRestore(ctx context.Context, tbl *iceberg.Table, id int64) error {
	records, err := readPending(ctx, tbl)
	if err != nil {
		return err
	}
	for _, r := range records {
		for _, s := range r.Snapshots {
			if s.ID == id {
				return &HeldError{Table: tbl.Name, Snapshot: id, Until: s.After}
			}
		}
	}
	return nil
}

// expireSnapshots expires the snapshots ids of tbl and deletes the files only they referenced.
func expireSnapshots(ctx context.Context, tbl *iceberg.Table, ids []int64) (iceberg.Expired, error) {
	ex, err := tbl.Expire(ctx, iceberg.ExpireOptions{Snapshots: ids})
	if err != nil {
		return ex, fmt.Errorf("erase: expire the snapshots of %s that reference the key: %w", tbl.Name, err)
	}
	if err := tbl.DeleteFiles(ctx, ex); err != nil {
		return ex, fmt.Errorf("erase: %w", err)
	}
	return ex, nil
}

// purgeVersions deletes every version of the files an expiry deleted, in a versioned bucket:
// they are unreferenced, and may hold erased rows.
func purgeVersions(ctx context.Context, tbl *iceberg.Table, ex iceberg.Expired) error {
	vl, ok := tbl.Store.(objectstore.VersionLister)
	if !ok {
		return nil
	}
	for _, group := range [][]string{ex.DataFiles, ex.Manifests, ex.ManifestLists} {
		for _, p := range group {
			key, err := tbl.Key(p)
			if err != nil {
				return err
			}
			vs, err := vl.ListVersions(ctx, key)
			if err != nil {
				return fmt.Errorf("erase: %w", err)
			}
			for _, v := range vs {
				if v.Key != key {
					continue // another key that starts with this one
				}
				if err := vl.DeleteVersion(ctx, v.Key, v.Version); err != nil {
					return fmt.Errorf("erase: %w", err)
				}
			}
		}
	}
	return nil
}
