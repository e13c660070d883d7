package iceberg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sluicelake/sluice/shared/objectstore"
)

// Table is one Iceberg table: its files in a bucket, its pointer in a catalog.
type Table struct {
	// Name is the table's name in the catalog (the dataset's).
	Name    string
	Store   objectstore.Store
	Catalog Catalog
	// Root is the key prefix of the table in Store, without a trailing slash (the dataset).
	Root string
	// MaxAttempts bounds how often a commit that loses a race re-plans; zero means 10.
	MaxAttempts int
	// MaxManifests bounds the manifests of a snapshot: a commit that would list more merges
	// them into one, so that reading a table (which every promotion does) stays a few requests
	// however many snapshots made it. Zero means 64.
	MaxManifests int
	// Now stamps snapshots; nil means time.Now.
	Now func() time.Time
}

// Location is the table's location: s3://bucket/root.
func (t *Table) Location() string { return "s3://" + t.Store.Bucket() + "/" + t.Root }

// Path is the full location of a key of the table's bucket.
func (t *Table) Path(key string) string { return "s3://" + t.Store.Bucket() + "/" + key }

// Key is the bucket key of a full location in the table's bucket.
func (t *Table) Key(path string) (string, error) {
	prefix := "s3://" + t.Store.Bucket() + "/"
	if !strings.HasPrefix(path, prefix) {
		return "", fmt.Errorf("iceberg: %s is not in bucket %s, where table %s lives", path, t.Store.Bucket(), t.Name)
	}
	return strings.TrimPrefix(path, prefix), nil
}

// DataPrefix is where the table's data files go: <root>/data/.
func (t *Table) DataPrefix() string { return t.Root + "/data/" }

// MetadataPrefix is where the table's metadata files go: <root>/metadata/.
func (t *Table) MetadataPrefix() string { return t.Root + "/metadata/" }

func (t *Table) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// State is a table as loaded from its catalog.
type State struct {
	Meta    *Metadata
	Pointer Pointer
	t       *Table
	files   map[int64][]DataFile
}

// Load reads the table's current metadata. A table the catalog does not hold returns an error
// wrapping ErrNoTable.
func (t *Table) Load(ctx context.Context) (*State, error) {
	p, err := t.Catalog.Load(ctx, t.Name)
	if err != nil {
		return nil, err
	}
	b, err := t.read(ctx, p.Location)
	if err != nil {
		return nil, fmt.Errorf("iceberg: table %s: current metadata: %w", t.Name, err)
	}
	m, err := ParseMetadata(b)
	if err != nil {
		return nil, fmt.Errorf("iceberg: table %s: %s: %w", t.Name, p.Location, err)
	}
	return &State{Meta: m, Pointer: p, t: t, files: map[int64][]DataFile{}}, nil
}

// Create makes the table with metadata m if the catalog does not hold it yet; when it does
// (another writer created it first) it loads that one instead.
func (t *Table) Create(ctx context.Context, m *Metadata) (*State, error) {
	loc, err := t.writeMetadata(ctx, m, 0)
	if err != nil {
		return nil, err
	}
	p, err := t.Catalog.Swap(ctx, t.Name, Pointer{}, Update{Location: loc, Metadata: m})
	if errors.Is(err, ErrConflict) {
		_ = t.Store.Delete(ctx, mustKey(t, loc))
		return t.Load(ctx)
	}
	if err != nil {
		return nil, err
	}
	return &State{Meta: m, Pointer: p, t: t, files: map[int64][]DataFile{}}, nil
}

func mustKey(t *Table, path string) string {
	k, _ := t.Key(path)
	return k
}

func (t *Table) read(ctx context.Context, path string) ([]byte, error) {
	key, err := t.Key(path)
	if err != nil {
		return nil, err
	}
	rc, _, err := t.Store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// Files lists the live data files of snapshot id (0: the current snapshot; none for a table
// with no snapshot), sorted by path: what a reader of that snapshot reads.
func (s *State) Files(ctx context.Context, id int64) ([]DataFile, error) {
	if id == 0 {
		cur := s.Meta.Current()
		if cur == nil {
			return nil, nil
		}
		id = cur.SnapshotID
	}
	if f, ok := s.files[id]; ok {
		return f, nil
	}
	snap := s.Meta.Snapshot(id)
	if snap == nil {
		return nil, fmt.Errorf("iceberg: table %s has no snapshot %d (expired, or never made): list its history for the ones it has", s.t.Name, id)
	}
	mfs, err := s.t.manifests(ctx, snap)
	if err != nil {
		return nil, err
	}
	var out []DataFile
	for _, mf := range mfs {
		entries, err := s.t.entries(ctx, mf.Path)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Status != statusDeleted {
				out = append(out, e.dataFile())
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	s.files[id] = out
	return out, nil
}

// FilesAsOf lists the data files of the snapshot current at time at, and which it was.
func (s *State) FilesAsOf(ctx context.Context, at time.Time) (*Snapshot, []DataFile, error) {
	snap := s.Meta.SnapshotAsOf(at)
	if snap == nil {
		return nil, nil, fmt.Errorf("iceberg: table %s had no snapshot at %s: its history starts later", s.t.Name, at.UTC().Format(time.RFC3339))
	}
	files, err := s.Files(ctx, snap.SnapshotID)
	return snap, files, err
}

func (e *manifestEntry) dataFile() DataFile {
	d := DataFile{Path: e.DataFile.FilePath, Records: e.DataFile.RecordCount, Size: e.DataFile.FileSizeInBytes, Partition: map[string]int{}}
	for k, v := range e.DataFile.Partition {
		switch n := v.(type) {
		case int:
			d.Partition[k] = n
		case int32:
			d.Partition[k] = int(n)
		case int64:
			d.Partition[k] = int(n)
		}
	}
	if e.SnapshotID != nil {
		d.SnapshotID = *e.SnapshotID
	}
	if e.SequenceNumber != nil {
		d.SequenceNumber = *e.SequenceNumber
	}
	if e.FileSequenceNumber != nil {
		d.FileSequence = *e.FileSequenceNumber
	}
	return d
}

func (t *Table) manifests(ctx context.Context, snap *Snapshot) ([]manifestFile, error) {
	b, err := t.read(ctx, snap.ManifestList)
	if err != nil {
		return nil, fmt.Errorf("iceberg: table %s snapshot %d: %w", t.Name, snap.SnapshotID, err)
	}
	mfs, err := readManifestList(b)
	if err != nil {
		return nil, fmt.Errorf("iceberg: table %s snapshot %d: %s: %w", t.Name, snap.SnapshotID, snap.ManifestList, err)
	}
	return mfs, nil
}

func (t *Table) entries(ctx context.Context, path string) ([]manifestEntry, error) {
	b, err := t.read(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("iceberg: table %s: %w", t.Name, err)
	}
	es, err := readManifest(b)
	if err != nil {
		return nil, fmt.Errorf("iceberg: table %s: %s: %w", t.Name, path, err)
	}
	return es, nil
}

// Operations a snapshot's summary names.
const (
	OpAppend    = "append"
	OpOverwrite = "overwrite"
	OpReplace   = "replace" // the same rows in other files: compaction
	OpDelete    = "delete"
)

// Change is what one snapshot does to the current one.
type Change struct {
	// Operation is OpAppend when Remove is empty, else OpOverwrite (rows change), OpReplace
	// (rows stay, files change: compaction) or OpDelete (rows only go).
	Operation string
	Add       []DataFile
	// Remove lists the paths of current files the snapshot drops. A path that is not live in
	// the snapshot the change is planned on fails the commit: the planner re-plans.
	Remove []string
	// Restore, for a rollback, is the snapshot whose files the new snapshot has; Add and
	// Remove are then ignored.
	Restore *int64
	// Run is the id of the run making the snapshot, kept in its summary.
	Run string
	// Summary adds entries to the snapshot's summary.
	Summary map[string]string
	// Schema, when set, becomes the table's current schema first (schema evolution) with
	// LastColumnID.
	Schema       *Schema
	LastColumnID int
}

// ErrNotLive is returned (wrapped) by a commit that removes a file the table no longer has.
var ErrNotLive = errors.New("iceberg: file is not live in the table")

// Plan decides a change from the table's state. It is called again, on fresh state, each time
// a commit loses a race; it returns nil to commit nothing.
type Plan func(ctx context.Context, s *State) (*Change, error)

// Commit plans a change on the current state and commits it as one snapshot, retrying with
// a fresh state (and a new plan) when another commit wins the race. It returns the snapshot
// made, nil when the plan asked for none.
func (t *Table) Commit(ctx context.Context, plan Plan) (*Snapshot, error) {
	attempts := t.MaxAttempts
	if attempts <= 0 {
		attempts = 10
	}
	var lastErr error
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			// Back off a little, with jitter, so that racing writers do not collide again.
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(rand.IntN(20*attempt)+5) * time.Millisecond):
			}
		}
		s, err := t.Load(ctx)
		if err != nil {
			return nil, err
		}
		ch, err := plan(ctx, s)
		if err != nil || ch == nil {
			return nil, err
		}
		snap, err := t.apply(ctx, s, ch)
		if errors.Is(err, ErrConflict) {
			lastErr = err
			continue
		}
		return snap, err
	}
	return nil, fmt.Errorf("iceberg: table %s: %d commits in a row lost to concurrent ones; retry later: %w", t.Name, attempts, lastErr)
}

// apply writes ch's manifests, manifest list and metadata and swaps the catalog pointer.
func (t *Table) apply(ctx context.Context, s *State, ch *Change) (*Snapshot, error) {
	m := s.Meta.clone()
	if ch.Schema != nil {
		m.SetSchema(ch.Schema, ch.LastColumnID)
	}
	schema, spec := m.CurrentSchema(), m.Spec()
	parent := m.Current()
	seq := m.LastSequenceNumber + 1
	id := newSnapshotID(m)
	now := t.now()
	if parent != nil && now.UnixMilli() <= parent.TimestampMs {
		// Snapshot times must increase for time travel to be unambiguous.
		now = time.UnixMilli(parent.TimestampMs + 1)
	}
	var before []DataFile
	var parentMfs []manifestFile
	if parent != nil {
		var err error
		if before, err = s.Files(ctx, parent.SnapshotID); err != nil {
			return nil, err
		}
		if parentMfs, err = t.manifests(ctx, parent); err != nil {
			return nil, err
		}
	}
	var list []manifestFile
	var added, removed []DataFile
	op := ch.Operation
	if ch.Restore != nil {
		target := m.Snapshot(*ch.Restore)
		if target == nil {
			return nil, fmt.Errorf("iceberg: table %s has no snapshot %d to roll back to (expired, or never made): list its history", t.Name, *ch.Restore)
		}
		// The state of target is its manifests, reused as they are: nothing is rewritten.
		mfs, err := t.manifests(ctx, target)
		if err != nil {
			return nil, err
		}
		list = mfs
		after, err := s.Files(ctx, target.SnapshotID)
		if err != nil {
			return nil, err
		}
		added, removed = diff(after, before), diff(before, after)
		op = OpOverwrite
	} else {
		gone := map[string]bool{}
		for _, p := range ch.Remove {
			gone[p] = true
		}
		live := map[string]bool{}
		for _, f := range before {
			live[f.Path] = true
			if gone[f.Path] {
				removed = append(removed, f)
			}
		}
		for _, p := range ch.Remove {
			if !live[p] {
				return nil, fmt.Errorf("%w: %s is not in table %s's current snapshot (another commit removed it): plan again", ErrNotLive, p, t.Name)
			}
		}
		for _, f := range ch.Add {
			if live[f.Path] && !gone[f.Path] {
				return nil, fmt.Errorf("iceberg: table %s already has %s: data files are immutable, write new ones under new names", t.Name, f.Path)
			}
		}
		added = ch.Add
		if op == "" {
			op = OpAppend
			if len(ch.Remove) > 0 {
				op = OpOverwrite
			}
		}
		for _, mf := range parentMfs {
			if len(gone) == 0 {
				list = append(list, mf)
				continue
			}
			nf, err := t.rewriteWithout(ctx, mf, gone, schema, spec, id, seq)
			if err != nil {
				return nil, err
			}
			list = append(list, nf)
		}
		if len(added) > 0 {
			entries := make([]manifestEntry, 0, len(added))
			for _, f := range added {
				entries = append(entries, manifestEntry{Status: statusAdded, SnapshotID: &id, SequenceNumber: &seq, FileSequenceNumber: &seq,
					DataFile: dataFileRec{FilePath: f.Path, FileFormat: "PARQUET", Partition: partitionRec(f.Partition), RecordCount: f.Records, FileSizeInBytes: f.Size}})
			}
			mf, err := t.putManifest(ctx, schema, spec, entries, id, seq)
			if err != nil {
				return nil, err
			}
			mf.Partitions = partitionSummaries(spec, added)
			// New files first: readers that stop early (limits) see the newest data.
			list = append([]manifestFile{mf}, list...)
		}
	}
	limit := t.MaxManifests
	if limit <= 0 {
		limit = 64
	}
	if len(list) > limit {
		merged, err := t.merge(ctx, list, schema, spec, id, seq)
		if err != nil {
			return nil, err
		}
		list = []manifestFile{merged}
	}
	listBody, err := writeManifestList(id, parentID(parent), seq, list)
	if err != nil {
		return nil, err
	}
	listKey := fmt.Sprintf("%ssnap-%d-%s.avro", t.MetadataPrefix(), id, uuid.NewString())
	if _, err := t.Store.Put(ctx, listKey, listBody, objectstore.PutOptions{ContentType: "avro/binary"}); err != nil {
		return nil, fmt.Errorf("iceberg: write manifest list %s/%s: %w", t.Store.Bucket(), listKey, err)
	}
	sum := summary(op, added, removed, before, ch)
	schemaID := m.CurrentSchemaID
	m.addSnapshot(Snapshot{SnapshotID: id, ParentSnapshotID: parentID(parent), SequenceNumber: seq, TimestampMs: now.UnixMilli(),
		ManifestList: t.Path(listKey), Summary: sum, SchemaID: &schemaID})
	if err := t.swap(ctx, s, m); err != nil {
		return nil, err
	}
	return m.Current(), nil
}

// swap writes m as the next metadata file and points the catalog at it.
func (t *Table) swap(ctx context.Context, s *State, m *Metadata) error {
	m.MetadataLog = append(m.MetadataLog, MetadataLogEntry{TimestampMs: s.Meta.LastUpdatedMs, MetadataFile: s.Pointer.Location})
	loc, err := t.writeMetadata(ctx, m, len(m.MetadataLog))
	if err != nil {
		return err
	}
	if _, err := t.Catalog.Swap(ctx, t.Name, s.Pointer, Update{Location: loc, Metadata: m}); err != nil {
		// The loser's metadata file is never current; remove it so it is not mistaken for history.
		_ = t.Store.Delete(context.WithoutCancel(ctx), mustKey(t, loc))
		return err
	}
	return nil
}

func parentID(s *Snapshot) *int64 {
	if s == nil {
		return nil
	}
	id := s.SnapshotID
	return &id
}

func partitionRec(p map[string]int) map[string]any {
	out := make(map[string]any, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

func (t *Table) writeMetadata(ctx context.Context, m *Metadata, version int) (string, error) {
	b, err := jsonIndent(m)
	if err != nil {
		return "", err
	}
	key := fmt.Sprintf("%s%05d-%s.metadata.json", t.MetadataPrefix(), version, uuid.NewString())
	if _, err := t.Store.Put(ctx, key, b, objectstore.PutOptions{ContentType: "application/json", IfNoneMatch: true}); err != nil {
		return "", fmt.Errorf("iceberg: write metadata %s/%s: %w", t.Store.Bucket(), key, err)
	}
	return t.Path(key), nil
}

func (t *Table) putManifest(ctx context.Context, schema *Schema, spec *PartitionSpec, entries []manifestEntry, id, seq int64) (manifestFile, error) {
	body, err := writeManifest(schema, spec, entries)
	if err != nil {
		return manifestFile{}, err
	}
	key := fmt.Sprintf("%s%s-m0.avro", t.MetadataPrefix(), uuid.NewString())
	if _, err := t.Store.Put(ctx, key, body, objectstore.PutOptions{ContentType: "avro/binary"}); err != nil {
		return manifestFile{}, fmt.Errorf("iceberg: write manifest %s/%s: %w", t.Store.Bucket(), key, err)
	}
	mf := manifestFile{Path: t.Path(key), Length: int64(len(body)), SpecID: spec.SpecID, SequenceNumber: seq, MinSequenceNumber: seq, AddedSnapshotID: id}
	var files []DataFile
	for _, e := range entries {
		switch e.Status {
		case statusAdded:
			mf.AddedFiles++
			mf.AddedRows += e.DataFile.RecordCount
		case statusExisting:
			mf.ExistingFiles++
			mf.ExistingRows += e.DataFile.RecordCount
		case statusDeleted:
			mf.DeletedFiles++
			mf.DeletedRows += e.DataFile.RecordCount
		}
		if e.SequenceNumber != nil {
			mf.MinSequenceNumber = min(mf.MinSequenceNumber, *e.SequenceNumber)
		}
		if e.Status != statusDeleted {
			files = append(files, e.dataFile())
		}
	}
	mf.Partitions = partitionSummaries(spec, files)
	return mf, nil
}

// rewriteWithout returns mf, or when it lists a file in gone, a new manifest where those
// entries are marked deleted by snapshot id and the rest kept as existing.
// sluice has one partition spec per table, so spec is the manifest's.
func (t *Table) rewriteWithout(ctx context.Context, mf manifestFile, gone map[string]bool, schema *Schema, spec *PartitionSpec, id, seq int64) (manifestFile, error) {
	entries, err := t.entries(ctx, mf.Path)
	if err != nil {
		return mf, err
	}
	hit := slices.ContainsFunc(entries, func(e manifestEntry) bool { return e.Status != statusDeleted && gone[e.DataFile.FilePath] })
	if !hit {
		return mf, nil
	}
	var out []manifestEntry
	for _, e := range entries {
		switch {
		case e.Status == statusDeleted:
			continue // deleted by an earlier snapshot: no longer worth carrying
		case gone[e.DataFile.FilePath]:
			e.Status = statusDeleted
			e.SnapshotID = &id
		default:
			e.Status = statusExisting
		}
		out = append(out, e)
	}
	nf, err := t.putManifest(ctx, schema, spec, out, id, seq)
	if err != nil {
		return mf, err
	}
	nf.AddedSnapshotID = id
	return nf, nil
}

func newSnapshotID(m *Metadata) int64 {
	for {
		id := rand.Int64N(1<<53) + 1 // within a double's exact range, for JSON readers
		if m.Snapshot(id) == nil {
			return id
		}
	}
}

// diff lists the files of a that are not in b, by path.
func diff(a, b []DataFile) []DataFile {
	in := map[string]bool{}
	for _, f := range b {
		in[f.Path] = true
	}
	var out []DataFile
	for _, f := range a {
		if !in[f.Path] {
			out = append(out, f)
		}
	}
	return out
}

func summary(op string, added, removed, before []DataFile, ch *Change) map[string]string {
	var addRows, addSize, delRows, delSize, totRows, totSize int64
	for _, f := range added {
		addRows += f.Records
		addSize += f.Size
	}
	for _, f := range removed {
		delRows += f.Records
		delSize += f.Size
	}
	for _, f := range before {
		totRows += f.Records
		totSize += f.Size
	}
	totRows += addRows - delRows
	totSize += addSize - delSize
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	s := map[string]string{
		"operation":          op,
		"added-data-files":   i(int64(len(added))),
		"deleted-data-files": i(int64(len(removed))),
		"added-records":      i(addRows),
		"deleted-records":    i(delRows),
		"added-files-size":   i(addSize),
		"removed-files-size": i(delSize),
		"total-records":      i(totRows),
		"total-files-size":   i(totSize),
		"total-data-files":   i(int64(len(before) + len(added) - len(removed))),
		"total-delete-files": "0", "total-position-deletes": "0", "total-equality-deletes": "0",
	}
	if ch.Run != "" {
		s[SummaryRun] = ch.Run
	}
	if ch.Restore != nil {
		s[SummaryRollbackTo] = i(*ch.Restore)
	}
	for k, v := range ch.Summary {
		s[k] = v
	}
	return s
}

func jsonIndent(m *Metadata) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("iceberg: encode metadata: %w", err)
	}
	return b, nil
}

// Rollback commits a new snapshot whose files are those of snapshot id: the table's state goes
// back to it while its history is kept (the snapshots after id stay, for audit and for rolling
// forward again). run names the run doing it, in the snapshot's summary.
func (t *Table) Rollback(ctx context.Context, id int64, run string) (*Snapshot, error) {
	return t.Commit(ctx, func(_ context.Context, s *State) (*Change, error) {
		if s.Meta.Snapshot(id) == nil {
			return nil, fmt.Errorf("iceberg: table %s has no snapshot %d to roll back to (expired, or never made): list its history", t.Name, id)
		}
		return &Change{Restore: &id, Run: run}, nil
	})
}

// History lists the table's snapshots, oldest first.
func (t *Table) History(ctx context.Context) ([]History, error) {
	s, err := t.Load(ctx)
	if err != nil {
		return nil, err
	}
	return s.Meta.History(), nil
}

// merge rewrites manifests as one: entries this snapshot added or deleted keep their status,
// others become existing, and entries deleted by earlier snapshots are dropped.
func (t *Table) merge(ctx context.Context, list []manifestFile, schema *Schema, spec *PartitionSpec, id, seq int64) (manifestFile, error) {
	var all []manifestEntry
	for _, mf := range list {
		entries, err := t.entries(ctx, mf.Path)
		if err != nil {
			return manifestFile{}, err
		}
		for _, e := range entries {
			ours := e.SnapshotID != nil && *e.SnapshotID == id
			switch {
			case e.Status == statusDeleted && !ours:
				continue
			case !ours:
				e.Status = statusExisting
			}
			all = append(all, e)
		}
	}
	return t.putManifest(ctx, schema, spec, all, id, seq)
}
