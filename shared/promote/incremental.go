package promote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/zone"
)

// errRecompute says the incremental path cannot continue and the partition is recomputed.
var errRecompute = errors.New("promote: the partition must be recomputed")

// state is one incremental promotion of a partition.
type state struct {
	p      *Promoter
	ctx    context.Context
	c      *contract.Contract
	part   zone.Partition
	prefix string // where its data files go
	out    *output
	res    *Result
	target int64
	rgSize int64 // row groups of new rows are cut at about this size
	step   int64

	files     []*curFile // the curated partition, by part number
	inputs    []entry    // cleansed objects promoted
	newInputs []objectstore.Info
	next      int // next free part number
	asm       *assembler
	written   map[string]bool // keys this promotion wrote
	produced  map[string]bool // keys this promotion wrote, or found already holding the bytes it would have
	changed   bool
	// A change stream's deleted keys (see changes.go).
	deletes        map[string]change
	deletesKey     string // the deletes object the promotion started from
	deletesChanged bool
}

// curFile is one curated file, opened (footer only) when first needed.
type curFile struct {
	entry
	num  int
	rr   *rangeReader
	pf   *pfile
	drop map[int][]int64 // row group → its rows superseded by new ones, ascending
}

func (p *Promoter) newState(ctx context.Context, c *contract.Contract, part zone.Partition, res *Result) *state {
	st := &state{p: p, ctx: ctx, c: c, part: part, prefix: DataPrefix(c.Name, part), out: newOutput(c, p.PIIKey), res: res, target: p.TargetBytes, step: p.StepBytes, written: map[string]bool{}, produced: map[string]bool{}}
	if st.target <= 0 {
		st.target = DefaultTargetBytes
	}
	if st.step <= 0 {
		st.step = DefaultStepBytes
	}
	st.rgSize = st.target / 8
	return st
}

// load checks the partition against its manifest and returns why it must be recomputed, or "".
func (st *state) load(m *manifest, cleansed, curated []objectstore.Info) string {
	for _, k := range st.c.Key {
		if f := st.c.Fields[k]; f.PII != contract.Keep {
			return fmt.Sprintf("key field %s is not kept as is in curated (pii %s), so curated keys cannot be compared with new ones", f.Name, f.PII)
		}
	}
	if m == nil {
		if len(curated) > 0 {
			return "the partition has no manifest (promoted by an earlier version)"
		}
		m = &manifest{}
	}
	listed := map[string]objectstore.Info{}
	for _, in := range curated {
		listed[in.Key] = in
	}
	if len(m.Files) != len(curated) {
		return fmt.Sprintf("the curated table's partition holds %d files, its manifest %d", len(curated), len(m.Files))
	}
	for _, e := range m.Files {
		in, ok := listed[e.Key]
		if !ok || (in.ETag != "" && trimETag(in.ETag) != e.ETag) {
			return fmt.Sprintf("curated file %s differs from the manifest", e.Key)
		}
		num, err := partNum(e.Key)
		if err != nil {
			return err.Error()
		}
		e.Size = in.Size
		st.files = append(st.files, &curFile{entry: e, num: num})
		st.next = max(st.next, num+1)
	}
	slices.SortFunc(st.files, func(a, b *curFile) int { return a.num - b.num })
	etags := map[string]string{}
	for _, in := range cleansed {
		etags[in.Key] = trimETag(in.ETag)
	}
	promoted := map[string]bool{}
	for _, e := range m.Inputs {
		if etags[e.Key] != e.ETag {
			return fmt.Sprintf("cleansed file %s was removed or replaced since it was promoted", e.Key)
		}
		promoted[e.Key] = true
	}
	st.inputs = m.Inputs
	for _, in := range cleansed {
		if !promoted[in.Key] {
			st.newInputs = append(st.newInputs, in)
		}
	}
	return ""
}

// run converts the new cleansed files a batch at a time, then merges small curated files.
func (st *state) run() error {
	var batch []objectstore.Info
	var size int64
	for _, in := range st.newInputs {
		if len(batch) > 0 && size+in.Size > st.step {
			if err := st.convert(batch); err != nil {
				return err
			}
			batch, size = nil, 0
		}
		batch = append(batch, in)
		size += in.Size
	}
	if len(batch) > 0 {
		if err := st.convert(batch); err != nil {
			return err
		}
	}
	return st.compact()
}

// finish fills the result, commits the partition's new files as one snapshot of the curated
// table, and records the partition in its manifest. before are the partition's files in the
// snapshot the promotion started from.
func (st *state) finish(mkey, metag string, before []objectstore.Info) error {
	res := st.res
	m := &manifest{Inputs: st.inputs}
	for _, f := range st.files {
		res.Files = append(res.Files, f.Key)
		res.RowsOut += f.Rows
		if !st.written[f.Key] {
			res.Unchanged++
		}
		m.Files = append(m.Files, f.entry)
	}
	if !st.changed {
		return nil
	}
	// Deleted are the files the snapshot takes out of the table: those removed, and the former
	// versions of parts rewritten under new names.
	kept := map[string]bool{}
	for _, e := range m.Files {
		kept[e.Key] = true
	}
	for _, in := range before {
		if !kept[in.Key] {
			res.Deleted = append(res.Deleted, in.Key)
		}
	}
	// Files removed with no new cleansed rows are a compaction: the same rows in other files.
	op := iceberg.OpOverwrite
	if res.FilesIn == 0 {
		op = iceberg.OpReplace
	}
	if err := st.p.commit(st.ctx, st.c, partitionScope(st.c, st.part), before, m.Files, op); err != nil {
		return err
	}
	return writeManifest(st.ctx, st.p.Curated, mkey, m, metag)
}

// convert promotes one batch of new cleansed files.
func (st *state) convert(batch []objectstore.Info) error {
	win := map[string]winner{}
	sources, ins, err := st.openBatch(batch, func(src *source) (int64, error) { return st.out.scanKeys(src, win) })
	if err != nil || len(sources) == 0 {
		return err
	}
	// The new rows against the curated ones, from the key and event-time columns only.
	var superseded int64
	for _, f := range st.files {
		n, err := st.scan(f, win)
		if err != nil {
			return err
		}
		superseded += n
	}
	var rowsIn, winners int64
	for _, in := range ins {
		rowsIn += in.Rows
	}
	for _, w := range win {
		if w.file >= 0 {
			winners++
		}
	}
	st.res.Duplicates += rowsIn - winners + superseded
	return st.write(sources, ins, win, winners, rowsIn-winners)
}

// openBatch opens a batch of new cleansed files, scanning each with scan (which returns its
// row count), and records them as inputs of the promotion.
func (st *state) openBatch(batch []objectstore.Info, scan func(*source) (int64, error)) ([]*source, []Input, error) {
	var sources []*source
	var ins []Input
	res := st.res
	for _, in := range batch {
		src, size, err := st.p.open(st.ctx, in.Key, st.out, len(sources))
		if errors.Is(err, objectstore.ErrNotFound) {
			continue // removed since it was listed; its rows are gone from the zone too
		}
		if err != nil {
			return nil, nil, err
		}
		n, err := scan(src)
		if err != nil {
			return nil, nil, fmt.Errorf("promote: %s/%s: %w", st.p.Cleansed.Bucket(), in.Key, err)
		}
		sources = append(sources, src)
		ins = append(ins, Input{Bucket: st.p.Cleansed.Bucket(), Key: in.Key, ETag: trimETag(in.ETag), Rows: n})
		st.inputs = append(st.inputs, entry{Key: in.Key, ETag: trimETag(in.ETag), Rows: n, Size: size})
		res.FilesIn++
		res.BytesIn += size
		res.RowsIn += n
		st.changed = true
	}
	return sources, ins, nil
}

// write appends the winning new rows of sources (win's entries with a file) to the partition,
// and rewrites the curated files that lost rows (their drop lists) without them. dropped
// counts the new rows left out, which the batch's first output file accounts for.
func (st *state) write(sources []*source, ins []Input, win map[string]winner, winners, dropped int64) error {
	o, res := st.out, st.res
	// The last file, if not full, takes the new rows; more files follow if they overflow it.
	ch := st.newChain()
	for _, in := range ins {
		ch.carry = append(ch.carry, Input{Bucket: in.Bucket, Key: in.Key, ETag: in.ETag})
	}
	var replaced []*curFile
	if n := len(st.files); n > 0 && st.files[n-1].Size < st.target-st.rgSize {
		open := st.files[n-1]
		replaced = append(replaced, open)
		ch.names = []string{open.Key}
		if err := ch.addFile(open); err != nil {
			return err
		}
	}
	// The surviving new rows, converted a row group at a time: each is encoded as a file of
	// its own and its bytes copied into the chain, so that one row group is held, not a batch.
	ch.carryDups = dropped
	taken := map[int]int64{} // rows of the row group being encoded, by source
	var groups [][]Input     // the sources of each row group of the file being encoded
	fw := &fileWriter{o: o, target: st.rgSize, rgBytes: st.rgSize, rgRows: 256,
		rowGroupDone: func() {
			var from []Input
			for si, in := range ins {
				if n := taken[si]; n > 0 {
					in.Rows = n
					from = append(from, in)
				}
			}
			clear(taken)
			groups = append(groups, from)
		},
		emit: func(_ int, b []byte) error {
			tf, err := memFile(b)
			if err != nil {
				return fmt.Errorf("promote: reopen converted rows: %w", err)
			}
			if len(groups) != len(tf.f.Metadata().RowGroups) {
				return fmt.Errorf("promote: %d row groups converted, %d counted", len(tf.f.Metadata().RowGroups), len(groups))
			}
			for ri := range groups {
				if err := ch.add(tf, ri, groups[ri], 0, true); err != nil {
					return err
				}
			}
			groups = groups[:0]
			return nil
		}}
	out, err := o.merge(sources, win, fw, func(s int) { taken[s]++ })
	if err != nil {
		return err
	}
	if out != winners {
		return fmt.Errorf("promote: %d rows converted, %d expected", out, winners)
	}
	sources, win = nil, nil
	if err := ch.flush(); err != nil {
		return err
	}
	if !ch.flushed && len(ch.carry) > 0 {
		res.Absorbed = append(res.Absorbed, ch.carry...)
		if err := st.markAbsorbed(ch.carry, ch.carryDups); err != nil {
			return err
		}
	}
	// Files that lost rows to new ones, rewritten in place without them.
	for _, f := range slices.Clone(st.files) {
		if len(f.drop) == 0 || slices.Contains(replaced, f) {
			continue
		}
		replaced = append(replaced, f)
		c := st.newChain()
		c.names = []string{f.Key}
		if err := c.addFile(f); err != nil {
			return err
		}
		if err := c.flush(); err != nil {
			return err
		}
	}
	// Only now, with every surviving row written elsewhere, files left empty go.
	for _, f := range replaced {
		if !st.produced[f.Key] {
			if err := st.remove(f.Key); err != nil {
				return err
			}
		}
	}
	return nil
}

// scan marks which of win's new rows lose to curated rows of f (set to file -1), and which
// rows of f lose to new ones (f.drop). It returns how many rows of f lose.
func (st *state) scan(f *curFile, win map[string]winner) (int64, error) {
	if len(win) == 0 {
		return 0, nil
	}
	if err := st.openCur(f); err != nil {
		return 0, err
	}
	byPath := map[string]int{}
	for i, p := range f.pf.f.Schema().Columns() {
		byPath[strings.Join(p, ".")] = i
	}
	tsCol := byPath[st.c.Fields[st.c.EventTime].Name]
	var keyCols []int
	for _, k := range st.c.Key {
		keyCols = append(keyCols, byPath[st.c.Fields[k].Name])
	}
	return st.heldRows(f, append([]int{tsCol}, keyCols...), func(rg parquet.RowGroup) ([][]byte, func(i int) bool, error) {
		ts, keys, err := rowGroupKeys(rg, tsCol, keyCols)
		return keys, func(i int) bool {
			w, ok := win[string(keys[i])]
			if !ok || w.file < 0 {
				return false
			}
			if ts[i] >= w.ts {
				w.file = -1 // the curated row stays: the new one is older, or a replay
				win[string(keys[i])] = w
				return false
			}
			return true
		}, err
	})
}

// heldRows reads columns cols of each row group of f (their chunks only) and drops the rows
// (f.drop) for which the row group's read function says so. It returns how many it drops.
func (st *state) heldRows(f *curFile, cols []int, read func(rg parquet.RowGroup) ([][]byte, func(i int) bool, error)) (int64, error) {
	var lost int64
	md := f.pf.f.Metadata()
	for ri, rg := range f.pf.f.RowGroups() {
		for _, c := range cols {
			s, e := chunkRange(&md.RowGroups[ri].Columns[c])
			if err := f.rr.load(s, e-s); err != nil {
				return 0, fmt.Errorf("promote: read %s/%s: %w", st.p.Curated.Bucket(), f.Key, err)
			}
		}
		keys, drop, err := read(rg)
		f.rr.unload()
		if err != nil {
			return 0, fmt.Errorf("promote: %s/%s: %w", st.p.Curated.Bucket(), f.Key, err)
		}
		for i := range keys {
			if !drop(i) {
				continue
			}
			if f.drop == nil {
				f.drop = map[int][]int64{}
			}
			f.drop[ri] = append(f.drop[ri], int64(i))
			lost++
		}
	}
	return lost, nil
}

// openCur reads f's footer.
func (st *state) openCur(f *curFile) error {
	if f.pf != nil {
		return nil
	}
	rr, err := openRange(st.ctx, st.p.Curated, f.Key, f.Size)
	if err != nil {
		return fmt.Errorf("promote: read %s/%s: %w", st.p.Curated.Bucket(), f.Key, err)
	}
	pf, err := parquet.OpenFile(rr, f.Size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true), parquet.SkipMagicBytes(true))
	if err != nil {
		return fmt.Errorf("%w: curated file %s is not readable Parquet: %v", errRecompute, f.Key, err)
	}
	if !parquet.EqualNodes(pf.Schema(), st.out.schema) {
		return fmt.Errorf("%w: curated file %s has another schema than the contract's (it changed)", errRecompute, f.Key)
	}
	f.rr, f.pf = rr, &pfile{f: pf, read: rr.read}
	return nil
}

// filterRowGroup re-encodes row group ri of f without the rows in drop (ascending).
func (st *state) filterRowGroup(f *curFile, ri int, drop []int64) ([]byte, int64, error) {
	s, e := rowGroupRange(&f.pf.f.Metadata().RowGroups[ri])
	if err := f.rr.load(s, e-s); err != nil {
		return nil, 0, fmt.Errorf("promote: read %s/%s: %w", st.p.Curated.Bucket(), f.Key, err)
	}
	defer f.rr.unload()
	rows := f.pf.f.RowGroups()[ri].Rows()
	defer rows.Close()
	var buf bytes.Buffer
	w := st.out.writer(&buf)
	batch := make([]parquet.Row, 256)
	var idx, kept int64
	di := 0
	for {
		n, err := rows.ReadRows(batch)
		keep := batch[:0]
		for _, r := range batch[:n] {
			if di < len(drop) && drop[di] == idx {
				di++
			} else {
				keep = append(keep, r)
			}
			idx++
		}
		if len(keep) > 0 {
			if _, werr := w.WriteRows(keep); werr != nil {
				return nil, 0, fmt.Errorf("promote: rewrite %s: %w", f.Key, werr)
			}
			kept += int64(len(keep))
		}
		if err == io.EOF || (err == nil && n == 0) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("promote: read %s/%s: %w", st.p.Curated.Bucket(), f.Key, err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, 0, fmt.Errorf("promote: rewrite %s: %w", f.Key, err)
	}
	return buf.Bytes(), kept, nil
}

// compact merges curated files under half the target size into as few files as fit, copying
// their row groups. Output goes under the small files' own keys, in order; the keys left over
// are deleted once the merged files are written.
func (st *state) compact() error {
	var small []*curFile
	for _, f := range st.files {
		if f.Size < st.target/2 {
			small = append(small, f)
		}
	}
	if len(small) < 2 {
		return nil
	}
	ch := st.newChain()
	for _, f := range small {
		ch.names = append(ch.names, f.Key)
	}
	// Every file's row groups are read before its key is written over: an output is flushed
	// only when the next row group (at most half the target) does not fit, so each output
	// holds more than any one small file, and the n-th output's key is that of a file
	// already read.
	for _, f := range small {
		if err := st.openCur(f); err != nil {
			return err
		}
		in := Input{Bucket: st.p.Curated.Bucket(), Key: f.Key, ETag: f.ETag}
		for ri, rg := range f.pf.f.Metadata().RowGroups {
			in.Rows = rg.NumRows
			if err := ch.add(f.pf, ri, []Input{in}, 0, true); err != nil {
				return err
			}
		}
	}
	if err := ch.flush(); err != nil {
		return err
	}
	for _, key := range ch.names {
		if err := st.remove(key); err != nil {
			return err
		}
	}
	return nil
}

func (st *state) fileOfNum(num int) *curFile {
	for _, f := range st.files {
		if f.num == num {
			return f
		}
	}
	return nil
}

// markAbsorbed records cleansed files whose every row was a duplicate, which no new version of
// a curated file lists (none was written, or the one written held the same bytes and was left
// alone): a marker object under AbsorbedPrefix carries their provenance, so that lineage
// accounts for the rows they brought, dropped as duplicates. Its name follows from the files, so a
// replayed promotion rewrites the same marker.
func (st *state) markAbsorbed(inputs []Input, dups int64) error {
	h := sha256.New()
	rec := &provenance.Record{Job: "promote", Run: provenance.RunOf(st.ctx), Dataset: st.c.Name, Contract: st.c.Name,
		ContractVersion: st.c.Version, Kind: provenance.Marker, Dropped: map[string]int64{"duplicate": dups}}
	for _, in := range inputs {
		fmt.Fprintf(h, "%s\x00%s\x00%s\n", in.Bucket, in.Key, in.ETag)
		rec.Inputs = append(rec.Inputs, provenance.Input{Bucket: in.Bucket, Key: in.Key, ETag: in.ETag})
	}
	key := AbsorbedPrefix + zone.Key(st.c.Name, st.part, hex.EncodeToString(h.Sum(nil)[:16])+".json")
	body, _ := json.Marshal(map[string]any{"absorbed": inputs, "duplicates": dups})
	if _, err := provenance.Put(st.ctx, st.p.Curated, key, body, objectstore.PutOptions{ContentType: "application/json"}, rec); err != nil {
		return fmt.Errorf("promote: write %s/%s: %w", st.p.Curated.Bucket(), key, err)
	}
	return nil
}

// remove takes a file out of the partition; the snapshot drops it from the table, and its
// object stays for older snapshots until they expire.
func (st *state) remove(key string) error {
	st.files = slices.DeleteFunc(st.files, func(f *curFile) bool { return f.Key == key })
	st.changed = true
	return nil
}

// chain writes a sequence of row groups as curated files of at most the target size.
type chain struct {
	st    *state
	names []string // keys to write, in order; then new part numbers
	asm   *assembler
	// inputs and dups of the file being assembled
	inputs []Input
	dups   int64
	// carry goes to the first file written: the batch's cleansed files and their duplicates
	carry     []Input
	carryDups int64
	flushed   bool
}

// newChain starts a chain; chains run one after the other and share one assembler, whose
// buffer then grows once per promotion rather than once per file.
func (st *state) newChain() *chain {
	if st.asm == nil {
		st.asm = newAssembler(map[string]string{"sluice.contract_version": st.c.Version, "sluice.zone": "curated"}, st.target)
	}
	return &chain{st: st, asm: st.asm}
}

// add appends row group ri of pf; with split, a file too full for it is written first.
func (ch *chain) add(pf *pfile, ri int, from []Input, dups int64, split bool) error {
	if split && !ch.asm.empty() && ch.asm.estimate()+pf.rowGroupBytes(ri)+footerBytesPerChunk*int64(len(pf.f.Metadata().RowGroups[ri].Columns)) > ch.st.target {
		if err := ch.flush(); err != nil {
			return err
		}
	}
	if err := ch.asm.add(pf, ri); err != nil {
		return fmt.Errorf("promote: copy row group: %w", err)
	}
	ch.inputs = addInputs(ch.inputs, from...)
	ch.dups += dups
	return nil
}

func addInputs(to []Input, from ...Input) []Input {
next:
	for _, in := range from {
		for i := range to {
			if to[i].Bucket == in.Bucket && to[i].Key == in.Key {
				to[i].Rows += in.Rows
				continue next
			}
		}
		to = append(to, in)
	}
	return to
}

// addFile appends f's rows: row groups without superseded rows copied, the others re-encoded
// without them. Never split: f's key may be the one being written.
func (ch *chain) addFile(f *curFile) error {
	st := ch.st
	if err := st.openCur(f); err != nil {
		return err
	}
	for ri, rg := range f.pf.f.Metadata().RowGroups {
		in := Input{Bucket: st.p.Curated.Bucket(), Key: f.Key, ETag: f.ETag, Rows: rg.NumRows}
		drop := f.drop[ri]
		if len(drop) == 0 {
			if err := ch.add(f.pf, ri, []Input{in}, 0, false); err != nil {
				return err
			}
			continue
		}
		body, kept, err := st.filterRowGroup(f, ri, drop)
		if err != nil {
			return err
		}
		if kept == 0 {
			ch.dups += int64(len(drop))
			continue
		}
		tf, err := memFile(body)
		if err != nil {
			return fmt.Errorf("promote: reopen rewritten row group: %w", err)
		}
		in.Rows = kept
		if err := ch.add(tf, 0, []Input{in}, int64(len(drop)), false); err != nil {
			return err
		}
	}
	return nil
}

// slot is the part number of the next file: that of the next file being replaced, else a new one.
func (ch *chain) slot() int {
	if len(ch.names) > 0 {
		n := ch.names[0]
		ch.names = ch.names[1:]
		if num, err := partNum(n); err == nil {
			return num
		}
	}
	st := ch.st
	st.next++
	return st.next - 1
}

// flush writes the file assembled so far.
func (ch *chain) flush() error {
	if ch.asm.empty() {
		return nil
	}
	st := ch.st
	rows := ch.asm.rows
	body, err := ch.asm.finish()
	if err != nil {
		return fmt.Errorf("promote: finish curated file: %w", err)
	}
	num := ch.slot()
	key := dataKey(st.prefix, num, body)
	out := Output{Bucket: st.p.Curated.Bucket(), Key: key, Rows: rows, Bytes: int64(len(body)), Inputs: ch.inputs, Duplicates: ch.dups}
	if !ch.flushed {
		ch.flushed = true
		for _, in := range ch.carry {
			in.Rows = 0
			out.Inputs = addInputs(out.Inputs, in)
		}
		out.Duplicates += ch.carryDups
	}
	ch.inputs, ch.dups = nil, 0
	prev := st.fileOfNum(num)
	// The same name is the same bytes (the name carries their hash): a replay, left alone.
	if same := prev != nil && prev.Key == key; same {
		out.ETag, out.Unchanged = prev.ETag, true
		// Not rewritten, so no new version says which files' rows it dropped: a marker does.
		var others []Input
		for _, in := range out.Inputs {
			if in.Bucket != out.Bucket || in.Key != out.Key {
				others = append(others, in)
			}
		}
		if out.Duplicates > 0 && len(others) > 0 {
			if err := st.markAbsorbed(others, out.Duplicates); err != nil {
				return err
			}
		}
	} else {
		info, err := st.p.putCurated(st.ctx, st.c, key, body, &out)
		if err != nil {
			return err
		}
		out.ETag = trimETag(info.ETag)
		st.written[key] = true
		st.res.BytesOut += out.Bytes
	}
	st.produced[key] = true
	st.changed = true
	st.res.Outputs = append(st.res.Outputs, out)
	e := entry{Key: key, ETag: out.ETag, Rows: rows, Size: out.Bytes}
	if prev != nil {
		*prev = curFile{entry: e, num: prev.num}
	} else {
		st.files = append(st.files, &curFile{entry: e, num: num})
		slices.SortFunc(st.files, func(a, b *curFile) int { return a.num - b.num })
	}
	return nil
}
