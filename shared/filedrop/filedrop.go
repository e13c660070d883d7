// Package filedrop validates files dropped into the raw zone's landing area: CSV with a header
// row, JSON lines or Parquet, gzip'd or not. Every record goes through the same record.Batch as
// the stream path; valid rows become cleansed Parquet per partition, the rest quarantine entries
// with their reasons, and a data-quality report is written beside the output.
//
// Files are streamed in chunks of ChunkRows records, so a file far larger than memory works.
// Output names derive from the source key and its ETag, so a duplicated S3 event rewrites the same
// objects. A file that cannot be read to its end (corrupt, truncated, of another schema, of an
// unknown format or dataset) goes whole to quarantine: whatever was written for it is removed, and
// one entry with the reason points at the object in the raw bucket.
package filedrop

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

// LandingPrefix is where file drops land in the raw bucket: landing/<dataset>/<anything>.
const LandingPrefix = "landing/"

// ReportPrefix is where reports go in the cleansed bucket: _reports/<dataset>/<name>.json.
const ReportPrefix = "_reports/"

// Validator validates file drops. Its fields are its configuration.
type Validator struct {
	Contracts map[string]*contract.Contract
	// Options are the record limits; DefaultDataset is set per file from its key.
	Options    record.Options
	Raw        objectstore.Store
	Cleansed   objectstore.Store
	Quarantine objectstore.Store
	// ChunkRows bounds the records held in memory at once: every ChunkRows records the valid ones
	// are written out as one Parquet file per partition. Default 10,000: about 15 MB of memory for
	// clickstream records, so that a 128 MB function suffices.
	ChunkRows int
	// MaxGunzipBytes stops a gzip'd file that inflates beyond it (a gzip bomb). Default 16 GiB.
	MaxGunzipBytes int64
	Log            *slog.Logger
}

// File-level reasons: why a whole file went to quarantine.
const (
	NotLanding     = "not_in_landing"  // the key is not landing/<dataset>/...
	UnknownDataset = "unknown_dataset" // the dataset in the key has no contract
	UnknownFormat  = "unknown_format"  // an extension sluice does not read
	EmptyFile      = "empty_file"      // zero bytes, or nothing but a header / white space
	BadGzip        = "invalid_gzip"    // .gz but not (or not wholly) gzip
	GunzipLimit    = "gunzip_limit"    // inflates beyond MaxGunzipBytes
	BadEncoding    = "unsupported_encoding"
	BadHeader      = "invalid_csv_header" // missing, duplicate or unknown columns; likely another delimiter
	BadParquet     = "invalid_parquet"    // not Parquet, or truncated
	ParquetSchema  = "parquet_schema_mismatch"
	JSONArray      = "json_array_not_lines"
)

// Row-level reasons beyond record.Code.
const (
	CSVFieldCount = "csv_field_count" // a row with more or fewer cells than the header
	CSVQuote      = "csv_bad_quote"   // a quote inside an unquoted cell, or text after a closing quote
)

// FileError is why a file as a whole could not be read.
type FileError struct {
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

func (e *FileError) Error() string { return e.Reason + ": " + e.Detail }

func fileErr(reason, format string, a ...any) *FileError {
	return &FileError{Reason: reason, Detail: fmt.Sprintf(format, a...)}
}

// Validate reads the object at key in the raw bucket and writes its rows out. version is the
// object's version id when the bucket is versioned ("" otherwise): that version is read
// (s3:GetObjectVersion), not whatever is current. Without one the current object is read;
// it is not checked against the event's ETag, because validating a rewritten drop under an
// older event writes the very outputs the rewrite's own event writes (they are named after
// the content read), so nothing is gained by refusing.
// The error is for failures worth retrying (the stores); a bad file is not an error: its Report
// says why it was quarantined.
func (v *Validator) Validate(ctx context.Context, key, version string) (*Report, error) {
	start := time.Now()
	rep := newReport(v.Raw.Bucket(), key, version)
	raw, err := objectstore.Pin(v.Raw, key, objectstore.ReadOptions{Version: version})
	if err != nil {
		return nil, fmt.Errorf("filedrop: %w", err)
	}
	info, err := raw.Head(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("filedrop: read %s/%s: %w", v.Raw.Bucket(), key, err)
	}
	rep.Bytes = info.Size
	rep.ETag = info.ETag
	run := &run{v: v, raw: raw, ctx: ctx, key: key, version: version, info: info, rep: rep, id: objectID(key, info.ETag, version)}
	rep.Dataset = datasetOf(key)

	ferr := run.read()
	var fe *FileError
	switch {
	case ferr == nil:
	case errors.As(ferr, &fe):
		if err := run.quarantineWhole(fe); err != nil {
			return nil, err
		}
	default:
		return nil, ferr
	}
	rep.Seconds = time.Since(start).Seconds()
	if err := run.writeReport(); err != nil {
		return nil, err
	}
	return rep, nil
}

// objectID names a file's outputs: the same object (key and content) always gives the same id.
func objectID(key, etag, version string) string {
	h := sha256.Sum256([]byte(key + "\x00" + strings.Trim(etag, `"`) + "\x00" + version))
	return hex.EncodeToString(h[:12])
}

func datasetOf(key string) string {
	rest, ok := strings.CutPrefix(key, LandingPrefix)
	if !ok {
		return ""
	}
	ds, _, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	return ds
}

func (v *Validator) chunkRows() int {
	if v.ChunkRows > 0 {
		return v.ChunkRows
	}
	return 10_000
}

func (v *Validator) maxGunzip() int64 {
	if v.MaxGunzipBytes > 0 {
		return v.MaxGunzipBytes
	}
	return 16 << 30
}

func (v *Validator) maxRecord() int {
	if v.Options.MaxRecordBytes > 0 {
		return v.Options.MaxRecordBytes
	}
	return 1 << 20
}

// run is one file's validation.
type run struct {
	v       *Validator
	raw     objectstore.Store // v.Raw, reading the version of key being validated
	ctx     context.Context
	key     string
	version string
	info    objectstore.Info
	rep     *Report
	id      string
	written []written // outputs so far, removed again if the file turns out unreadable
}

type written struct {
	store objectstore.Store
	key   string
}

func (r *run) read() error {
	ds := r.rep.Dataset
	if ds == "" {
		return fileErr(NotLanding, "key %q is not %s<dataset>/<file>", r.key, LandingPrefix)
	}
	c := r.v.Contracts[ds]
	if c == nil {
		return fileErr(UnknownDataset, "no contract for dataset %q (from the key); known: %v", ds, names(r.v.Contracts))
	}
	r.rep.Contract = c.Version
	f, gz, ok := formatOf(r.key)
	if !ok {
		return fileErr(UnknownFormat, "%q: sluice reads .csv, .jsonl, .ndjson, .json (JSON lines), each optionally .gz, and .parquet", r.key)
	}
	r.rep.Format = f.String()
	r.rep.Gzip = gz
	if r.info.Size == 0 {
		return fileErr(EmptyFile, "the object has zero bytes")
	}
	var src source
	if f == formatParquet {
		ps, err := openParquet(r.ctx, r.raw, r.key, r.info.Size, c)
		if err != nil {
			return err
		}
		src = ps
	} else {
		body, _, err := r.raw.Get(r.ctx, r.key)
		if err != nil {
			return fmt.Errorf("filedrop: read %s/%s: %w", r.v.Raw.Bucket(), r.key, err)
		}
		defer body.Close()
		in := io.Reader(&storeReader{r: body})
		if gz {
			zr, err := newGunzip(in, r.v.maxGunzip())
			if err != nil {
				return err
			}
			in = zr
		}
		lr := newLineReader(in, r.v.maxRecord())
		if err := lr.stripBOM(); err != nil {
			return err
		}
		r.rep.BOM = lr.bom
		if f == formatCSV {
			cs, err := newCSVSource(lr, c)
			if err != nil {
				return err
			}
			src = cs
		} else {
			src = &jsonSource{lr: lr, arrayCheck: f == formatJSON}
		}
	}
	if err := r.stream(src, c); err != nil {
		return err
	}
	if r.rep.RowsIn == 0 {
		return fileErr(EmptyFile, "no records (only a header, blank lines or white space)")
	}
	return nil
}

func names(m map[string]*contract.Contract) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sortStrings(out)
}

// stream feeds every record through a Batch, a chunk at a time.
func (r *run) stream(src source, c *contract.Contract) error {
	opts := r.v.Options
	opts.DefaultDataset = c.Name
	ck := newChunk(r.v.Contracts, opts, r.v.chunkRows())
	n := 0
	for {
		rec, err := src.next(&ck.arena)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		r.rep.RowsIn++
		ck.add(rec, r.rep)
		if n++; n == r.v.chunkRows() {
			if err := r.flush(ck); err != nil {
				return err
			}
			ck = newChunk(r.v.Contracts, opts, r.v.chunkRows())
			n = 0
		}
	}
	if n > 0 {
		return r.flush(ck)
	}
	return nil
}

// quarantineWhole removes what was written for the file and writes one entry for all of it.
func (r *run) quarantineWhole(fe *FileError) error {
	for _, w := range r.written {
		if err := w.store.Delete(r.ctx, w.key); err != nil {
			return fmt.Errorf("filedrop: remove %s/%s of an unreadable file: %w", w.store.Bucket(), w.key, err)
		}
	}
	r.written = nil
	rep := r.rep
	rep.resetCounts()
	rep.File = fe
	e := quarantine.Entry{Reason: fe.Reason, Detail: fe.Detail, Dataset: rep.Dataset, Contract: rep.Contract,
		Source: quarantine.Source{Kind: "s3", Bucket: r.v.Raw.Bucket(), Key: r.key, Version: r.version}}
	if r.info.Size <= int64(r.v.maxRecord()) && r.info.Size > 0 {
		if b, err := r.raw.GetRange(r.ctx, r.key, 0, r.info.Size); err == nil {
			e.Original = b
			e.Preview = quarantine.PreviewOf(b)
		}
	}
	if e.Original == nil && r.info.Size > 0 {
		e.Detail += fmt.Sprintf(" (the %d-byte object stays in the raw bucket, which is immutable)", r.info.Size)
	}
	key := zone.Key(qDataset(rep.Dataset, r.v.Contracts), zone.PartitionOf(r.info.LastModified.UnixMilli()), r.id+"-file"+quarantine.Ext)
	body, err := quarantine.Encode([]quarantine.Entry{e})
	if err != nil {
		return err
	}
	if err := r.put(r.v.Quarantine, key, body, "application/x-ndjson+gzip", 1); err != nil {
		return err
	}
	rep.QuarantineObjects = append(rep.QuarantineObjects, key)
	return nil
}

func qDataset(ds string, reg map[string]*contract.Contract) string {
	if reg[ds] == nil {
		return zone.Unknown
	}
	return ds
}

func (r *run) put(s objectstore.Store, key string, body []byte, ctype string, rows int) error {
	kind := provenance.Data
	if s == r.v.Quarantine {
		kind = provenance.Quarantine
	}
	rec := &provenance.Record{Job: "validate", Run: provenance.RunOf(r.ctx), Dataset: r.rep.Dataset, Kind: kind,
		Rows: int64(rows), Report: r.reportKey(),
		Inputs: []provenance.Input{{Bucket: r.v.Raw.Bucket(), Key: r.key, Version: r.version, ETag: r.info.ETag, Rows: int64(rows)}}}
	if c := r.v.Contracts[r.rep.Dataset]; c != nil {
		rec.Contract, rec.ContractVersion = c.Name, c.Version
	}
	if _, err := provenance.Put(r.ctx, s, key, body, objectstore.PutOptions{ContentType: ctype}, rec); err != nil {
		return fmt.Errorf("filedrop: write %s/%s: %w", s.Bucket(), key, err)
	}
	r.written = append(r.written, written{s, key})
	return nil
}

// reportKey is where the run's data-quality report goes in the cleansed bucket.
func (r *run) reportKey() string {
	ds := r.rep.Dataset
	if ds == "" {
		ds = zone.Unknown
	}
	return ReportPrefix + ds + "/" + r.id + ".json"
}

// storeReader marks read errors of the store's stream, so that they are retried rather than
// taken for a corrupt file.
type storeReader struct{ r io.Reader }

type storeError struct{ err error }

func (e *storeError) Error() string { return "filedrop: reading the object failed: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func (s *storeReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		err = &storeError{err}
	}
	return n, err
}
