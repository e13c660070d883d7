// Package erase removes every row of one key from the lake (the right to be forgotten): the
// rows of the raw archive, the cleansed and curated zones and the quarantine entries holding
// the key, and then the noncurrent object versions and Iceberg snapshots that would still give
// them back. It returns what it did as a Report, whose counts add up to what changed.
//
// A key is matched as each zone stores it: the value as sent in raw, cleansed and quarantine,
// and in curated the value the contract's PII policy made of it (the keyed hash for a field
// whose policy is hash). Objects are matched by content, not by name, because producers drop
// files named as they like: Parquet rows whose column equals the value exactly, and in
// line-oriented objects (JSON lines, CSV, quarantine entries, Firehose error documents, gzip'd
// or not) the lines holding the value as a whole token, also inside base64 strings, which is how
// quarantine keeps an original record.
package erase

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/zone"
)

// Job names erasure in the provenance of the objects it rewrites, so lineage records it.
const Job = "erase"

// Eraser erases keys from the zone buckets of one lake.
type Eraser struct {
	Contracts map[string]*contract.Contract
	// Stores are the zone buckets to erase from (raw, cleansed, curated, quarantine). A
	// missing zone is not erased, and the report says so.
	Stores map[zone.Zone]objectstore.Store
	// Catalog is the curated tables' catalog; nil keeps the pointer in the curated bucket,
	// as promote does without Glue.
	Catalog iceberg.Catalog
	// PIIKey is promote's key for hashed fields: erasing by a hashed field needs it.
	PIIKey []byte
	// Grace is how long a snapshot that still references a removed file is kept after the
	// snapshot that removed it, for queries that loaded the table before: zero expires them at
	// once. The report says when the rest may go; table maintenance (or erasing the same key
	// again) then expires them.
	Grace time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Request names what to erase.
type Request struct {
	Dataset string `json:"dataset"`
	// Field is the column holding the key; empty means the dataset's key (a one-column key).
	// The field must be a string kept as is or hashed in curated, or an integer kept as is (Key
	// is then its digits).
	Field string `json:"field,omitempty"`
	Key   string `json:"key"`
	// Run names the erasure in the objects it rewrites and the snapshot it commits.
	Run string `json:"-"`
}

// UnmarshalJSON reads a request, refusing members it does not know, with the key as a string
// or, for an integer field, as a JSON number: {"key": 42} as a caller would write an id.
func (r *Request) UnmarshalJSON(b []byte) error {
	type plain Request // without this method
	var in struct {
		plain
		Key json.RawMessage `json:"key"`
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&in); err != nil {
		return err
	}
	*r = Request(in.plain)
	if len(in.Key) == 0 || string(in.Key) == "null" {
		return nil
	}
	if in.Key[0] == '"' {
		return json.Unmarshal(in.Key, &r.Key)
	}
	var n json.Number
	if err := json.Unmarshal(in.Key, &n); err != nil {
		return fmt.Errorf("key: want a string, or an integer's digits: %w", err)
	}
	r.Key = n.String() // check tells whether the field takes it
	return nil
}

// Zone is what erasure did in one zone bucket.
type Zone struct {
	Zone   zone.Zone `json:"zone"`
	Bucket string    `json:"bucket"`
	// Scanned objects, of which Rewritten kept rows and Deleted kept none.
	Scanned   int      `json:"objects_scanned"`
	Rewritten []string `json:"files_rewritten,omitempty"`
	Deleted   []string `json:"files_deleted,omitempty"`
	// Rows is how many rows (lines, quarantine entries) holding the key were removed from the
	// current objects.
	Rows int64 `json:"rows_removed"`
	// Versions counts the noncurrent versions holding the key that were deleted for good.
	Versions int `json:"versions_deleted"`
}

// Report is what an erasure did. It never contains the key.
type Report struct {
	Dataset string `json:"dataset"`
	Field   string `json:"field"`
	Run     string `json:"run"`
	Zones   []Zone `json:"zones"`
	// Files, Rows and Versions total the zones' counts.
	FilesRewritten int   `json:"files_rewritten"`
	FilesDeleted   int   `json:"files_deleted"`
	RowsRemoved    int64 `json:"rows_removed"`
	Versions       int   `json:"versions_deleted"`
	// Snapshot is the curated snapshot that dropped the key's rows (0 when none held any).
	Snapshot int64 `json:"snapshot_id,omitempty"`
	// Expired are the snapshots expired because they referenced a file holding the key, and
	// ExpiredFiles the data files, manifests and manifest lists deleted with them.
	Expired      []int64 `json:"snapshots_expired"`
	ExpiredFiles int     `json:"expired_files_deleted"`
	// Pending are snapshots still referencing such files, kept for the grace period until
	// PendingUntil. PendingRecord is where they are recorded (under PendingPrefix in the
	// curated bucket): table maintenance expires them once it has passed, and so does erasing
	// the same key again.
	Pending       []int64   `json:"snapshots_pending,omitempty"`
	PendingUntil  time.Time `json:"pending_until,omitzero"`
	PendingRecord string    `json:"pending_record,omitempty"`
	// Missing names zones the eraser was given no bucket for.
	Missing []zone.Zone `json:"zones_not_erased,omitempty"`
}

// ErrInvalid is returned (wrapped) for a request that cannot be carried out as asked: the
// message says what to change. Callers answer it with a 400.
var ErrInvalid = errors.New("erase: invalid request")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// zones is the order zones are erased in: upstream first, so that a promotion running
// meanwhile cannot bring rows back from a zone not yet erased (and a repeat finishes the job).
var zones = []zone.Zone{zone.Raw, zone.Cleansed, zone.Quarantine, zone.Curated}

// Erase removes every row of req.Key from the zones and returns what it did. An erasure that
// fails half way can be repeated: what was erased is not found again.
func (e *Eraser) Erase(ctx context.Context, req Request) (*Report, error) {
	c, field, find, err := e.check(req)
	if err != nil {
		return nil, err
	}
	stored := find
	if field.PII == contract.Hash {
		stored.value = promote.HashHex(e.PIIKey, []byte(req.Key))
	}
	rep := &Report{Dataset: c.Name, Field: field.Name, Run: req.Run, Expired: []int64{}}
	ctx = provenance.WithRun(ctx, req.Run)
	for _, z := range zones {
		s := e.Stores[z]
		if s == nil {
			rep.Missing = append(rep.Missing, z)
			continue
		}
		zr := Zone{Zone: z, Bucket: s.Bucket()}
		t := find
		if z == zone.Curated {
			t = stored
			if err := e.curated(ctx, c, t, s, &zr, rep); err != nil {
				return nil, err
			}
		} else if err := e.objects(ctx, c, z, t, s, &zr); err != nil {
			return nil, err
		}
		if err := e.versions(ctx, s, prefixOf(c, z), t, &zr); err != nil {
			return nil, err
		}
		rep.add(zr)
	}
	return rep, nil
}

func (r *Report) add(z Zone) {
	r.Zones = append(r.Zones, z)
	r.FilesRewritten += len(z.Rewritten)
	r.FilesDeleted += len(z.Deleted)
	r.RowsRemoved += z.Rows
	r.Versions += z.Versions
}

// check validates req and says what to look for: the field, and its value as raw, cleansed and
// quarantine hold it.
func (e *Eraser) check(req Request) (*contract.Contract, *contract.Field, target, error) {
	c := e.Contracts[req.Dataset]
	if c == nil {
		return nil, nil, target{}, invalid("no dataset %q", req.Dataset)
	}
	if req.Key == "" {
		return nil, nil, target{}, invalid("give the key value to erase: {\"dataset\": %q, \"key\": \"...\"}", c.Name)
	}
	name := req.Field
	if name == "" {
		if len(c.Key) != 1 {
			return nil, nil, target{}, invalid("%s has a key of %d fields: name the field to erase by with \"field\"", c.Name, len(c.Key))
		}
		name = c.Fields[c.Key[0]].Name
	}
	f, ok := c.Field(name)
	if !ok {
		return nil, nil, target{}, invalid("%s has no field %q", c.Name, name)
	}
	find := target{column: f.Name, value: req.Key}
	switch f.Kind {
	case contract.String:
	case contract.Int, contract.Long:
		bits := 64
		if f.Kind == contract.Int {
			bits = 32
		}
		n, err := strconv.ParseInt(req.Key, 10, bits)
		if err != nil {
			return nil, nil, target{}, invalid("field %s of %s is a %s: give the key as its digits, not %q", f.Name, c.Name, f.Kind, req.Key)
		}
		find.num = &n
	default:
		return nil, nil, target{}, invalid("field %s of %s is a %s: erasure matches string and integer keys (user ids, uuids, emails, numeric ids)", f.Name, c.Name, f.Kind)
	}
	switch f.PII {
	case contract.Mask, contract.Drop:
		return nil, nil, target{}, invalid("field %s of %s is %sed in curated, so its rows there cannot be found by it: erase by the dataset's key or a kept or hashed field", f.Name, c.Name, f.PII)
	case contract.Hash:
		if len(e.PIIKey) == 0 {
			return nil, nil, target{}, fmt.Errorf("erase: field %s of %s is hashed in curated and no PII key is configured: give the eraser promote's key (SLUICE_PII_KEY_SECRET_ARN, or SLUICE_PII_KEY locally)", f.Name, c.Name)
		}
	}
	return c, f, find, nil
}

func (e *Eraser) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// objects erases the key from every current object of a zone other than curated: each object
// is read and, if it holds the key, rewritten without those rows, or deleted when none is left.
func (e *Eraser) objects(ctx context.Context, c *contract.Contract, z zone.Zone, t target, s objectstore.Store, zr *Zone) error {
	list, err := s.List(ctx, prefixOf(c, z))
	if err != nil {
		return fmt.Errorf("erase: list %s: %w", z, err)
	}
	for _, o := range list {
		if isLineage(o.Key) {
			continue
		}
		zr.Scanned++
		body, info, err := get(ctx, s, o.Key)
		if err != nil {
			return err
		}
		out, removed, kept, err := filter(body, t)
		if err != nil {
			return fmt.Errorf("erase: read s3://%s/%s: %w", s.Bucket(), o.Key, err)
		}
		if removed == 0 {
			continue
		}
		zr.Rows += removed
		if kept == 0 {
			if err := s.Delete(ctx, o.Key); err != nil {
				return fmt.Errorf("erase: %w", err)
			}
			zr.Deleted = append(zr.Deleted, o.Key)
			continue
		}
		kind := provenance.Data
		if z == zone.Quarantine {
			kind = provenance.Quarantine
		}
		rec := &provenance.Record{Job: Job, Run: provenance.RunOf(ctx), Dataset: c.Name, Kind: kind, Rows: kept,
			Inputs:  []provenance.Input{{Bucket: s.Bucket(), Key: o.Key, Version: info.Version, ETag: info.ETag, Rows: kept + removed}},
			Dropped: map[string]int64{"erased": removed}}
		if _, err := provenance.Put(ctx, s, o.Key, out, objectstore.PutOptions{ContentType: info.ContentType}, rec); err != nil {
			return fmt.Errorf("erase: rewrite s3://%s/%s: %w", s.Bucket(), o.Key, err)
		}
		zr.Rewritten = append(zr.Rewritten, o.Key)
	}
	return nil
}

// prefixOf is where a dataset's rows may be in a zone: under <dataset>/ in cleansed and
// curated; anywhere in raw (archive/<dataset>/, archive-errors/, landing/<dataset>/) and in
// quarantine (records whose dataset could not be told are under _unknown/).
func prefixOf(c *contract.Contract, z zone.Zone) string {
	if z == zone.Raw || z == zone.Quarantine {
		return ""
	}
	return c.Name + "/"
}

// isLineage tells provenance sidecars, which name objects but hold no rows.
func isLineage(key string) bool {
	return len(key) >= len(provenance.SidecarPrefix) && key[:len(provenance.SidecarPrefix)] == provenance.SidecarPrefix
}

func get(ctx context.Context, s objectstore.Store, key string) ([]byte, objectstore.Info, error) {
	rc, info, err := s.Get(ctx, key)
	if err != nil {
		return nil, info, fmt.Errorf("erase: %w", err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, rc); err != nil {
		return nil, info, fmt.Errorf("erase: read s3://%s/%s: %w", s.Bucket(), key, err)
	}
	return buf.Bytes(), info, nil
}

// versions deletes for good every noncurrent version in the bucket that holds the key: the
// old bytes of the objects just rewritten or deleted, and of any rewritten or deleted before
// (a compacted curated file, an overwritten object), which S3 keeps in a versioned bucket.
func (e *Eraser) versions(ctx context.Context, s objectstore.Store, prefix string, t target, zr *Zone) error {
	vl, ok := s.(objectstore.VersionLister)
	if !ok {
		return nil // an unversioned bucket keeps nothing older than its current objects
	}
	vr, ok := s.(objectstore.VersionReader)
	if !ok {
		return fmt.Errorf("erase: %s lists versions but cannot read them, so it cannot tell which hold the key", s.Bucket())
	}
	all, err := vl.ListVersions(ctx, prefix)
	if err != nil {
		return fmt.Errorf("erase: %w", err)
	}
	for _, v := range all {
		if v.Latest || v.DeleteMarker || isLineage(v.Key) {
			continue
		}
		rc, _, err := vr.GetAt(ctx, v.Key, objectstore.ReadOptions{Version: v.Version})
		if errors.Is(err, objectstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("erase: %w", err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("erase: read version %s of s3://%s/%s: %w", v.Version, s.Bucket(), v.Key, err)
		}
		_, removed, _, err := filter(body, t)
		if err != nil || removed == 0 {
			// Not a format erasure reads (an Iceberg manifest, a metadata file): it holds no rows.
			continue
		}
		if err := vl.DeleteVersion(ctx, v.Key, v.Version); err != nil {
			return fmt.Errorf("erase: %w", err)
		}
		zr.Versions++
	}
	return nil
}
