package promote

// Change streams. A dataset whose contract declares it a change stream (package cdc) holds in
// the cleansed zone every change of a source table: the row image, the operation, the
// source's position and time. Its curated table is the source table's current state instead:
// one row per key, the image of the key's latest change, deleted keys absent.
//
// The latest change of a key is the one with the highest (position, source time) (see later):
// a late, replayed or duplicated change loses to a newer one whenever and however often it
// arrives. To tell, the table remembers each key's position: a live key's row keeps its
// cdc_position and cdc_source_ts columns, and a deleted key's position is kept beside the
// table in a deletes object (DeletesPrefix), which each snapshot names in its summary
// (SummaryDeletes). The two move together, in one commit, so a reader or the next promotion
// never sees rows of one snapshot with the deletes of another. Without the deletes object, an
// upsert older than a delete that arrives after it (another hour of the cleansed zone promoted
// later, or a consumer replaying from an earlier offset) would bring the deleted row back.
//
// Layout: the table is unpartitioned, its files under <dataset>/data/. Cleansed partitions are
// hours of the source's time, but a key's next change may fall in any later hour: were the
// curated table partitioned by time, a promotion would have to find and remove the key's row in
// every partition. Unpartitioned, a promotion reads the key, position and time columns of the
// table's files (column chunks only), re-encodes the row groups that lose a row (copy-on-write;
// the others are copied as bytes), appends the new rows to the last file, and commits one
// snapshot that removes the replaced files and adds their new versions. Every promotion of the
// dataset changes the one table, so promotions of a change stream take a lock on the table
// (TableLockKey), not on a partition.
//
// Folding a change twice changes nothing (it ties with itself and what is held wins), so a
// crash between the snapshot and the partition's manifest is repaired by folding the files
// again. A table whose current snapshot was not made by a fold (a rollback restored an earlier
// snapshot, which names no deletes object) is recomputed from every cleansed file of the
// dataset.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/zone"
)

// SummaryDeletes is the snapshot summary key naming the deletes object of a change stream's
// table as of that snapshot ("" when no key is deleted).
const SummaryDeletes = "sluice.cdc-deletes"

// DeletesPrefix is where the deletes objects of change streams live in the curated bucket:
// outside every table, like the manifests.
const DeletesPrefix = "_cdc/"

// ChangeDataPrefix is where the data files of a change stream's curated table go.
func ChangeDataPrefix(dataset string) string { return dataset + "/" + zone.TableData + "/" }

// change is a key's change: where it stands in the source's order, and where its row is.
type change struct {
	pos  string
	ts   int64
	del  bool
	file int32 // the source it came from in this batch; -1 for what the table holds
	row  int64
	lost bool // the table holds this change or a later one
}

// later reports whether a comes after b in the source's order: the higher position, then the
// later source time; at the same position and time (one change, delivered twice) a delete
// comes after an upsert, so the outcome does not depend on which copy arrives first.
func later(a, b change) bool {
	if a.pos != b.pos {
		return a.pos > b.pos
	}
	if a.ts != b.ts {
		return a.ts > b.ts
	}
	return a.del && !b.del
}

// deletedKey is one row of a deletes object.
type deletedKey struct {
	Key      []byte `parquet:"key"`
	Position string `parquet:"position"`
	SourceTs int64  `parquet:"source_ts"`
}

// checkChangeStream refuses a change stream whose key or ordering columns would not be kept as
// they are in curated: they are what the fold compares.
func checkChangeStream(c *contract.Contract) error {
	names := []string{cdc.PositionField, cdc.SourceTimeField, cdc.OpField}
	for _, k := range c.Key {
		names = append(names, c.Fields[k].Name)
	}
	for _, n := range names {
		f, _ := c.Field(n)
		if f.PII != contract.Keep {
			return fmt.Errorf("promote: change stream %s: field %s must be kept as it is in curated (pii keep), it is what changes are ordered and matched by; it has pii %s", c.Name, n, f.PII)
		}
	}
	return nil
}

// promoteChanges folds the new cleansed changes of a partition into the change stream's table.
func (p *Promoter) promoteChanges(ctx context.Context, c *contract.Contract, part zone.Partition, res *Result) error {
	if err := checkChangeStream(c); err != nil {
		return err
	}
	prefix := ChangeDataPrefix(c.Name)
	tbl, before, mkey, m, metag, err := p.begin(ctx, c, part, prefix)
	if err != nil {
		return err
	}
	st := p.newState(ctx, c, part, res)
	st.prefix = prefix
	st.deletes = map[string]change{}
	if spec := tbl.Meta.Spec(); len(spec.Fields) > 0 {
		return fmt.Errorf("promote: the curated table of change stream %s is partitioned (%s of %s, made before it was a change stream): a change stream's table must be unpartitioned; drop the table (curated_%s in the catalog and %s/ in the curated bucket) and the next promotion recreates it from every cleansed change",
			c.Name, spec.Fields[0].Transform, spec.Fields[0].Name, c.Name, c.Name)
	}
	snap := tbl.Meta.Current()
	delKey, folded := "", true
	if snap != nil {
		delKey, folded = snap.Summary[SummaryDeletes]
	}
	var todo []objectstore.Info
	if !folded {
		// Not made by a fold: start from an empty table and fold every change there is.
		res.Recomputed = true
		if todo, err = p.cleansedFiles(ctx, c.Name+"/"); err != nil {
			return err
		}
	} else {
		if err := st.readDeletes(delKey); err != nil {
			return err
		}
		for _, in := range before {
			num, err := partNum(in.Key)
			if err != nil {
				return err
			}
			st.files = append(st.files, &curFile{entry: entry{Key: in.Key, Size: in.Size}, num: num})
			st.next = max(st.next, num+1)
		}
		slices.SortFunc(st.files, func(a, b *curFile) int { return a.num - b.num })
		all, err := p.cleansedFiles(ctx, zone.Prefix(c.Name, part))
		if err != nil {
			return err
		}
		promoted := map[string]string{}
		if m != nil {
			st.inputs = m.Inputs
			for _, e := range m.Inputs {
				promoted[e.Key] = e.ETag
			}
		}
		for _, in := range all {
			if etag, ok := promoted[in.Key]; !ok || etag != trimETag(in.ETag) {
				todo = append(todo, in)
			}
		}
	}
	var batch []objectstore.Info
	var size int64
	for i, in := range todo {
		batch = append(batch, in)
		size += in.Size
		if size >= st.step || i == len(todo)-1 {
			if err := st.convertChanges(batch); err != nil {
				return err
			}
			batch, size = nil, 0
		}
	}
	if err := st.compact(); err != nil {
		return err
	}
	return st.finishChanges(mkey, metag, before, zone.Prefix(c.Name, part))
}

// convertChanges folds one batch of cleansed files of changes into the table.
func (st *state) convertChanges(batch []objectstore.Info) error {
	changes := map[string]change{}
	sources, ins, err := st.openBatch(batch, func(src *source) (int64, error) { return scanChanges(st.c, src, changes) })
	if err != nil || len(sources) == 0 {
		return err
	}
	// Against deleted keys, then against the rows the table holds.
	for k, ch := range changes {
		if d, ok := st.deletes[k]; ok && !later(ch, d) {
			ch.lost = true
			changes[k] = ch
		}
	}
	var dropped, removed int64
	for _, f := range st.files {
		n, err := st.scanCurrent(f, changes, &removed)
		if err != nil {
			return err
		}
		dropped += n
	}
	var rowsIn, winners, deletes int64
	for _, in := range ins {
		rowsIn += in.Rows
	}
	win := map[string]winner{}
	for k, ch := range changes {
		win[k] = winner{file: -1} // merge writes a key's row only where it names one
		switch {
		case ch.lost:
		case ch.del:
			ch.file = -1
			st.deletes[k] = ch
			st.deletesChanged = true
			deletes++
		default:
			if _, ok := st.deletes[k]; ok {
				delete(st.deletes, k)
				st.deletesChanged = true
			}
			win[k] = winner{ts: ch.ts, file: ch.file, row: ch.row}
			winners++
		}
	}
	// New changes that lost, and rows of the table replaced by a later upsert, are duplicates,
	// as in other datasets; rows removed by a delete are not (Deletes counts those deletes).
	st.res.Duplicates += rowsIn - winners - deletes + dropped - removed
	st.res.Deletes += deletes
	return st.write(sources, ins, win, winners, rowsIn-winners)
}

// changeColumns are the columns of a file the fold reads.
type changeColumns struct {
	keys            []int
	pos, ts, op     int
	hasOp, complete bool
}

func columnsOf(c *contract.Contract, f *parquet.File) changeColumns {
	byPath := map[string]int{}
	for i, p := range f.Schema().Columns() {
		byPath[strings.Join(p, ".")] = i
	}
	var cc changeColumns
	var ok [3]bool
	cc.pos, ok[0] = byPath[cdc.PositionField]
	cc.ts, ok[1] = byPath[cdc.SourceTimeField]
	cc.op, cc.hasOp = byPath[cdc.OpField]
	cc.complete = ok[0] && ok[1]
	for _, k := range c.Key {
		i, found := byPath[c.Fields[k].Name]
		cc.keys = append(cc.keys, i)
		cc.complete = cc.complete && found
	}
	return cc
}

// changeRows reads a row group's keys, positions, source times and deletes from their columns.
func changeRows(rg parquet.RowGroup, cc changeColumns) ([][]byte, []change, error) {
	ts, keys, err := rowGroupKeys(rg, cc.ts, cc.keys)
	if err != nil {
		return nil, nil, err
	}
	out := make([]change, len(ts))
	for i := range ts {
		out[i].ts = ts[i]
	}
	ccs := rg.ColumnChunks()
	i := 0
	if err := readColumn(ccs[cc.pos], func(v parquet.Value) {
		if i < len(out) {
			out[i].pos = string(v.ByteArray())
		}
		i++
	}); err != nil || i != len(out) {
		return nil, nil, fmt.Errorf("read positions (%d of %d rows): %v", i, len(out), err)
	}
	if cc.hasOp {
		i = 0
		if err := readColumn(ccs[cc.op], func(v parquet.Value) {
			if i < len(out) {
				out[i].del = string(v.ByteArray()) == string(cdc.Delete)
			}
			i++
		}); err != nil || i != len(out) {
			return nil, nil, fmt.Errorf("read operations (%d of %d rows): %v", i, len(out), err)
		}
	}
	return keys, out, nil
}

// scanChanges notes in changes the latest change of each key in one cleansed file; it returns
// the file's row count.
func scanChanges(c *contract.Contract, src *source, changes map[string]change) (int64, error) {
	cc := columnsOf(c, src.file)
	if !cc.complete || !cc.hasOp {
		return 0, fmt.Errorf("not a file of change stream %s: it lacks %s, %s, %s or a key column", c.Name, cdc.OpField, cdc.PositionField, cdc.SourceTimeField)
	}
	var base int64
	for _, rg := range src.file.RowGroups() {
		keys, rows, err := changeRows(rg, cc)
		if err != nil {
			return 0, err
		}
		for i, ch := range rows {
			ch.file, ch.row = int32(src.index), base+int64(i)
			if prev, ok := changes[string(keys[i])]; !ok || later(ch, prev) {
				changes[string(keys[i])] = ch
			}
		}
		base += int64(len(rows))
	}
	return base, nil
}

// scanCurrent compares the rows of one of the table's files with the new changes: a change
// not later than the row is lost, a row older than a change is dropped (f.drop). It returns
// how many rows of f are dropped, and adds to removed those dropped for a delete.
func (st *state) scanCurrent(f *curFile, changes map[string]change, removed *int64) (int64, error) {
	if err := st.openCur(f); err != nil {
		return 0, err
	}
	cc := columnsOf(st.c, f.pf.f)
	if !cc.complete {
		return 0, fmt.Errorf("%w: curated file %s lacks the change stream's columns", errRecompute, f.Key)
	}
	cc.hasOp = false // every row of the table is a live key
	return st.heldRows(f, append([]int{cc.ts, cc.pos}, cc.keys...), func(rg parquet.RowGroup) ([][]byte, func(i int) bool, error) {
		keys, rows, err := changeRows(rg, cc)
		return keys, func(i int) bool {
			ch, ok := changes[string(keys[i])]
			if !ok || ch.lost {
				return false
			}
			if !later(ch, rows[i]) {
				ch.lost = true
				changes[string(keys[i])] = ch
				return false
			}
			if ch.del {
				*removed++
			}
			return true
		}, err
	})
}

// readDeletes loads the deletes object the current snapshot names.
func (st *state) readDeletes(key string) error {
	if key == "" {
		return nil
	}
	rows, err := readDeletesObject(st.ctx, st.p.Curated, st.c.Name, key)
	if err != nil {
		return err
	}
	for _, r := range rows {
		st.deletes[string(r.Key)] = change{pos: r.Position, ts: r.SourceTs, del: true, file: -1}
	}
	st.deletesKey = key
	return nil
}

// writeDeletes writes the deleted keys as a deletes object (see putDeletes).
func (st *state) writeDeletes() (string, error) {
	rows := make([]deletedKey, 0, len(st.deletes))
	for k, d := range st.deletes {
		rows = append(rows, deletedKey{Key: []byte(k), Position: d.pos, SourceTs: d.ts})
	}
	return putDeletes(st.ctx, st.p.Curated, st.c.Name, rows)
}

// finishChanges fills the result, commits the table's new files and deletes as one snapshot,
// and records the partition's folded files (those under partPrefix) in its manifest.
func (st *state) finishChanges(mkey, metag string, before []objectstore.Info, partPrefix string) error {
	res := st.res
	m := &manifest{}
	for _, in := range st.inputs {
		if strings.HasPrefix(in.Key, partPrefix) {
			m.Inputs = append(m.Inputs, in)
		}
	}
	var after []entry
	for _, f := range st.files {
		res.Files = append(res.Files, f.Key)
		res.RowsOut += f.Rows
		if !st.written[f.Key] {
			res.Unchanged++
		}
		after = append(after, f.entry)
	}
	if !st.changed && !st.deletesChanged && !res.Recomputed {
		return nil
	}
	kept := map[string]bool{}
	for _, e := range after {
		kept[e.Key] = true
	}
	for _, in := range before {
		if !kept[in.Key] {
			res.Deleted = append(res.Deleted, in.Key)
		}
	}
	key := st.deletesKey
	if st.deletesChanged || res.Recomputed {
		var err error
		if key, err = st.writeDeletes(); err != nil {
			return err
		}
	}
	sc := scope{name: "the table", prefix: st.prefix, partition: map[string]int{}, summary: map[string]string{SummaryDeletes: key}}
	if err := st.p.commit(st.ctx, st.c, sc, before, after, iceberg.OpOverwrite); err != nil {
		return err
	}
	return writeManifest(st.ctx, st.p.Curated, mkey, m, metag)
}
