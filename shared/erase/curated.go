package erase

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/provenance"
)

// curated erases the key from the dataset's Iceberg table copy-on-write: each live data file
// holding it is rewritten without those rows under a new name (or dropped when none is left)
// in one snapshot; then the snapshots that still reference a file holding the key are expired
// (after the grace period, which table maintenance waits out: see ExpirePending) and the files
// only they referenced deleted.
func (e *Eraser) curated(ctx context.Context, c *contract.Contract, t target, s objectstore.Store, zr *Zone, rep *Report) error {
	tbl := iceberg.Dataset(s, e.Catalog, c.Name)
	removed := map[string]bool{}
	snap, err := tbl.Commit(ctx, func(ctx context.Context, st *iceberg.State) (*iceberg.Change, error) {
		*zr = Zone{Zone: zr.Zone, Bucket: zr.Bucket}
		clear(removed)
		files, err := st.Files(ctx, 0)
		if err != nil {
			return nil, err
		}
		ch := &iceberg.Change{Operation: iceberg.OpDelete, Run: provenance.RunOf(ctx), Summary: map[string]string{"sluice.erase": "true"}}
		for _, f := range files {
			zr.Scanned++
			key, err := tbl.Key(f.Path)
			if err != nil {
				return nil, err
			}
			body, info, err := get(ctx, s, key)
			if err != nil {
				return nil, err
			}
			out, gone, kept, err := filterParquet(body, t)
			if err != nil {
				return nil, fmt.Errorf("erase: read %s: %w", f.Path, err)
			}
			if gone == 0 {
				continue
			}
			zr.Rows += gone
			removed[f.Path] = true
			ch.Remove = append(ch.Remove, f.Path)
			if kept == 0 {
				zr.Deleted = append(zr.Deleted, key)
				continue
			}
			nkey, err := promote.RewrittenKey(key, out)
			if err != nil {
				return nil, fmt.Errorf("erase: %w", err)
			}
			rec := &provenance.Record{Job: Job, Run: provenance.RunOf(ctx), Dataset: c.Name, Contract: c.Name, ContractVersion: c.Version,
				Kind: provenance.Data, Rows: kept, Dropped: map[string]int64{"erased": gone},
				Inputs: []provenance.Input{{Bucket: s.Bucket(), Key: key, Version: info.Version, ETag: info.ETag, Rows: kept + gone}}}
			if _, err := promote.PutCurated(ctx, s, nkey, out, rec); err != nil {
				return nil, fmt.Errorf("erase: %w", err)
			}
			zr.Rewritten = append(zr.Rewritten, key)
			ch.Operation = iceberg.OpOverwrite
			ch.Add = append(ch.Add, iceberg.DataFile{Path: tbl.Path(nkey), Partition: f.Partition, Records: kept, Size: int64(len(out))})
		}
		if len(ch.Remove) == 0 {
			return nil, nil
		}
		return ch, nil
	})
	if errors.Is(err, iceberg.ErrNoTable) {
		return nil // never promoted: nothing curated to erase
	}
	if err != nil {
		return fmt.Errorf("erase: curated table %s: %w", c.Name, err)
	}
	if snap != nil {
		rep.Snapshot = snap.SnapshotID
	}
	return e.expire(ctx, tbl, t, removed, rep)
}

// expire expires the snapshots that reference a data file holding the key (one erasure just
// removed, or one an earlier snapshot replaced before the erasure): at once when the snapshot
// after it, which stopped readers from needing it, is older than the grace period, else later.
func (e *Eraser) expire(ctx context.Context, tbl *iceberg.Table, t target, removed map[string]bool, rep *Report) error {
	st, err := tbl.Load(ctx)
	if err != nil {
		return fmt.Errorf("erase: curated table %s: %w", tbl.Name, err)
	}
	live, err := st.Files(ctx, 0)
	if err != nil {
		return err
	}
	isLive := map[string]bool{}
	for _, f := range live {
		isLive[f.Path] = true
	}
	snaps := slices.Clone(st.Meta.Snapshots)
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].TimestampMs < snaps[j].TimestampMs })
	tainted := map[string]bool{}
	for p := range removed {
		tainted[p] = true
	}
	holds := func(path string) (bool, error) {
		if t, ok := tainted[path]; ok {
			return t, nil
		}
		key, err := tbl.Key(path)
		if err != nil {
			return false, err
		}
		body, _, err := get(ctx, tbl.Store, key)
		if errors.Is(err, objectstore.ErrNotFound) {
			tainted[path] = false
			return false, nil
		}
		if err != nil {
			return false, err
		}
		_, gone, _, err := filterParquet(body, t)
		tainted[path] = err == nil && gone > 0
		return tainted[path], nil
	}
	now := e.now()
	var expire []int64
	var pending []PendingSnapshot
	for i, sn := range snaps {
		if st.Meta.CurrentSnapshotID != nil && *st.Meta.CurrentSnapshotID == sn.SnapshotID {
			continue
		}
		files, err := st.Files(ctx, sn.SnapshotID)
		if err != nil {
			return err
		}
		hit := false
		for _, f := range files {
			if isLive[f.Path] {
				continue // still live, so erased above if it held the key
			}
			if hit, err = holds(f.Path); err != nil {
				return err
			}
			if hit {
				break
			}
		}
		if !hit {
			continue
		}
		superseded := now
		if i+1 < len(snaps) {
			superseded = time.UnixMilli(snaps[i+1].TimestampMs)
		}
		if until := superseded.Add(e.Grace); e.Grace > 0 && now.Before(until) {
			rep.Pending = append(rep.Pending, sn.SnapshotID)
			pending = append(pending, PendingSnapshot{ID: sn.SnapshotID, After: until.UTC()})
			if until.After(rep.PendingUntil) {
				rep.PendingUntil = until.UTC()
			}
			continue
		}
		expire = append(expire, sn.SnapshotID)
	}
	if len(pending) > 0 {
		if rep.PendingRecord, err = writePending(ctx, tbl, pending); err != nil {
			return err
		}
	}
	if len(expire) == 0 {
		return nil
	}
	ex, err := expireSnapshots(ctx, tbl, expire)
	if err != nil {
		return err
	}
	rep.Expired = append(rep.Expired, ex.Snapshots...)
	rep.ExpiredFiles += len(ex.DataFiles) + len(ex.Manifests) + len(ex.ManifestLists)
	return nil
}
