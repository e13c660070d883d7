// Package promote turns one partition of the cleansed zone into the same partition of the
// curated zone: deduplicated on the contract's key (the latest event time wins), the PII policy
// applied per field, and compacted into files of a target size.
//
// Promotion is incremental. A manifest in the curated bucket (ManifestKey) lists the cleansed
// objects already promoted and the curated files they made. A promotion converts only the
// cleansed files not listed, a bounded batch at a time (Promoter.StepBytes): their rows are
// deduplicated among themselves, then against the partition's curated rows by reading only the
// key and event-time columns of the curated files. The surviving new rows are appended to the
// last, not yet full, curated file; a curated file holding a row that a new one supersedes is
// rewritten without it. Row groups that lose no row are copied as bytes (no decoding), and so
// are small files merged into larger ones. Memory is bounded by the batch and the target file
// size, not by the partition.
//
// A promotion that finds nothing new changes nothing, so replays and duplicated triggers are
// harmless. When the partition differs from its manifest (no manifest yet on a partition
// promoted by an older version, a crash between writes, a cleansed file removed or replaced),
// the partition is recomputed from every cleansed file, as before manifests existed.
//
// What a reader (Athena) may see: each dataset's curated zone is an Iceberg table (package
// iceberg), and a promotion writes new, immutable data files under <dataset>/data/dt=…/hr=…/,
// then commits exactly one snapshot that adds them and drops the files they replace (append;
// overwrite when rows change; replace for a compaction). A reader sees the partition as it was
// before the promotion or after it, never a key twice nor half a promotion. Replaced files stay
// for time travel until snapshot expiry.
//
// Names are deterministic: part-00000-<hash>.parquet, part-00001-<hash>.parquet, … where the
// number is the file's place in the partition, in the order files are made, and the hash is
// of the file's bytes: a replay that makes the same bytes makes the same name and writes
// nothing. Which rows land in which part depends on the order cleansed files were promoted in.
//
// Ties: two rows with the same key and event time resolve to the later object key, then the
// later row, when promoted together; a new row that ties an already curated row loses (an equal
// key and event time is a replay).
package promote

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/zone"
)

// DefaultTargetBytes bounds a curated file when Promoter.TargetBytes is zero.
const DefaultTargetBytes = 128 << 20

// DefaultStepBytes bounds one batch of cleansed files when Promoter.StepBytes is zero.
const DefaultStepBytes = 16 << 20

// Promoter promotes partitions from the cleansed to the curated zone.
type Promoter struct {
	Contracts map[string]*contract.Contract
	Cleansed  objectstore.Store
	Curated   objectstore.Store
	// Catalog holds each curated table's current metadata; nil keeps it in the curated bucket
	// (iceberg.StoreCatalog), as the local lake does.
	Catalog iceberg.Catalog
	// PIIKey keys the HMAC of fields whose policy is hash. Required when a contract hashes.
	PIIKey []byte
	// TargetBytes bounds each curated file; zero means DefaultTargetBytes.
	TargetBytes int64
	// StepBytes bounds the cleansed bytes (as stored, compressed) converted in one batch, and
	// with it the memory of a promotion: about 4 to 6 times this, plus TargetBytes. Zero means
	// DefaultStepBytes.
	StepBytes int64
	// Lock tunes the partition lock; zero values take the defaults.
	Lock LockOptions
	Log  *slog.Logger
}

// Result tells what a promotion did.
type Result struct {
	Dataset   string
	Partition zone.Partition
	// FilesIn, BytesIn and RowsIn count the cleansed files this promotion converted: the new
	// ones, or every one when the partition was recomputed. A replay converts none.
	FilesIn int
	BytesIn int64
	RowsIn  int64
	// RowsOut is the number of rows the curated partition holds afterwards.
	RowsOut int64
	// Duplicates counts rows dropped as duplicates by this promotion: converted rows that lost
	// to another row with the same key, and curated rows superseded by a converted one.
	Duplicates int64
	// Deletes counts the delete changes of a change stream this promotion applied: keys it
	// removed from the table, or whose delete it recorded before their row arrived.
	Deletes   int64
	BytesOut  int64    // bytes written to curated
	Files     []string // every curated key of the partition afterwards
	Unchanged int      // of Files, how many this promotion did not rewrite
	// Deleted are curated keys the promotion's snapshot removed from the table (their rows
	// merged elsewhere, or superseded). The objects stay for time travel until snapshot expiry.
	Deleted    []string
	Recomputed bool // the partition was recomputed from every cleansed file
	// Outputs are the curated files written, each with its lineage.
	Outputs []Output
	// Absorbed are converted cleansed files whose every row was a duplicate, when no curated
	// file was written in their batch to list them in (a replay of a file under another name).
	Absorbed []Input
	// Deferred is set by PromoteOrDefer when another promotion held the partition, which
	// covers the files this one was for; nothing else is set then. Compact sets it too: the
	// holder compacts as it promotes.
	Deferred bool
	// Skipped, set by Compact only, says why the partition was left as it is.
	Skipped string
}

// Output is one curated file a promotion wrote, and what it was made from.
type Output struct {
	Bucket string
	Key    string
	ETag   string // as the store returned it, without quotes
	Rows   int64
	Bytes  int64
	// Inputs are the objects whose rows this file holds, with how many rows it took from each:
	// cleansed files (their new rows) and curated files (the earlier version of this file, or
	// small files merged into it, whose row groups were copied). A cleansed file converted in
	// the same batch is listed, with Rows 0, in the first file written for that batch even if
	// none of its rows survived.
	Inputs []Input
	// Duplicates counts rows of Inputs dropped as duplicates on the way into this file: rows of
	// the listed cleansed files that lost (counted on the first file of their batch) and rows of
	// the listed curated files superseded by newer ones.
	Duplicates int64
	// Unchanged is set when the object already held these very bytes and was not rewritten.
	Unchanged bool
}

// Input is one object a curated file took rows from.
type Input struct {
	Bucket string
	Key    string
	ETag   string // without quotes
	Rows   int64  // rows taken from it into the output file
}

// CheckKey fails when a contract hashes a field and no key is configured.
func CheckKey(contracts map[string]*contract.Contract, key []byte) error {
	if len(key) > 0 {
		return nil
	}
	for _, c := range contracts {
		for _, f := range c.Fields {
			if f.PII == contract.Hash {
				return fmt.Errorf("promote: dataset %s hashes field %s but no PII key is configured: set SLUICE_PII_KEY_SECRET_ARN (or SLUICE_PII_KEY locally)", c.Name, f.Name)
			}
		}
	}
	return nil
}

// Promote brings the curated partition of dataset up to date with its cleansed files, holding
// the partition's lock while it does, and waiting for it (up to LockOptions.MaxWait) while
// another promotion holds it.
//
// Whoever holds the lock lists the partition again after releasing it, and promotes once more
// (taking the lock again) any cleansed file that arrived meanwhile, until none did: so a file
// that exists before a promotion lets the lock go is always promoted, by that promotion or by
// one that takes the lock after it. PromoteOrDefer relies on this.
func (p *Promoter) Promote(ctx context.Context, dataset string, part zone.Partition) (Result, error) {
	return p.run(ctx, dataset, part, false)
}

// PromoteOrDefer is Promote for a trigger about cleansed files that already exist: when
// another promotion holds the partition's lock (and it has not expired), it returns at once
// with Result.Deferred set and no error, because that promotion covers the files (see
// Promote) and waiting would only time out into the dead-letter queue under contention. If
// that promotion fails instead, its own trigger is retried and promotes the partition whole.
func (p *Promoter) PromoteOrDefer(ctx context.Context, dataset string, part zone.Partition) (Result, error) {
	return p.run(ctx, dataset, part, true)
}

// maxPasses bounds how often one call promotes files that arrived while it ran; past it the
// call fails, and its retry picks up what is left.
const maxPasses = 8

func (p *Promoter) run(ctx context.Context, dataset string, part zone.Partition, deferToHolder bool) (Result, error) {
	res := Result{Dataset: dataset, Partition: part}
	c, ok := p.Contracts[dataset]
	if !ok {
		return res, fmt.Errorf("promote: no contract for dataset %q: add events/%s.avsc or fix the trigger", dataset, dataset)
	}
	if err := CheckKey(map[string]*contract.Contract{dataset: c}, p.PIIKey); err != nil {
		return res, err
	}
	for pass := 1; ; pass++ {
		next, err := p.pass(ctx, c, part, deferToHolder)
		if errors.Is(err, errHeld) {
			res.Deferred = pass == 1
			return res, nil
		}
		if err != nil {
			return res, err
		}
		res.add(next, pass)
		arrived, err := p.arrived(ctx, c, part)
		if err != nil {
			return res, err
		}
		if arrived == 0 {
			return res, nil
		}
		if pass == maxPasses || ctx.Err() != nil {
			return res, fmt.Errorf("promote: %d cleansed files of %s %s arrived while it was promoted %d times and are not promoted yet; the trigger will be retried and promote them", arrived, dataset, part.Path(), pass)
		}
		if p.Log != nil {
			p.Log.Info("promoting cleansed files that arrived while the partition was promoted", "dataset", dataset, "partition", part.Path(), "files", arrived, "pass", pass+1)
		}
		// Whatever this call was asked to promote is done: if another promotion holds the lock
		// now, it lists the partition after taking it and covers the new files.
		deferToHolder = true
	}
}

// pass takes the lock, promotes, and releases the lock. With deferToHolder it returns errHeld
// at once when another promotion holds the lock.
func (p *Promoter) pass(ctx context.Context, c *contract.Contract, part zone.Partition, deferToHolder bool) (Result, error) {
	res := Result{Dataset: c.Name, Partition: part}
	key, promote := LockKey(c.Name, part), p.promote
	if cdc.IsChangeStream(c) {
		// The table's lock: its holder may be promoting another partition, whose new files it
		// lists again, not this one's; so a change stream's promotion waits, never defers.
		key, promote, deferToHolder = TableLockKey(c.Name), p.promoteChanges, false
	}
	lock, err := p.acquire(ctx, key, deferToHolder)
	if err != nil {
		return res, err
	}
	defer func() {
		// A lock left behind expires; the next promotion waits for it, then takes it over.
		if err := lock.release(context.WithoutCancel(ctx)); err != nil && p.Log != nil {
			p.Log.Warn("promotion lock not released", "error", err)
		}
	}()
	err = promote(ctx, c, part, &res)
	if err == nil {
		err = lock.check(ctx)
	}
	return res, err
}

// arrived counts the partition's cleansed files its manifest does not list (or lists with
// another ETag): files written after the last promotion listed the partition.
func (p *Promoter) arrived(ctx context.Context, c *contract.Contract, part zone.Partition) (int, error) {
	prefix := zone.Prefix(c.Name, part)
	all, err := p.Cleansed.List(ctx, prefix)
	if err != nil {
		return 0, fmt.Errorf("promote: list %s/%s: %w", p.Cleansed.Bucket(), prefix, err)
	}
	m, _, err := readManifest(ctx, p.Curated, ManifestKey(c.Name, part))
	if err != nil {
		return 0, err
	}
	promoted := map[string]string{}
	if m != nil {
		for _, e := range m.Inputs {
			promoted[e.Key] = e.ETag
		}
	}
	n := 0
	for _, in := range all {
		if etag, ok := promoted[in.Key]; strings.HasSuffix(in.Key, ".parquet") && (!ok || etag != trimETag(in.ETag)) {
			n++
		}
	}
	return n, nil
}

// add folds the result of a further pass into r: what was converted and written adds up,
// the state of the partition afterwards is the last pass's.
func (r *Result) add(next Result, pass int) {
	if pass == 1 {
		*r = next
		return
	}
	r.FilesIn += next.FilesIn
	r.BytesIn += next.BytesIn
	r.RowsIn += next.RowsIn
	r.Duplicates += next.Duplicates
	r.Deletes += next.Deletes
	r.BytesOut += next.BytesOut
	r.RowsOut, r.Files, r.Unchanged = next.RowsOut, next.Files, next.Unchanged
	r.Deleted = append(r.Deleted, next.Deleted...)
	r.Recomputed = r.Recomputed || next.Recomputed
	r.Outputs = append(r.Outputs, next.Outputs...)
	r.Absorbed = append(r.Absorbed, next.Absorbed...)
}

func (p *Promoter) promote(ctx context.Context, c *contract.Contract, part zone.Partition, res *Result) error {
	cleansed, err := p.cleansedFiles(ctx, zone.Prefix(c.Name, part))
	if err != nil {
		return err
	}
	_, curated, mkey, m, metag, err := p.begin(ctx, c, part, DataPrefix(c.Name, part))
	if err != nil {
		return err
	}
	st := p.newState(ctx, c, part, res)
	why := st.load(m, cleansed, curated)
	if why == "" {
		err := st.run()
		if err == nil {
			return st.finish(mkey, metag, curated)
		}
		if !errors.Is(err, errRecompute) {
			return err
		}
		why = err.Error()
	}
	if p.Log != nil {
		p.Log.Info("recomputing the curated partition", "dataset", c.Name, "partition", part.Path(), "reason", why)
	}
	*res = Result{Dataset: c.Name, Partition: part, Recomputed: true}
	files, inputs, err := p.recompute(ctx, c, part, cleansed, curated, res)
	if err != nil {
		return err
	}
	// The snapshot first, then the manifest: a manifest never lists files the table lacks, and
	// a crash between the two makes the next promotion recompute the partition.
	if err := p.commit(ctx, c, partitionScope(c, part), curated, files, iceberg.OpOverwrite); err != nil {
		return err
	}
	return writeManifest(ctx, p.Curated, mkey, &manifest{Inputs: inputs, Files: files}, metag)
}

// begin reads what a promotion of part starts from: the table's current state and its files
// under prefix (those of the current snapshot: replaced files stay in the bucket for older
// snapshots, so a listing would show them too), and the partition's manifest and its ETag.
func (p *Promoter) begin(ctx context.Context, c *contract.Contract, part zone.Partition, prefix string) (*iceberg.State, []objectstore.Info, string, *manifest, string, error) {
	tbl, files, err := p.current(ctx, c, prefix)
	if err != nil {
		return nil, nil, "", nil, "", err
	}
	mkey := ManifestKey(c.Name, part)
	m, metag, err := readManifest(ctx, p.Curated, mkey)
	return tbl, files, mkey, m, metag, err
}

// cleansedFiles lists the cleansed Parquet files under prefix.
func (p *Promoter) cleansedFiles(ctx context.Context, prefix string) ([]objectstore.Info, error) {
	all, err := p.Cleansed.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("promote: list %s/%s: %w", p.Cleansed.Bucket(), prefix, err)
	}
	return slices.DeleteFunc(all, func(in objectstore.Info) bool { return !strings.HasSuffix(in.Key, ".parquet") }), nil
}

// putCurated writes a curated file with its provenance: the objects it took rows from, how
// many from each, and the duplicates dropped on the way. The one place a curated file is put.
func (p *Promoter) putCurated(ctx context.Context, c *contract.Contract, key string, body []byte, out *Output) (objectstore.Info, error) {
	rec := &provenance.Record{Job: "promote", Run: provenance.RunOf(ctx), Dataset: c.Name, Contract: c.Name,
		ContractVersion: c.Version, Kind: provenance.Data, Rows: out.Rows}
	for _, in := range out.Inputs {
		rec.Inputs = append(rec.Inputs, provenance.Input{Bucket: in.Bucket, Key: in.Key, ETag: in.ETag, Rows: in.Rows})
	}
	if out.Duplicates > 0 {
		rec.Dropped = map[string]int64{"duplicate": out.Duplicates}
	}
	return PutCurated(ctx, p.Curated, key, body, rec)
}

// MetaSHA256 is the metadata key (x-amz-meta-sluice-sha256) of the hex SHA-256 of a curated
// file's bytes, which promote stores with every file it writes (its name carries a prefix of
// the same hash).
const MetaSHA256 = "sluice-sha256"

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// open reads one cleansed file into memory (compressed, as stored) and binds its columns.
func (p *Promoter) open(ctx context.Context, key string, out *output, index int) (*source, int64, error) {
	rc, _, err := p.Cleansed.Get(ctx, key)
	if err != nil {
		return nil, 0, fmt.Errorf("promote: read %s/%s: %w", p.Cleansed.Bucket(), key, err)
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, 0, fmt.Errorf("promote: read %s/%s: %w", p.Cleansed.Bucket(), key, err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return nil, 0, fmt.Errorf("promote: %s/%s is not readable Parquet (the cleansed zone holds only files sluice wrote; remove or quarantine it): %w", p.Cleansed.Bucket(), key, err)
	}
	src, err := out.bind(index, key, f)
	if err != nil {
		return nil, 0, fmt.Errorf("promote: %s/%s: %w", p.Cleansed.Bucket(), key, err)
	}
	return src, int64(len(body)), nil
}

// output converts cleansed rows to the curated schema.
type output struct {
	c      *contract.Contract
	schema *parquet.Schema
	key    []byte
	// per curated column: the contract field it belongs to, and its full path
	field []int
	paths []string
	// Rows and their bytes are carved from slabs: one allocation per many rows rather than
	// several per row, which the garbage collector would otherwise spend most of a promotion on.
	vals   []parquet.Value
	bytes  []byte
	mac    hash.Hash
	hashes map[string][]byte
}

// hash is HashHex with one reused HMAC, remembering recent values: a user's id repeats on
// every event of theirs.
func (o *output) hash(v []byte) []byte {
	if h, ok := o.hashes[string(v)]; ok {
		return h
	}
	if o.mac == nil {
		o.mac = hmac.New(sha256.New, o.key)
	}
	o.mac.Reset()
	o.mac.Write(v)
	var sum [sha256.Size]byte
	h := hex.AppendEncode(nil, o.mac.Sum(sum[:0]))
	if len(o.hashes) >= 1<<16 {
		clear(o.hashes)
	}
	if o.hashes == nil {
		o.hashes = map[string][]byte{}
	}
	o.hashes[string(v)] = h
	return h
}

const slabValues, slabBytes = 64 << 10, 1 << 20

func (o *output) copyBytes(b []byte) []byte {
	if len(b) > slabBytes/8 {
		return bytes.Clone(b)
	}
	if len(o.bytes)+len(b) > cap(o.bytes) {
		o.bytes = make([]byte, 0, slabBytes)
	}
	start := len(o.bytes)
	o.bytes = append(o.bytes, b...)
	return o.bytes[start:len(o.bytes):len(o.bytes)]
}

// CuratedSchema is the curated zone's Parquet schema of a contract: dropped fields are gone, and
// masked or hashed fields are strings.
func CuratedSchema(c *contract.Contract) *parquet.Schema {
	g := parquet.Group{}
	for i := range c.Fields {
		f := &c.Fields[i]
		switch f.PII {
		case contract.Drop:
			continue
		case contract.Mask, contract.Hash:
			var n parquet.Node = parquet.String()
			if f.Nullable {
				n = parquet.Optional(n)
			}
			g[f.Name] = n
		default:
			g[f.Name] = parquetfile.Node(f)
		}
	}
	return parquet.NewSchema(c.Name, g)
}

func newOutput(c *contract.Contract, key []byte) *output {
	o := &output{c: c, schema: CuratedSchema(c), key: key}
	for _, path := range o.schema.Columns() {
		f, _ := c.Field(path[0])
		o.field = append(o.field, f.Index)
		o.paths = append(o.paths, strings.Join(path, "."))
	}
	return o
}

// convert builds the curated row: columns renumbered, PII policy applied, missing optional
// columns null. Values are copied, as the reader reuses its buffers.
func (o *output) convert(cols [][]parquet.Value, srcOf []int) parquet.Row {
	n := 0
	for _, src := range srcOf {
		if src < 0 {
			n++
		} else {
			n += len(cols[src])
		}
	}
	if len(o.vals)+n > cap(o.vals) {
		o.vals = make([]parquet.Value, 0, max(slabValues, n))
	}
	start := len(o.vals)
	row := o.vals[start : start : start+n]
	defer func() { o.vals = o.vals[:start+len(row)] }()
	for ci, src := range srcOf {
		if src < 0 {
			row = append(row, parquet.NullValue().Level(0, 0, ci))
			continue
		}
		pii := o.c.Fields[o.field[ci]].PII
		for _, v := range cols[src] {
			if v.IsNull() || (pii != contract.Mask && pii != contract.Hash) {
				rep, def := v.RepetitionLevel(), v.DefinitionLevel()
				if !v.IsNull() && v.Kind() == parquet.ByteArray {
					v = parquet.ByteArrayValue(o.copyBytes(v.ByteArray())) // the reader reuses its buffers
				}
				row = append(row, v.Level(rep, def, ci))
				continue
			}
			var text []byte
			if v.Kind() == parquet.ByteArray {
				text = v.ByteArray()
			} else {
				text = []byte(v.String())
			}
			if pii == contract.Mask {
				text = []byte(Mask(string(text)))
			} else {
				text = o.hash(text)
			}
			row = append(row, parquet.ByteArrayValue(o.copyBytes(text)).Level(v.RepetitionLevel(), v.DefinitionLevel(), ci))
		}
	}
	return row
}

// curatedCodec is parquetfile.Small: zstd at its default level, for files that stay, with a
// window of one page (the stock codec's 8 MB window costs tens of megabytes of history).
var curatedCodec = parquetfile.Codec(parquetfile.Small)

// Mask keeps the last four characters of s and replaces the others with '*'.
func Mask(s string) string {
	n := utf8.RuneCountInString(s)
	if n <= 4 {
		return s
	}
	var b strings.Builder
	i := 0
	for _, r := range s {
		if i < n-4 {
			b.WriteByte('*')
		} else {
			b.WriteRune(r)
		}
		i++
	}
	return b.String()
}

// HashHex is the hex HMAC-SHA256 of value under key: stable for joins, not reversible without
// the key.
func HashHex(key, value []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(value)
	return hex.EncodeToString(m.Sum(nil))
}
