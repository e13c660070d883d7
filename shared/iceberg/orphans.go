package iceberg

import (
	"context"
	"fmt"
	"path"
	"sort"
	"time"

	"github.com/sluicelake/sluice/shared/objectstore"
)

// DefaultOrphanAge is how old an unreferenced file must be before RemoveOrphans deletes it, as
// in Iceberg's own orphan removal (older_than defaults to 3 days). A commit writes its data
// files, manifests and metadata file before the catalog swap that makes them part of the
// table, and a promotion may take minutes between the two (a retried Lambda, up to 15 minutes
// each); a file younger than this may belong to such a commit, and deleting it would leave the
// table naming a file that is gone. Days, not minutes, because the cost of keeping a stray
// file a little longer is a few bytes, and the cost of a wrong delete is a table that fails.
const DefaultOrphanAge = 72 * time.Hour

// Reachable lists every file the table's current metadata references, by full location: the
// current metadata file, the earlier ones its metadata log still names, and for each of its
// snapshots the manifest list, the manifests and the live data files.
func (s *State) Reachable(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{s.Pointer.Location: true}
	for _, e := range s.Meta.MetadataLog {
		out[e.MetadataFile] = true
	}
	for i := range s.Meta.Snapshots {
		sn := &s.Meta.Snapshots[i]
		out[sn.ManifestList] = true
		mfs, err := s.t.manifests(ctx, sn)
		if err != nil {
			return nil, err
		}
		for _, mf := range mfs {
			out[mf.Path] = true
		}
		files, err := s.Files(ctx, sn.SnapshotID)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			out[f.Path] = true
		}
	}
	return out, nil
}

// Orphan is a file RemoveOrphans deleted, or would have deleted but for its age.
type Orphan struct {
	Key          string
	Size         int64
	LastModified time.Time
}

// Orphans is what RemoveOrphans found under the table's data/ and metadata/ folders.
type Orphans struct {
	// Deleted were unreferenced and older than the cutoff.
	Deleted []Orphan
	// Young are unreferenced but newer than the cutoff: perhaps a commit in flight. Kept.
	Young []Orphan
}

// RemoveOrphans deletes the objects under the table's data/ and metadata/ folders that the
// current metadata does not reference (see Reachable) and that were last written before
// olderThan (see DefaultOrphanAge). The catalog pointer StoreCatalog keeps there is never
// touched.
//
// The folders are listed before the metadata is loaded, so a commit that lands between the
// two is seen as referenced; one that lands after the load wrote its files after olderThan,
// unless it took longer than the age allows.
func (t *Table) RemoveOrphans(ctx context.Context, olderThan time.Time) (Orphans, error) {
	var out Orphans
	var listed []objectstore.Info
	for _, prefix := range []string{t.DataPrefix(), t.MetadataPrefix()} {
		infos, err := t.Store.List(ctx, prefix)
		if err != nil {
			return out, fmt.Errorf("iceberg: table %s: list %s/%s: %w", t.Name, t.Store.Bucket(), prefix, err)
		}
		listed = append(listed, infos...)
	}
	s, err := t.Load(ctx)
	if err != nil {
		return out, err
	}
	live, err := s.Reachable(ctx)
	if err != nil {
		return out, err
	}
	sort.Slice(listed, func(i, j int) bool { return listed[i].Key < listed[j].Key })
	for _, in := range listed {
		if live[t.Path(in.Key)] || path.Base(in.Key) == PointerName {
			continue
		}
		o := Orphan{Key: in.Key, Size: in.Size, LastModified: in.LastModified}
		if in.LastModified.IsZero() || !in.LastModified.Before(olderThan) {
			out.Young = append(out.Young, o)
			continue
		}
		if err := t.Store.Delete(ctx, in.Key); err != nil {
			return out, fmt.Errorf("iceberg: table %s: delete orphan %s/%s: %w", t.Name, t.Store.Bucket(), in.Key, err)
		}
		out.Deleted = append(out.Deleted, o)
	}
	return out, nil
}
