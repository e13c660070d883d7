// Package provenance is what every object the lake writes says about where it came from: the
// job and run that wrote it, its inputs (a stream range, or source objects and their
// versions), its contract and row counts. Writers attach it with Put; the lineage function
// reads it back with Of and turns it into OpenLineage events.
//
// The record rides in the object's metadata when it fits (S3 allows 2 KB of user metadata),
// and otherwise in a small sidecar object under SidecarPrefix in the same bucket, written
// before the object so that a reader who sees the object can always find it. Keys under a
// leading underscore are outside every dataset's table location, so engines never read them.
package provenance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/sluicelake/sluice/shared/objectstore"
)

// Metadata keys. The short sluice-* keys are for people browsing a bucket; MetadataKey holds
// the whole record.
const (
	MetadataKey = "sluice-lineage"
	// SidecarKeyMeta names the sidecar when the record did not fit in metadata.
	SidecarKeyMeta = "sluice-lineage-sidecar"
	SidecarPrefix  = "_lineage/"
)

// maxInline keeps the whole metadata under S3's 2 KB limit with room for the short keys.
const maxInline = 1500

// Input is one thing an object was made from: a range of a stream's shard, or an object.
type Input struct {
	// Stream inputs: a Kinesis stream's shard, or a Kafka topic's partition (Topic and Cluster
	// set, Shard the partition number, First and Last offsets).
	Stream  string `json:"stream,omitempty"`
	Topic   string `json:"topic,omitempty"`
	Cluster string `json:"cluster,omitempty"` // a Kafka topic's cluster: its first bootstrap server
	Shard   string `json:"shard,omitempty"`
	First   string `json:"first,omitempty"` // sequence number (or offset) of the first record taken
	Last    string `json:"last,omitempty"`  // and of the last
	// Object inputs.
	Bucket  string `json:"bucket,omitempty"`
	Key     string `json:"key,omitempty"`
	Version string `json:"version,omitempty"` // the S3 version id when the bucket has one
	ETag    string `json:"etag,omitempty"`
	// Rows is how many of the object's rows came from this input: the inputs' Rows add up to
	// the object's.
	Rows int64 `json:"rows"`
}

// IsStream reports whether the input is a stream range.
func (in Input) IsStream() bool { return in.Stream != "" || in.Topic != "" }

// Record is the provenance of one object.
type Record struct {
	Job string `json:"job"`
	// Run identifies the invocation that wrote the object (the Lambda request id).
	Run             string `json:"run,omitempty"`
	Dataset         string `json:"dataset,omitempty"`
	Contract        string `json:"contract,omitempty"`
	ContractVersion string `json:"contract_version,omitempty"`
	// Kind is "data" (rows of the dataset), "quarantine" (rejected records) or "report".
	Kind   string  `json:"kind,omitempty"`
	Rows   int64   `json:"rows"`
	Inputs []Input `json:"inputs,omitempty"`
	// Dropped counts rows read from the inputs but left out of this object, by reason (e.g.
	// "duplicate"): rows read = Rows + the sum of Dropped.
	Dropped map[string]int64 `json:"dropped,omitempty"`
	// Report is the key, in the same bucket, of the data-quality report of the run.
	Report string `json:"report,omitempty"`
	// Columns, for a table the lake computes (a summary), says how each output column was
	// made: from which input dataset's columns, by which transformation. Inputs then name
	// each input dataset's table as <dataset>/ in its bucket.
	Columns map[string][]ColumnInput `json:"columns,omitempty"`
}

// ColumnInput is one input column of an output column.
type ColumnInput struct {
	Dataset string `json:"dataset"`
	Field   string `json:"field"`
	// Type and Subtype are OpenLineage's transformation (DIRECT/INDIRECT; AGGREGATION, JOIN,
	// IDENTITY, FILTER...); Description says it in words, e.g. "sum(amount)".
	Type        string `json:"type"`
	Subtype     string `json:"subtype"`
	Description string `json:"description,omitempty"`
}

// Kinds of object.
const (
	Data       = "data"
	Quarantine = "quarantine"
	Report     = "report"
	// Marker holds no rows: it records rows its job read and dropped when no other object
	// could (a promotion whose every row was a duplicate writes no data file).
	Marker = "marker"
)

// Metadata returns the object metadata that carries r, and the sidecar body to write at
// SidecarKey(key) first when r is too large for metadata (nil otherwise).
func (r *Record) Metadata(key string) (map[string]string, []byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, nil, fmt.Errorf("provenance: encode the record of %s: %w", key, err)
	}
	meta := map[string]string{"sluice-job": r.Job, "sluice-rows": strconv.FormatInt(r.Rows, 10)}
	if r.Dataset != "" {
		meta["sluice-dataset"] = r.Dataset
	}
	if r.ContractVersion != "" {
		meta["sluice-contract-version"] = r.ContractVersion
	}
	if r.Run != "" {
		meta["sluice-run"] = r.Run
	}
	inline := asciiJSON(b)
	if len(inline) <= maxInline {
		meta[MetadataKey] = inline
		return meta, nil, nil
	}
	meta[SidecarKeyMeta] = SidecarKey(key)
	return meta, b, nil
}

// SidecarKey is where the record of the object at key goes when it does not fit in metadata.
func SidecarKey(key string) string { return SidecarPrefix + key + ".json" }

// Put writes body at key with r attached (its sidecar first, when it needs one).
func Put(ctx context.Context, s objectstore.Store, key string, body []byte, opts objectstore.PutOptions, r *Record) (objectstore.Info, error) {
	meta, sidecar, err := r.Metadata(key)
	if err != nil {
		return objectstore.Info{}, err
	}
	if sidecar != nil {
		if _, err := s.Put(ctx, SidecarKey(key), sidecar, objectstore.PutOptions{ContentType: "application/json"}); err != nil {
			return objectstore.Info{}, fmt.Errorf("provenance: write the sidecar of %s/%s: %w", s.Bucket(), key, err)
		}
	}
	for k, v := range opts.Metadata {
		meta[k] = v
	}
	opts.Metadata = meta
	return s.Put(ctx, key, body, opts)
}

// ErrNone means the object carries no provenance: it was not written by the lake (a file
// dropped by a producer, a Firehose archive object).
var ErrNone = errors.New("provenance: the object carries no provenance record")

// Of reads the record of an object from its metadata (as Head returns it), fetching the
// sidecar from s when the record is there.
func Of(ctx context.Context, s objectstore.Store, key string, meta map[string]string) (*Record, error) {
	var b []byte
	switch {
	case meta[MetadataKey] != "":
		b = []byte(meta[MetadataKey])
	case meta[SidecarKeyMeta] != "":
		rc, _, err := s.Get(ctx, meta[SidecarKeyMeta])
		if err != nil {
			return nil, fmt.Errorf("provenance: read the sidecar %s of %s/%s: %w", meta[SidecarKeyMeta], s.Bucket(), key, err)
		}
		defer rc.Close()
		if b, err = io.ReadAll(io.LimitReader(rc, 64<<20)); err != nil {
			return nil, fmt.Errorf("provenance: read the sidecar %s of %s/%s: %w", meta[SidecarKeyMeta], s.Bucket(), key, err)
		}
	default:
		return nil, ErrNone
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("provenance: the record of %s is not valid JSON (%v); it was not written by this version of sluice", key, err)
	}
	if r.Job == "" {
		return nil, fmt.Errorf("provenance: the record of %s names no job", key)
	}
	return &r, nil
}

// RowsIn is the number of input rows the object accounts for: its own and the dropped.
func (r *Record) RowsIn() int64 {
	n := r.Rows
	for _, d := range r.Dropped {
		n += d
	}
	return n
}

// asciiJSON escapes every non-ASCII character of a JSON text, because S3 metadata travels in
// HTTP headers, which only carry ASCII safely.
func asciiJSON(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, r := range string(b) {
		if r < 0x80 {
			sb.WriteRune(r)
			continue
		}
		if r > 0xFFFF {
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(&sb, `\u%04x\u%04x`, hi, lo)
			continue
		}
		fmt.Fprintf(&sb, `\u%04x`, r)
	}
	return sb.String()
}

type runKey struct{}

// WithRun returns a context that names the run writing objects, for the writers below it.
func WithRun(ctx context.Context, run string) context.Context {
	return context.WithValue(ctx, runKey{}, run)
}

// RunOf is the run named by WithRun, or "".
func RunOf(ctx context.Context) string {
	s, _ := ctx.Value(runKey{}).(string)
	return s
}
