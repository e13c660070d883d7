// Package lineage records where every object in the lake came from. For each object-created
// event it reads the object's provenance (shared/provenance), builds an OpenLineage run event,
// stores it in the lineage dataset (shared/lineage/table) and, when an endpoint is configured,
// forwards it there.
//
// Recording is idempotent: the lineage object of an output is named after the output's
// bucket, key and version, and written only if absent, so a duplicated or replayed
// object-created event stores and forwards nothing twice.
package lineage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/openlineage"
	"github.com/sluicelake/sluice/shared/parquetmeta"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/zone"
)

// Namespace is the OpenLineage job namespace of the lake's jobs.
const Namespace = "sluice"

// Zone is one bucket whose objects get lineage.
type Zone struct {
	Zone  zone.Zone
	Store objectstore.Store
}

// Emitter sends an event to an OpenLineage endpoint.
type Emitter interface {
	Emit(ctx context.Context, event []byte) error
}

// Recorder turns object-created events into lineage records.
type Recorder struct {
	// Zones maps bucket names to the zones they hold.
	Zones map[string]Zone
	// Store is the lineage bucket.
	Store     objectstore.Store
	Contracts map[string]*contract.Contract
	// Stream and Region name the Kinesis stream Firehose archives into the raw zone, the
	// source of archive objects (which carry no provenance of their own).
	Stream, Region string
	// Sink, when set, receives every new event.
	Sink Emitter
	Log  *slog.Logger
}

// Outcome says what Record did with one object.
type Outcome string

const (
	Recorded  Outcome = "recorded"
	Duplicate Outcome = "duplicate" // the object's lineage was already recorded
	Skipped   Outcome = "skipped"   // not an output of the lake (a sidecar, lock, report)
	Gone      Outcome = "gone"      // deleted before its event was handled (compacted away)
	// Superseded: rewritten before its event was handled, in a bucket that keeps no versions
	// (the event named no version id and an ETag the object no longer has). That version can
	// no longer be read by anyone, and the rewrite's own event records what replaced it.
	Superseded Outcome = "superseded"
)

// Result is what Record did.
type Result struct {
	Outcome Outcome
	// Key is the lineage object's key; Event the OpenLineage event as JSON.
	Key   string
	Event []byte
	Rows  []table.Row
}

// Record records the lineage of the version of one object that at names: the version id
// from the event in a versioned bucket, else the event's ETag, which the current object must
// still have. An error means the event should be retried; an object that is gone (deleted,
// or a version that no longer exists) or superseded is done, and says so in the Outcome. A
// refused read (403) is an error naming the permission to grant, never taken for "gone".
func (r *Recorder) Record(ctx context.Context, bucket, key string, at objectstore.ReadOptions) (Result, error) {
	z, ok := r.Zones[bucket]
	if !ok {
		return Result{}, fmt.Errorf("lineage: bucket %q is not a zone of this lake (known: %v); check the trigger and SLUICE_*_BUCKET", bucket, r.bucketNames())
	}
	store, err := objectstore.Pin(z.Store, key, at)
	if err != nil {
		return Result{}, fmt.Errorf("lineage: %w", err)
	}
	// The lake's bookkeeping (locks, manifests, reports, sidecars) is skipped, but for markers
	// that carry provenance of their own (rows a promotion dropped without writing a file).
	book := zone.IsBookkeeping(key)
	info, err := store.Head(ctx, key)
	switch {
	case errors.Is(err, objectstore.ErrNotFound) && book:
		return Result{Outcome: Skipped}, nil // a released lock, most likely
	case errors.Is(err, objectstore.ErrNotFound):
		r.log().Info("object gone before its lineage was recorded", "bucket", bucket, "key", key, "version", at.Version)
		return Result{Outcome: Gone}, nil
	case errors.Is(err, objectstore.ErrPreconditionFailed):
		r.log().Info("object rewritten before its lineage was recorded; the rewrite's event records it", "bucket", bucket, "key", key, "etag", at.IfMatch)
		return Result{Outcome: Superseded}, nil
	case err != nil:
		return Result{}, fmt.Errorf("lineage: head %s/%s: %w", bucket, key, err)
	}
	version := at.Version
	if version == "" {
		version = info.Version
	}
	rec, err := provenance.Of(ctx, store, key, info.Metadata)
	switch {
	case errors.Is(err, provenance.ErrNone) && book:
		return Result{Outcome: Skipped}, nil
	case errors.Is(err, provenance.ErrNone):
		rec = r.foreign(z.Zone, key)
	case err != nil:
		return Result{}, err
	}
	if rec.Kind == provenance.Report {
		return Result{Outcome: Skipped}, nil
	}
	counted := err == nil // the writer's provenance counts its rows
	if !counted && z.Zone == zone.Raw {
		counted = r.countParquet(ctx, store, info, rec)
	}
	out := output{bucket: bucket, zone: z.Zone, info: info, version: version, rec: rec, dataset: datasetOf(z.Zone, key, rec), counted: counted}
	ev, err := r.event(ctx, out)
	if err != nil {
		return Result{}, err
	}
	rows := r.rows(out, ev)
	body, err := table.Encode(rows)
	if err != nil {
		return Result{}, fmt.Errorf("lineage: encode the record of %s/%s: %w", bucket, key, err)
	}
	res := Result{Outcome: Recorded, Key: table.Key(info.LastModified, recordID(bucket, key, out.etag())), Event: ev, Rows: rows}
	_, err = r.Store.Put(ctx, res.Key, body, objectstore.PutOptions{ContentType: "application/x-ndjson+gzip", IfNoneMatch: true})
	if errors.Is(err, objectstore.ErrPreconditionFailed) {
		res.Outcome = Duplicate
		return res, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("lineage: store %s/%s: %w", r.Store.Bucket(), res.Key, err)
	}
	if r.Sink != nil {
		if err := r.Sink.Emit(ctx, ev); err != nil {
			// Forget the record so the retry forwards it again rather than taking it for a duplicate.
			if derr := r.Store.Delete(ctx, res.Key); derr != nil {
				r.log().Error("could not remove a lineage record whose forwarding failed; the endpoint will miss it", "key", res.Key, "error", derr)
			}
			return Result{}, fmt.Errorf("lineage: forward the event of %s/%s: %w", bucket, key, err)
		}
	}
	return res, nil
}

// foreign is the provenance of an object the lake did not write: a Firehose archive object
// (from the stream) or a file someone dropped (a root).
func (r *Recorder) foreign(z zone.Zone, key string) *provenance.Record {
	if z == zone.Raw && (strings.HasPrefix(key, "archive/") || strings.HasPrefix(key, "archive-errors/")) {
		rec := &provenance.Record{Job: "firehose", Kind: provenance.Data}
		if strings.HasPrefix(key, "archive-errors/") {
			rec.Kind = provenance.Quarantine
		}
		if r.Stream != "" {
			rec.Inputs = []provenance.Input{{Stream: r.Stream}}
		}
		return rec
	}
	return &provenance.Record{Job: "upload", Kind: provenance.Data}
}

// datasetOf tells the dataset of an object: from its provenance, else from its key
// (landing/<dataset>/… in raw, <dataset>/dt=… elsewhere).
func datasetOf(z zone.Zone, key string, rec *provenance.Record) string {
	if rec.Dataset != "" {
		return rec.Dataset
	}
	parts := strings.Split(key, "/")
	if z == zone.Raw && len(parts) > 2 && (parts[0] == "landing" || parts[0] == "archive") {
		return parts[1]
	}
	if len(parts) > 1 {
		return parts[0]
	}
	return zone.Unknown
}

// recordID names the lineage object of one version of one object.
func recordID(bucket, key, version string) string {
	h := sha256.Sum256([]byte(bucket + "\x00" + key + "\x00" + version))
	return hex.EncodeToString(h[:16])
}

func (r *Recorder) bucketNames() []string {
	var out []string
	for b := range r.Zones {
		out = append(out, b)
	}
	return out
}

func (r *Recorder) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// output is the object whose lineage is being recorded.
type output struct {
	bucket, version, dataset string
	zone                     zone.Zone
	info                     objectstore.Info
	rec                      *provenance.Record
	// counted is whether rec.Rows is known: from the writer's provenance, or from the footer
	// of a Parquet object the lake did not write.
	counted bool
}

// countParquet reads the row count of a Parquet object the lake did not write (the Firehose
// archive, a dropped Parquet file) from its footer; rows from the stream are those rows.
// Anything else, or a footer that cannot be read, stays uncounted.
func (r *Recorder) countParquet(ctx context.Context, s objectstore.Store, info objectstore.Info, rec *provenance.Record) bool {
	if rec.Job != "firehose" && !strings.HasSuffix(info.Key, ".parquet") {
		return false
	}
	n, err := parquetmeta.Rows(ctx, s, info.Key, info.Size)
	if err != nil {
		r.log().Info("rows of a Parquet object not counted", "key", info.Key, "error", err)
		return false
	}
	rec.Rows = n
	for i := range rec.Inputs {
		rec.Inputs[i].Rows = n
	}
	return true
}

// etag identifies the version of the output that was read: the ETag, unquoted, which every
// writer's provenance uses for its inputs too (a version id is not known to all of them).
func (o output) etag() string { return unquote(o.info.ETag) }

func unquote(etag string) string { return strings.Trim(etag, `"`) }

// rows flattens the event into the lineage table: one row per input, or one for a root.
func (r *Recorder) rows(o output, event []byte) []table.Row {
	var rows *int64
	if o.counted {
		rows = int64p(o.rec.Rows)
	}
	base := table.Row{EventTime: o.info.LastModified.UTC(), EventType: "COMPLETE", RunID: r.runID(o), JobNamespace: Namespace,
		JobName: o.rec.Job, OutputNamespace: "s3://" + o.bucket, OutputName: o.info.Key, OutputZone: string(o.zone),
		OutputDataset: o.dataset, OutputVersion: o.etag(), OutputRows: rows}
	if len(o.rec.Inputs) == 0 {
		base.Event = string(event)
		return []table.Row{base}
	}
	out := make([]table.Row, 0, len(o.rec.Inputs))
	for i, in := range o.rec.Inputs {
		row := base
		if i == 0 {
			row.Event = string(event)
		}
		row.InputNamespace, row.InputName = r.inputName(in)
		if in.IsStream() {
			row.InputShard, row.InputFirstSequence, row.InputLastSequence = in.Shard, in.First, in.Last
		} else {
			row.InputVersion = unquote(in.ETag)
			if iz, ok := r.Zones[in.Bucket]; ok {
				row.InputZone = string(iz.Zone)
				row.InputDataset = datasetOf(iz.Zone, in.Key, &provenance.Record{})
			}
		}
		if in.Rows > 0 || rows != nil {
			row.InputRows = int64p(in.Rows)
		}
		out = append(out, row)
	}
	return out
}

// inputName is an input's OpenLineage namespace and name.
func (r *Recorder) inputName(in provenance.Input) (string, string) {
	if in.Topic != "" {
		return "kafka://" + in.Cluster, in.Topic // OpenLineage's naming: kafka://{bootstrap server}
	}
	if in.IsStream() {
		return "kinesis://" + r.region(), in.Stream
	}
	return "s3://" + in.Bucket, in.Key
}

func (r *Recorder) region() string {
	if r.Region != "" {
		return r.Region
	}
	return "local"
}

func int64p(v int64) *int64 { return &v }

// SinkFromEnv is the OpenLineage endpoint SLUICE_OPENLINEAGE_URL names (with the API key in
// SLUICE_OPENLINEAGE_API_KEY, if any), or nil when it is unset.
func SinkFromEnv(getenv func(string) string) (Emitter, error) {
	u := getenv(envvar.OpenLineageURL)
	if u == "" {
		return nil, nil
	}
	c, err := openlineage.NewClient(openlineage.Config{BaseURL: u, APIKey: getenv(envvar.OpenLineageAPIKey)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envvar.OpenLineageURL, err)
	}
	return jsonEmitter{c}, nil
}

type jsonEmitter struct{ c *openlineage.Client }

func (e jsonEmitter) Emit(ctx context.Context, event []byte) error { return e.c.EmitJSON(ctx, event) }
