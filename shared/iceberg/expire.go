package iceberg

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// ExpireOptions say which snapshots to expire: those made before OlderThan, except the
// RetainLast most recent ones and the current one, which are always kept.
type ExpireOptions struct {
	RetainLast int
	OlderThan  time.Time
	// RetainMetadata, when positive, bounds the metadata log to the newest that many earlier
	// metadata files (Iceberg's write.metadata.previous-versions-max): every commit writes one,
	// and those dropped from the log are no longer part of the table, for orphan removal.
	RetainMetadata int
	// Snapshots, when set, expires exactly these snapshots instead (never the current one),
	// whatever their age: erasure expires those that still reference a removed file.
	Snapshots []int64
}

// Expired is what an expiry removed from the table's metadata: the snapshots, and the files
// that no kept snapshot references any more (full locations), which DeleteFiles removes.
type Expired struct {
	Snapshots     []int64
	DataFiles     []string
	Manifests     []string
	ManifestLists []string
	// MetadataFiles are the earlier metadata files dropped from the metadata log.
	MetadataFiles []string
}

// Expire drops old snapshots from the table's metadata in one commit (no new snapshot), and
// returns the files only they referenced. The files are not deleted here: a reader that
// loaded the older metadata may still be reading them, so the caller deletes them after a
// grace period (or at once, with DeleteFiles, where none can be).
func (t *Table) Expire(ctx context.Context, opts ExpireOptions) (Expired, error) {
	attempts := t.MaxAttempts
	if attempts <= 0 {
		attempts = 10
	}
	var lastErr error
	for attempt := 0; attempt < attempts; attempt++ {
		s, err := t.Load(ctx)
		if err != nil {
			return Expired{}, err
		}
		ex, m, err := t.planExpiry(ctx, s, opts)
		if err != nil || m == nil {
			return ex, err
		}
		err = t.swap(ctx, s, m)
		if errors.Is(err, ErrConflict) {
			lastErr = err
			continue
		}
		return ex, err
	}
	return Expired{}, fmt.Errorf("iceberg: table %s: expiry lost %d times to concurrent commits; retry later: %w", t.Name, attempts, lastErr)
}

func (t *Table) planExpiry(ctx context.Context, s *State, opts ExpireOptions) (Expired, *Metadata, error) {
	var ex Expired
	snaps := slices.Clone(s.Meta.Snapshots)
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].TimestampMs > snaps[j].TimestampMs })
	keep := map[int64]bool{}
	for i, sn := range snaps {
		chosen := opts.Snapshots != nil && slices.Contains(opts.Snapshots, sn.SnapshotID)
		young := opts.Snapshots == nil && (i < opts.RetainLast || sn.TimestampMs >= opts.OlderThan.UnixMilli())
		if (opts.Snapshots != nil && !chosen) || young ||
			(s.Meta.CurrentSnapshotID != nil && *s.Meta.CurrentSnapshotID == sn.SnapshotID) {
			keep[sn.SnapshotID] = true
		}
	}
	trim := 0
	if opts.RetainMetadata > 0 && len(s.Meta.MetadataLog) > opts.RetainMetadata {
		// The commit itself logs the metadata it replaces: that one is kept, and counted.
		trim = len(s.Meta.MetadataLog) + 1 - opts.RetainMetadata
	}
	if len(keep) == len(snaps) && trim == 0 {
		return ex, nil, nil
	}
	if len(keep) < len(snaps) {
		if err := t.unreferenced(ctx, s, snaps, keep, &ex); err != nil {
			return ex, nil, err
		}
	}
	m := s.Meta.clone()
	for _, e := range m.MetadataLog[:trim] {
		ex.MetadataFiles = append(ex.MetadataFiles, e.MetadataFile)
	}
	m.MetadataLog = slices.Clone(m.MetadataLog[trim:])
	m.Snapshots = slices.DeleteFunc(m.Snapshots, func(sn Snapshot) bool { return !keep[sn.SnapshotID] })
	// The log keeps only entries after the last expired one, so that time travel never lands
	// on a snapshot that is gone.
	lastGone := -1
	for i, e := range m.SnapshotLog {
		if !keep[e.SnapshotID] {
			lastGone = i
		}
	}
	m.SnapshotLog = slices.Clone(m.SnapshotLog[lastGone+1:])
	for i := range m.Snapshots {
		if p := m.Snapshots[i].ParentSnapshotID; p != nil && !keep[*p] {
			m.Snapshots[i].ParentSnapshotID = nil
		}
	}
	m.LastUpdatedMs = max(m.LastUpdatedMs+1, t.now().UnixMilli())
	return ex, m, nil
}

// unreferenced fills ex with the expired snapshots and the files only they reference: what kept
// snapshots reference stays.
func (t *Table) unreferenced(ctx context.Context, s *State, snaps []Snapshot, keep map[int64]bool, ex *Expired) error {
	keptData, keptManifests := map[string]bool{}, map[string]bool{}
	goneData, goneManifests := map[string]bool{}, map[string]bool{}
	for _, sn := range snaps {
		mfs, err := t.manifests(ctx, &sn)
		if err != nil {
			return err
		}
		files, err := s.Files(ctx, sn.SnapshotID)
		if err != nil {
			return err
		}
		data, man := goneData, goneManifests
		if keep[sn.SnapshotID] {
			data, man = keptData, keptManifests
		} else {
			ex.Snapshots = append(ex.Snapshots, sn.SnapshotID)
			ex.ManifestLists = append(ex.ManifestLists, sn.ManifestList)
		}
		for _, f := range files {
			data[f.Path] = true
		}
		for _, mf := range mfs {
			man[mf.Path] = true
		}
	}
	for p := range goneData {
		if !keptData[p] {
			ex.DataFiles = append(ex.DataFiles, p)
		}
	}
	for p := range goneManifests {
		if !keptManifests[p] {
			ex.Manifests = append(ex.Manifests, p)
		}
	}
	sort.Strings(ex.DataFiles)
	sort.Strings(ex.Manifests)
	return nil
}

// DeleteFiles removes the files an expiry returned from the table's bucket.
func (t *Table) DeleteFiles(ctx context.Context, ex Expired) error {
	for _, group := range [][]string{ex.DataFiles, ex.Manifests, ex.ManifestLists, ex.MetadataFiles} {
		for _, p := range group {
			key, err := t.Key(p)
			if err != nil {
				return err
			}
			if err := t.Store.Delete(ctx, key); err != nil {
				return fmt.Errorf("iceberg: delete expired %s: %w", p, err)
			}
		}
	}
	return nil
}
