// Package promote turns one partition of the cleansed zone into the same partition of the
// curated zone: deduplicated on the contract's key, the PII policy applied per field, and
// compacted into files of a target size.
//
// A promotion always recomputes the curated partition from every cleansed file of the
// partition, and names its output deterministically (part-00000.parquet, …), so a replayed or
// duplicated trigger rewrites the same result instead of adding to it.
package promote

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/zone"
)

// DefaultTargetBytes bounds a curated file when Promoter.TargetBytes is zero.
const DefaultTargetBytes = 128 << 20

// Promoter promotes partitions from the cleansed to the curated zone.
type Promoter struct {
	Contracts map[string]*contract.Contract
	Cleansed  objectstore.Store
	Curated   objectstore.Store
	// PIIKey keys the HMAC of fields whose policy is hash. Required when a contract hashes.
	PIIKey []byte
	// TargetBytes bounds each curated file; zero means DefaultTargetBytes.
	TargetBytes int64
	// Lock tunes the partition lock; zero values take the defaults.
	Lock LockOptions
	Log  *slog.Logger
}

// Result tells what a promotion did.
type Result struct {
	Dataset   string
	Partition zone.Partition
	FilesIn   int
	BytesIn   int64
	RowsIn    int64
	RowsOut   int64 // after deduplication
	BytesOut  int64
	Files     []string // curated keys of the output
	Unchanged int      // of Files, how many already held the same bytes and were not rewritten
	Deleted   []string // curated keys removed because they are no longer part of the output
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

// Promote recomputes the curated partition of dataset from all its cleansed files, holding the
// partition's lock while it does.
func (p *Promoter) Promote(ctx context.Context, dataset string, part zone.Partition) (Result, error) {
	res := Result{Dataset: dataset, Partition: part}
	c, ok := p.Contracts[dataset]
	if !ok {
		return res, fmt.Errorf("promote: no contract for dataset %q: add events/%s.avsc or fix the trigger", dataset, dataset)
	}
	if err := CheckKey(map[string]*contract.Contract{dataset: c}, p.PIIKey); err != nil {
		return res, err
	}
	lock, err := p.acquire(ctx, dataset, part)
	if err != nil {
		return res, err
	}
	defer lock.release(context.WithoutCancel(ctx))
	err = p.promote(ctx, c, part, &res)
	if err == nil {
		err = lock.check(ctx)
	}
	return res, err
}

func (p *Promoter) promote(ctx context.Context, c *contract.Contract, part zone.Partition, res *Result) error {
	prefix := zone.Prefix(c.Name, part)
	infos, err := p.Cleansed.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("promote: list %s/%s: %w", p.Cleansed.Bucket(), prefix, err)
	}
	out := newOutput(c, p.PIIKey)
	var sources []*source
	win := map[string]winner{}
	for _, in := range infos {
		if !strings.HasSuffix(in.Key, ".parquet") {
			continue
		}
		src, size, err := p.open(ctx, in.Key, out, len(sources))
		if errors.Is(err, objectstore.ErrNotFound) {
			continue // removed since it was listed; its rows are gone from the zone too
		}
		if err != nil {
			return err
		}
		n, err := out.scanKeys(src, win)
		if err != nil {
			return fmt.Errorf("promote: %s/%s: %w", p.Cleansed.Bucket(), in.Key, err)
		}
		sources = append(sources, src)
		res.FilesIn++
		res.BytesIn += size
		res.RowsIn += n
	}

	target := p.TargetBytes
	if target <= 0 {
		target = DefaultTargetBytes
	}
	existing, err := p.Curated.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("promote: list %s/%s: %w", p.Curated.Bucket(), prefix, err)
	}
	etags := map[string]string{}
	for _, in := range existing {
		etags[in.Key] = strings.Trim(in.ETag, `"`)
	}
	written := map[string]bool{}
	fw := &fileWriter{o: out, target: target, rgRows: 256, emit: func(i int, body []byte) error {
		key := zone.Key(c.Name, part, fmt.Sprintf("part-%05d.parquet", i))
		written[key] = true
		res.Files = append(res.Files, key)
		res.BytesOut += int64(len(body))
		// An object with these very bytes is already there (a replay): leave it, so that
		// readers, caches and lineage see no change. (With SSE-KMS the ETag is not the MD5,
		// and the object is simply rewritten.)
		if sum := md5.Sum(body); etags[key] == hex.EncodeToString(sum[:]) {
			res.Unchanged++
			return nil
		}
		if _, err := p.Curated.Put(ctx, key, body, objectstore.PutOptions{
			ContentType: "application/vnd.apache.parquet",
			Metadata:    map[string]string{"sluice-job": "promote", "sluice-contract-version": c.Version},
		}); err != nil {
			return fmt.Errorf("promote: write %s/%s: %w", p.Curated.Bucket(), key, err)
		}
		return nil
	}}
	if res.RowsOut, err = out.merge(sources, win, fw); err != nil {
		return err
	}
	for _, in := range existing {
		if written[in.Key] {
			continue
		}
		if err := p.Curated.Delete(ctx, in.Key); err != nil {
			return fmt.Errorf("promote: delete stale %s/%s: %w", p.Curated.Bucket(), in.Key, err)
		}
		res.Deleted = append(res.Deleted, in.Key)
	}
	return nil
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

// curatedCodec is zstd at its default level, the trade parquetfile.Small makes for files that stay.
var curatedCodec = &zstd.Codec{Level: zstd.SpeedDefault}

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
