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
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
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
	for _, in := range infos {
		if !strings.HasSuffix(in.Key, ".parquet") {
			continue
		}
		n, size, err := p.readFile(ctx, in.Key, out)
		if errors.Is(err, objectstore.ErrNotFound) {
			continue // removed since it was listed; its rows are gone from the zone too
		}
		if err != nil {
			return err
		}
		res.FilesIn++
		res.BytesIn += size
		res.RowsIn += n
	}
	rows := out.sorted()
	res.RowsOut = int64(len(rows))

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
	if len(rows) > 0 {
		err := out.encode(rows, target, res, func(i int, body []byte) error {
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
		})
		if err != nil {
			return err
		}
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

// readFile adds the rows of one cleansed file to out.
func (p *Promoter) readFile(ctx context.Context, key string, out *output) (rows, size int64, err error) {
	rc, _, err := p.Cleansed.Get(ctx, key)
	if err != nil {
		return 0, 0, fmt.Errorf("promote: read %s/%s: %w", p.Cleansed.Bucket(), key, err)
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return 0, 0, fmt.Errorf("promote: read %s/%s: %w", p.Cleansed.Bucket(), key, err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return 0, 0, fmt.Errorf("promote: %s/%s is not readable Parquet (the cleansed zone holds only files sluice wrote; remove or quarantine it): %w", p.Cleansed.Bucket(), key, err)
	}
	n, err := out.add(f)
	if err != nil {
		return 0, 0, fmt.Errorf("promote: %s/%s: %w", p.Cleansed.Bucket(), key, err)
	}
	return n, int64(len(body)), nil
}

// output holds the deduplicated rows of a partition in the curated schema.
type output struct {
	c      *contract.Contract
	schema *parquet.Schema
	key    []byte
	// per curated column: the contract field it belongs to, and its full path
	field []int
	paths []string
	byKey map[string]int // dedupe key → index in rows
	rows  []kept
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

type kept struct {
	ts  int64
	key string
	row parquet.Row
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
	o := &output{c: c, schema: CuratedSchema(c), key: key, byKey: map[string]int{}}
	for _, path := range o.schema.Columns() {
		f, _ := c.Field(path[0])
		o.field = append(o.field, f.Index)
		o.paths = append(o.paths, strings.Join(path, "."))
	}
	return o
}

// add reads every row of f, keeping per key the latest by event time; rows are offered in
// object-key order, then row order, so on a tie the later one wins.
func (o *output) add(f *parquet.File) (int64, error) {
	srcCols := f.Schema().Columns()
	srcOf := make([]int, len(o.paths)) // curated column → cleansed column, -1 if the file lacks it
	byPath := map[string]int{}
	for i, p := range srcCols {
		byPath[strings.Join(p, ".")] = i
	}
	for i, p := range o.paths {
		j, ok := byPath[p]
		if !ok {
			if !o.c.Fields[o.field[i]].Nullable {
				return 0, fmt.Errorf("required column %s is missing (a file of another schema in the cleansed zone)", p)
			}
			j = -1
		}
		srcOf[i] = j
	}
	tsCol, ok := byPath[o.c.Fields[o.c.EventTime].Name]
	if !ok {
		return 0, fmt.Errorf("event-time column %s is missing", o.c.Fields[o.c.EventTime].Name)
	}
	keyCols := make([]int, len(o.c.Key))
	for i, k := range o.c.Key {
		if keyCols[i], ok = byPath[o.c.Fields[k].Name]; !ok {
			return 0, fmt.Errorf("key column %s is missing", o.c.Fields[k].Name)
		}
	}

	var n int64
	buf := make([]parquet.Row, 256)
	cols := make([][]parquet.Value, len(srcCols))
	var kb []byte
	for _, rg := range f.RowGroups() {
		rr := rg.Rows()
		for {
			m, err := rr.ReadRows(buf)
			for _, row := range buf[:m] {
				row.Range(func(ci int, vals []parquet.Value) bool {
					if ci < len(cols) {
						cols[ci] = vals
					}
					return true
				})
				kb = kb[:0]
				for _, kc := range keyCols {
					b := cols[kc][0].Bytes()
					kb = binary.AppendUvarint(kb, uint64(len(b)))
					kb = append(kb, b...)
				}
				ts := cols[tsCol][0].Int64()
				o.offer(string(kb), ts, o.convert(cols, srcOf))
				n++
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				rr.Close()
				return n, fmt.Errorf("read rows: %w", err)
			}
		}
		rr.Close()
	}
	return n, nil
}

func (o *output) offer(key string, ts int64, row parquet.Row) {
	if i, ok := o.byKey[key]; ok {
		if ts >= o.rows[i].ts {
			o.rows[i] = kept{ts, key, row}
		}
		return
	}
	o.byKey[key] = len(o.rows)
	o.rows = append(o.rows, kept{ts, key, row})
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

// sorted returns the kept rows by event time, then key: the order does not depend on the
// order the files were read in.
func (o *output) sorted() []parquet.Row {
	slices.SortFunc(o.rows, func(a, b kept) int {
		return cmp.Or(cmp.Compare(a.ts, b.ts), strings.Compare(a.key, b.key))
	})
	out := make([]parquet.Row, len(o.rows))
	for i := range o.rows {
		out[i] = o.rows[i].row
	}
	return out
}

// encode cuts rows into files of at most target bytes. The first guess of rows per file comes
// from the input's bytes per row; a file that comes out too large is encoded again with fewer.
// Each file is handed to emit as soon as it is made, so that only one is held at a time.
func (o *output) encode(rows []parquet.Row, target int64, res *Result, emit func(i int, body []byte) error) error {
	per := len(rows)
	if res.BytesIn > 0 && res.RowsIn > 0 {
		per = int(min(int64(len(rows)), max(1, target*res.RowsIn/res.BytesIn)))
	}
	for i, start := 0, 0; start < len(rows); i++ {
		n := min(per, len(rows)-start)
		for {
			body, err := o.file(rows[start : start+n])
			if err != nil {
				return err
			}
			if int64(len(body)) <= target || n == 1 {
				if err := emit(i, body); err != nil {
					return err
				}
				break
			}
			n = max(1, int(float64(n)*float64(target)/float64(len(body))*0.95))
			per = n
		}
		start += n
	}
	return nil
}

// curatedCodec is zstd at its default level, the trade parquetfile.Small makes for files that stay.
var curatedCodec = &zstd.Codec{Level: zstd.SpeedDefault}

func (o *output) file(rows []parquet.Row) ([]byte, error) {
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, o.schema,
		parquet.Compression(curatedCodec),
		parquet.CreatedBy(parquetfile.CreatedBy, "", ""),
		parquet.MaxRowsPerRowGroup(1_000_000),
		parquet.DataPageStatistics(false),
		parquet.KeyValueMetadata("sluice.contract_version", o.c.Version),
		parquet.KeyValueMetadata("sluice.zone", string(zone.Curated)),
	)
	if _, err := w.WriteRows(rows); err != nil {
		return nil, fmt.Errorf("promote: encode curated %s: %w", o.c.Name, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("promote: finish curated %s: %w", o.c.Name, err)
	}
	return buf.Bytes(), nil
}

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
