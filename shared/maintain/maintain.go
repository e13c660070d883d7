// Package maintain keeps the curated Iceberg tables healthy on a schedule: per table it
// compacts partitions of small files (one replace snapshot each, promote's compaction), expires
// old snapshots (keep those younger than KeepDays, and at least the KeepSnapshots newest), and
// removes orphan files (objects under the table's data/ and metadata/ that no kept snapshot and
// no metadata file still in the log references, older than OrphanAge). Every run of a table is
// recorded under RecordPrefix in the curated bucket, with its counts.
//
// Snapshots an erasure kept for its grace period (shared/erase records them) are expired once it
// has passed, and a change stream's deletes objects are pruned and swept (see Settings).
//
// The order matters: compaction first, so that the files it replaces join the history that
// expiry later frees; expiry before orphan removal, so that the files only expired snapshots
// read are unreferenced when the folders are swept.
package maintain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/erase"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/zone"
)

// Settings say what a run keeps. Zero values take the defaults.
type Settings struct {
	// KeepDays: snapshots younger than this are kept, so time travel reaches this far back.
	// Default 7.
	KeepDays int `json:"keep_days"`
	// KeepSnapshots: the newest this many snapshots are kept whatever their age. Default 10.
	KeepSnapshots int `json:"keep_snapshots"`
	// KeepMetadataFiles bounds the metadata log (Iceberg's write.metadata.previous-versions-max);
	// default 100.
	KeepMetadataFiles int `json:"keep_metadata_files"`
	// OrphanAge: an unreferenced file younger than this is left alone, as it may belong to a
	// commit in flight. Default iceberg.DefaultOrphanAge (3 days).
	OrphanAge time.Duration `json:"orphan_age"`
	// CompactPartitions bounds the partitions compacted per table and run, so that a run fits
	// in a Lambda invocation; the next run takes the rest. Default 20.
	CompactPartitions int `json:"compact_partitions"`
	// CDCDeleteRetentionDays: a change stream's table keeps a deleted key's position (in its
	// deletes object) this long after the delete's source time, so that an older change of the
	// key arriving late loses to the delete; past it the entry is dropped, and such a change
	// would bring the row back. Default 7: Kafka's default retention (log.retention.hours=168),
	// past which the topic no longer holds the older changes a consumer could replay; raise it
	// with the topic's retention, or if cleansed hours are promoted later than that.
	CDCDeleteRetentionDays int `json:"cdc_delete_retention_days"`
}

// Defaults of Settings.
const (
	DefaultKeepDays           = 7
	DefaultKeepSnapshots      = 10
	DefaultKeepMetadataFiles  = 100
	DefaultCompactPartitions  = 20
	DefaultCDCDeleteRetention = 7
)

// WithDefaults fills the zero fields.
func (s Settings) WithDefaults() Settings {
	if s.KeepDays <= 0 {
		s.KeepDays = DefaultKeepDays
	}
	if s.KeepSnapshots <= 0 {
		s.KeepSnapshots = DefaultKeepSnapshots
	}
	if s.KeepMetadataFiles <= 0 {
		s.KeepMetadataFiles = DefaultKeepMetadataFiles
	}
	if s.OrphanAge <= 0 {
		s.OrphanAge = iceberg.DefaultOrphanAge
	}
	if s.CompactPartitions <= 0 {
		s.CompactPartitions = DefaultCompactPartitions
	}
	if s.CDCDeleteRetentionDays <= 0 {
		s.CDCDeleteRetentionDays = DefaultCDCDeleteRetention
	}
	return s
}

// Maintainer runs maintenance over the curated tables of its promoter's contracts.
type Maintainer struct {
	// Promoter gives the curated bucket, the catalog, the contracts, the target file size and
	// the partition lock; compaction is its Compact.
	Promoter *promote.Promoter
	Settings Settings
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// RecordPrefix is where each table's run records go in the curated bucket (an underscore
// keeps them out of every table, and lineage skips them as bookkeeping).
const RecordPrefix = "_maintenance/"

// Record is what one run did to one table.
type Record struct {
	Run      string    `json:"run"`
	Dataset  string    `json:"dataset"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Settings Settings  `json:"settings"`

	// PartitionsCompacted each made one replace snapshot: FilesCompacted small files became
	// FilesWritten files. Skipped names partitions left alone, and why.
	PartitionsCompacted int      `json:"partitions_compacted"`
	FilesCompacted      int      `json:"files_compacted"`
	FilesWritten        int      `json:"files_written"`
	Skipped             []string `json:"skipped,omitempty"`

	// ErasureSnapshotsExpired were kept by an erasure for its grace period (erase.PendingPrefix)
	// and expired by this run once it had passed, their ErasureFilesDeleted files deleted with
	// every version; ErasurePending are still within their grace. Not in SnapshotsExpired.
	ErasureSnapshotsExpired int `json:"erasure_snapshots_expired"`
	ErasureFilesDeleted     int `json:"erasure_files_deleted"`
	ErasurePending          int `json:"erasure_snapshots_pending"`

	SnapshotsExpired      int `json:"snapshots_expired"`
	SnapshotsKept         int `json:"snapshots_kept"`
	MetadataFilesUnlogged int `json:"metadata_files_unlogged"`
	// FilesDeleted = ExpiredFilesDeleted + OrphanFilesDeleted: the first are files only the
	// expired snapshots (or metadata-log entries dropped) in this run referenced, the second
	// every other unreferenced file older than the orphan age: strays of failed writers, and
	// files an earlier run unreferenced while they were younger than the age. BytesFreed is
	// their size.
	FilesDeleted        int      `json:"files_deleted"`
	ExpiredFilesDeleted int      `json:"expired_files_deleted"`
	OrphanFilesDeleted  int      `json:"orphan_files_deleted"`
	BytesFreed          int64    `json:"bytes_freed"`
	Deleted             []string `json:"deleted,omitempty"`
	// YoungOrphans are unreferenced files kept because they are younger than the orphan age;
	// YoungOrphansKept counts them.
	YoungOrphans     []string `json:"young_orphans,omitempty"`
	YoungOrphansKept int      `json:"young_orphans_kept"`

	// Change streams only (promote.MaintainDeletes): DeletesPruned deleted keys older than
	// cdc_delete_retention_days were dropped from the deletes object (DeletesKept remain), in
	// one snapshot; DeletesObjectsDeleted deletes objects that no kept snapshot names were
	// removed (their keys in DeletesObjects), and DeletesObjectsYoung unnamed ones younger than
	// the orphan age kept.
	DeletesPruned         int      `json:"cdc_deletes_pruned"`
	DeletesKept           int      `json:"cdc_deletes_kept"`
	DeletesObjectsDeleted int      `json:"cdc_deletes_objects_deleted"`
	DeletesObjects        []string `json:"cdc_deletes_objects,omitempty"`
	DeletesObjectsYoung   int      `json:"cdc_deletes_objects_young"`

	Error string `json:"error,omitempty"`
	Key   string `json:"-"` // where the record was written
}

func (m *Maintainer) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Run maintains every table, one after the other; a table that fails does not stop the others.
// run names the run in records and in the snapshots' summaries. It returns a record per table
// that exists, and an error naming the tables that failed.
func (m *Maintainer) Run(ctx context.Context, run string) ([]Record, error) {
	var names []string
	for name := range m.Promoter.Contracts {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []Record
	var errs []error
	for _, name := range names {
		rec, err := m.Table(ctx, run, name)
		if errors.Is(err, iceberg.ErrNoTable) {
			continue // never promoted: nothing to maintain
		}
		if rec != nil {
			out = append(out, *rec)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// Table maintains one dataset's table and records the run. A table that does not exist yet
// returns an error wrapping iceberg.ErrNoTable and records nothing.
func (m *Maintainer) Table(ctx context.Context, run, dataset string) (*Record, error) {
	s := m.Settings.WithDefaults()
	// Compaction's snapshots name the run in their summaries.
	ctx = provenance.WithRun(ctx, run)
	tbl := m.Promoter.Table(dataset)
	if _, err := tbl.Load(ctx); err != nil {
		return nil, err
	}
	rec := &Record{Run: run, Dataset: dataset, Started: m.now().UTC(), Settings: s}
	err := m.table(ctx, tbl, s, rec)
	if err != nil {
		rec.Error = err.Error()
	}
	rec.Finished = m.now().UTC()
	if werr := m.record(ctx, rec); werr != nil {
		err = errors.Join(err, werr)
	}
	if err != nil {
		return rec, fmt.Errorf("maintain: table %s: %w", dataset, err)
	}
	if m.Log != nil {
		m.Log.Info("table maintained", "dataset", dataset, "partitions_compacted", rec.PartitionsCompacted, "files_compacted", rec.FilesCompacted,
			"snapshots_expired", rec.SnapshotsExpired, "files_deleted", rec.FilesDeleted, "bytes_freed", rec.BytesFreed, "record", rec.Key)
	}
	return rec, nil
}

func (m *Maintainer) table(ctx context.Context, tbl *iceberg.Table, s Settings, rec *Record) error {
	if err := m.compact(ctx, tbl, s, rec); err != nil {
		return err
	}
	now := m.now()
	// Erasures' snapshots first: their files go for good at once, not by orphan age.
	pend, err := erase.ExpirePending(ctx, tbl, now)
	rec.ErasureSnapshotsExpired, rec.ErasureFilesDeleted, rec.ErasurePending = len(pend.Expired), pend.FilesDeleted, pend.Waiting
	if err != nil {
		return err
	}
	ex, err := tbl.Expire(ctx, iceberg.ExpireOptions{RetainLast: s.KeepSnapshots, OlderThan: now.Add(-time.Duration(s.KeepDays) * 24 * time.Hour),
		RetainMetadata: s.KeepMetadataFiles})
	if err != nil {
		return err
	}
	rec.SnapshotsExpired, rec.MetadataFilesUnlogged = len(ex.Snapshots), len(ex.MetadataFiles)
	expired := map[string]bool{}
	for _, group := range [][]string{ex.DataFiles, ex.Manifests, ex.ManifestLists, ex.MetadataFiles} {
		for _, p := range group {
			expired[p] = true
		}
	}
	orphans, err := tbl.RemoveOrphans(ctx, now.Add(-s.OrphanAge))
	for _, o := range orphans.Deleted {
		rec.FilesDeleted++
		rec.BytesFreed += o.Size
		rec.Deleted = append(rec.Deleted, o.Key)
		if expired[tbl.Path(o.Key)] {
			rec.ExpiredFilesDeleted++
		} else {
			rec.OrphanFilesDeleted++
		}
	}
	for _, o := range orphans.Young {
		rec.YoungOrphans = append(rec.YoungOrphans, o.Key)
	}
	rec.YoungOrphansKept = len(rec.YoungOrphans)
	if err != nil {
		return err
	}
	if err := m.deletes(ctx, tbl, s, now, rec); err != nil {
		return err
	}
	st, err := tbl.Load(ctx)
	if err != nil {
		return err
	}
	rec.SnapshotsKept = len(st.Meta.Snapshots)
	return nil
}

// deletes prunes and sweeps a change stream's deletes objects, after expiry (which unnames them).
func (m *Maintainer) deletes(ctx context.Context, tbl *iceberg.Table, s Settings, now time.Time, rec *Record) error {
	if c := m.Promoter.Contracts[tbl.Name]; c == nil || !cdc.IsChangeStream(c) {
		return nil
	}
	res, err := m.Promoter.MaintainDeletes(ctx, tbl.Name, now.Add(-time.Duration(s.CDCDeleteRetentionDays)*24*time.Hour), now.Add(-s.OrphanAge))
	if res.Deferred {
		rec.Skipped = append(rec.Skipped, "the change stream's deletes: a promotion holds the table (the next run prunes them)")
	}
	rec.DeletesPruned, rec.DeletesKept = res.Pruned, res.Kept
	rec.DeletesObjects, rec.DeletesObjectsDeleted, rec.DeletesObjectsYoung = res.Removed, len(res.Removed), len(res.Young)
	return err
}

// compact runs promote's compaction on the partitions with at least two files under half the
// target size, oldest partitions first, at most CompactPartitions of them.
func (m *Maintainer) compact(ctx context.Context, tbl *iceberg.Table, s Settings, rec *Record) error {
	st, err := tbl.Load(ctx)
	if err != nil {
		return err
	}
	files, err := st.Files(ctx, 0)
	if err != nil {
		return err
	}
	target := m.Promoter.TargetBytes
	if target <= 0 {
		target = promote.DefaultTargetBytes
	}
	small := map[zone.Partition]int{}
	for _, f := range files {
		key, err := tbl.Key(f.Path)
		if err != nil {
			return err
		}
		part, ok := partitionOf(tbl.Name, key)
		if ok && f.Size < target/2 {
			small[part]++
		}
	}
	var parts []zone.Partition
	for p, n := range small {
		if n >= 2 {
			parts = append(parts, p)
		}
	}
	slices.SortFunc(parts, func(a, b zone.Partition) int { return strings.Compare(a.Path(), b.Path()) })
	if len(parts) > s.CompactPartitions {
		rec.Skipped = append(rec.Skipped, fmt.Sprintf("%d partitions beyond compact_partitions=%d: the next run compacts them", len(parts)-s.CompactPartitions, s.CompactPartitions))
		parts = parts[:s.CompactPartitions]
	}
	for _, part := range parts {
		res, err := m.Promoter.Compact(ctx, tbl.Name, part)
		if err != nil {
			return err
		}
		switch {
		case res.Deferred:
			rec.Skipped = append(rec.Skipped, part.Path()+": a promotion holds it (and compacts it)")
		case res.Skipped != "":
			rec.Skipped = append(rec.Skipped, part.Path()+": "+res.Skipped+" (its next promotion recomputes it)")
		case len(res.Deleted) > 0:
			rec.PartitionsCompacted++
			rec.FilesCompacted += len(res.Deleted)
			for _, o := range res.Outputs {
				if !o.Unchanged {
					rec.FilesWritten++
				}
			}
		}
	}
	return nil
}

// partitionOf reads the partition of a curated data file's key: <dataset>/data/dt=…/hr=…/name.
func partitionOf(dataset, key string) (zone.Partition, bool) {
	rest, ok := strings.CutPrefix(key, dataset+"/"+zone.TableData+"/")
	if !ok {
		return zone.Partition{}, false
	}
	ds, part, _, err := zone.ParseKey(dataset + "/" + rest)
	return part, err == nil && ds == dataset
}

// Summary is the record without its lists of keys (which the stored record keeps): what fits in
// a function's answer however many files a run deleted.
func (r Record) Summary() Record {
	r.Deleted, r.YoungOrphans, r.DeletesObjects = nil, nil, nil
	return r
}

func (m *Maintainer) record(ctx context.Context, rec *Record) error {
	body, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	rec.Key = RecordPrefix + rec.Dataset + "/" + rec.Started.Format("20060102T150405.000Z") + "-" + rec.Run + ".json"
	store := m.Promoter.Curated
	if _, err := store.Put(ctx, rec.Key, body, objectstore.PutOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("write the run's record %s/%s: %w", store.Bucket(), rec.Key, err)
	}
	return nil
}
