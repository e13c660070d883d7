package iceberg_test

// The oracle: tables written by this package are read back by Apache's own Go implementation,
// github.com/apache/iceberg-go, which is linked into tests only (it is 58 MB of binary; see
// the package comment). Everything a test here asserts comes from iceberg-go's reading.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	icebergio "github.com/apache/iceberg-go/io"
	icetable "github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/tooltest"
)

// storeIO lets iceberg-go read a table's files through the lake's object store port.
type storeIO struct {
	tbl *iceberg.Table
}

func (s storeIO) Open(name string) (icebergio.File, error) {
	key, err := s.tbl.Key(name)
	if err != nil {
		return nil, err
	}
	rc, _, err := s.tbl.Store.Get(context.Background(), key)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(b), name: name}, nil
}

func (s storeIO) Remove(string) error { return fs.ErrPermission }

type memFile struct {
	*bytes.Reader
	name string
}

func (f *memFile) Close() error               { return nil }
func (f *memFile) Stat() (fs.FileInfo, error) { return fileInfo{f}, nil }

type fileInfo struct{ f *memFile }

func (i fileInfo) Name() string       { return i.f.name }
func (i fileInfo) Size() int64        { return i.f.Size() }
func (i fileInfo) Mode() fs.FileMode  { return 0o444 }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }

// Oracle opens the table's current metadata with iceberg-go.
func oracle(t testing.TB, tbl *iceberg.Table) *icetable.Table {
	t.Helper()
	st, err := tbl.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	it, err := icetable.NewFromLocation(context.Background(), []string{tbl.Name}, st.Pointer.Location,
		func(context.Context) (icebergio.IO, error) { return storeIO{tbl}, nil }, nil)
	if err != nil {
		t.Fatalf("iceberg-go cannot open %s: %v", st.Pointer.Location, err)
	}
	return it
}

// oracleRows reads snapshot id (0: current) with iceberg-go and returns "id:n" per row, sorted.
func oracleRows(t testing.TB, it *icetable.Table, id int64) []string {
	t.Helper()
	var opts []icetable.ScanOption
	if id != 0 {
		opts = append(opts, icetable.WithSnapshotID(id))
	}
	at, err := it.Scan(opts...).ToArrowTable(context.Background())
	if err != nil {
		t.Fatalf("iceberg-go scan of snapshot %d: %v", id, err)
	}
	defer at.Release()
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	var out []string
	for tr.Next() {
		rec := tr.RecordBatch()
		ids := column[*array.String](t, rec, "id")
		ns := column[*array.Int64](t, rec, "n")
		for i := 0; i < int(rec.NumRows()); i++ {
			out = append(out, ids.Value(i)+":"+strconv.FormatInt(ns.Value(i), 10))
		}
	}
	sort.Strings(out)
	return out
}

func column[T arrow.Array](t testing.TB, rec arrow.RecordBatch, name string) T {
	t.Helper()
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		t.Fatalf("iceberg-go's rows have no column %s: %v", name, rec.Schema())
	}
	c, ok := rec.Column(idx[0]).(T)
	if !ok {
		t.Fatalf("column %s is %T", name, rec.Column(idx[0]))
	}
	return c
}

func TestOracleReadsSchemaSnapshotsAndRows(t *testing.T) {
	tbl, _, c := lakeTable(t)
	a := putFile(t, tbl, "a", row{ID: "1", N: 1, TS: base}, row{ID: "2", N: 2, TS: base + 1000})
	b := putFile(t, tbl, "b", row{ID: "3", N: 3, TS: base + 3_600_000})
	s1 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{a}, Run: "run-1"})
	s2 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{b}, Run: "run-2"})
	cf := putFile(t, tbl, "c", row{ID: "1", N: 10, TS: base + 5000}, row{ID: "2", N: 2, TS: base + 1000})
	s3 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{cf}, Remove: []string{a.Path}, Run: "run-3"})
	r := commit(t, tbl, iceberg.Change{Restore: &s2.SnapshotID, Run: "rollback"})

	it := oracle(t, tbl)
	// Schema: the contract's columns minus the dropped one, with the ids SchemaOf gave them.
	want, _, _ := iceberg.SchemaOf(c, nil, 0)
	var got []string
	for _, f := range it.Schema().Fields() {
		got = append(got, f.Name+"/"+strconv.Itoa(f.ID)+"/"+f.Type.String())
	}
	var wantFields []string
	for _, f := range want.Fields {
		wantFields = append(wantFields, f.Name+"/"+strconv.Itoa(f.ID)+"/"+f.Type.(string))
	}
	if !slices.Equal(got, wantFields) {
		t.Errorf("iceberg-go reads schema %v, want %v", got, wantFields)
	}
	if _, ok := it.Schema().FindFieldByName("secret"); ok {
		t.Error("the dropped PII field is a column of the table")
	}
	// Snapshots and their summaries.
	snaps := it.Metadata().Snapshots()
	if len(snaps) != 4 {
		t.Fatalf("iceberg-go sees %d snapshots, want 4", len(snaps))
	}
	if cur := it.CurrentSnapshot(); cur == nil || cur.SnapshotID != r.SnapshotID {
		t.Fatalf("iceberg-go's current snapshot %v, want the rollback %d", cur, r.SnapshotID)
	}
	if s := it.Metadata().SnapshotByID(s3.SnapshotID); s == nil || string(s.Summary.Operation) != "overwrite" || s.Summary.Properties["sluice.run-id"] != "run-3" {
		t.Errorf("iceberg-go reads s3's summary as %+v, want an overwrite by run-3", s)
	}
	// Rows of every snapshot, and of the current one.
	for _, tc := range []struct {
		name string
		id   int64
		want []string
	}{
		{"s1", s1.SnapshotID, []string{"1:1", "2:2"}},
		{"s2", s2.SnapshotID, []string{"1:1", "2:2", "3:3"}},
		{"s3", s3.SnapshotID, []string{"1:10", "2:2", "3:3"}},
		{"current (rollback to s2)", 0, []string{"1:1", "2:2", "3:3"}},
	} {
		if got := oracleRows(t, it, tc.id); !slices.Equal(got, tc.want) {
			t.Errorf("iceberg-go reads %s as %v, want %v", tc.name, got, tc.want)
		}
	}
	// Partition pruning works on our manifests: a filter on the second hour finds only b.
	tasks, err := it.Scan(icetable.WithSnapshotID(s2.SnapshotID)).PlanFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 {
		t.Errorf("iceberg-go plans %d files for s2, want 2", len(tasks))
	}
	for _, task := range tasks {
		if task.File.Count() <= 0 || task.File.FileSizeBytes() <= 0 || string(task.File.FileFormat()) != "PARQUET" {
			t.Errorf("iceberg-go reads data file %s with %d rows, %d bytes, format %s", task.File.FilePath(), task.File.Count(), task.File.FileSizeBytes(), task.File.FileFormat())
		}
	}
}

// The metadata file has every field the v2 spec requires, of the right JSON type.
func TestMetadataHasTheSpecsRequiredFields(t *testing.T) {
	tbl, _, _ := lakeTable(t)
	commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{putFile(t, tbl, "a", row{ID: "1", TS: base})}})
	st, err := tbl.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := tbl.Key(st.Pointer.Location)
	rc, _, err := tbl.Store.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var m map[string]any
	if err := json.NewDecoder(rc).Decode(&m); err != nil {
		t.Fatal(err)
	}
	required := map[string]string{"format-version": "number", "table-uuid": "string", "location": "string",
		"last-sequence-number": "number", "last-updated-ms": "number", "last-column-id": "number",
		"schemas": "array", "current-schema-id": "number", "partition-specs": "array", "default-spec-id": "number",
		"last-partition-id": "number", "sort-orders": "array", "default-sort-order-id": "number"}
	checkFields(t, "table metadata", m, required)
	if m["format-version"] != 2.0 {
		t.Errorf("format-version %v, want 2", m["format-version"])
	}
	snaps, _ := m["snapshots"].([]any)
	if len(snaps) != 1 {
		t.Fatalf("snapshots %v, want one", m["snapshots"])
	}
	snap := snaps[0].(map[string]any)
	checkFields(t, "snapshot", snap, map[string]string{"snapshot-id": "number", "sequence-number": "number",
		"timestamp-ms": "number", "manifest-list": "string", "summary": "object"})
	if op := snap["summary"].(map[string]any)["operation"]; op != "append" {
		t.Errorf("summary operation %v, want append", op)
	}
	spec := m["partition-specs"].([]any)[0].(map[string]any)
	field := spec["fields"].([]any)[0].(map[string]any)
	checkFields(t, "partition field", field, map[string]string{"source-id": "number", "field-id": "number", "name": "string", "transform": "string"})
	if field["transform"] != "hour" {
		t.Errorf("partition transform %v, want hour", field["transform"])
	}
	refs, _ := m["refs"].(map[string]any)
	if main, _ := refs["main"].(map[string]any); main["snapshot-id"] != snap["snapshot-id"] || main["type"] != "branch" {
		t.Errorf("refs %v: want main, a branch at the current snapshot", m["refs"])
	}
}

func checkFields(t *testing.T, what string, m map[string]any, want map[string]string) {
	t.Helper()
	for k, typ := range want {
		v, ok := m[k]
		if !ok {
			t.Errorf("%s lacks required field %q", what, k)
			continue
		}
		got := "?"
		switch v.(type) {
		case float64:
			got = "number"
		case string:
			got = "string"
		case []any:
			got = "array"
		case map[string]any:
			got = "object"
		}
		if got != typ {
			t.Errorf("%s field %q is a %s, want a %s", what, k, got, typ)
		}
	}
}

// iceberg-go is an oracle for tests; no Lambda binary may link it.
func TestNoFunctionLinksIcebergGo(t *testing.T) {
	gobin := tooltest.Path(t, "go")
	out, err := exec.Command(gobin, "list", "-deps", "github.com/sluicelake/sluice/functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "github.com/apache/iceberg-go") || strings.HasPrefix(line, "github.com/apache/arrow-go") {
			t.Errorf("a function links %s: keep iceberg-go (and Arrow) in test code only", line)
		}
	}
}

// clicksV2 is clicks with an optional column added: an evolution CheckEvolution accepts.
const clicksV2 = `{"type":"record","name":"clicks","sluice.eventTime":"ts","sluice.key":["id"],"fields":[
 {"name":"id","type":"string"},
 {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"n","type":"long"},
 {"name":"note","type":["null","string"],"default":null},
 {"name":"secret","type":["null","string"],"default":null,"sluice.pii":"drop"},
 {"name":"country","type":["null","string"],"default":null}]}`

type rowV2 struct {
	Country *string `parquet:"country,optional"`
	ID      string  `parquet:"id"`
	N       int64   `parquet:"n"`
	Note    *string `parquet:"note,optional"`
	TS      int64   `parquet:"ts,timestamp(millisecond)"`
}

// An evolved contract becomes a new schema with the old fields' ids kept and a new id for the
// new field; iceberg-go reads the old snapshot with the old schema and the new one with the
// new, old rows showing the new column as null.
func TestEvolvedContractReadsOldAndNewSnapshots(t *testing.T) {
	tbl, _, c1 := lakeTable(t)
	c2 := mustContract(t, clicksV2)
	if err := contract.CheckEvolution(c1, c2); err != nil {
		t.Fatalf("the evolution is refused: %v", err)
	}
	s1 := commit(t, tbl, iceberg.Change{Add: []iceberg.DataFile{putFile(t, tbl, "a", row{ID: "1", N: 1, TS: base})}})

	st, err := tbl.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	old := st.Meta.CurrentSchema()
	next, last, err := iceberg.SchemaOf(c2, old, st.Meta.LastColumnID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range old.Fields {
		if nf, _ := next.Field(f.Name); nf.ID != f.ID {
			t.Errorf("field %s changes id from %d to %d", f.Name, f.ID, nf.ID)
		}
	}
	if country, ok := next.Field("country"); !ok || country.ID != st.Meta.LastColumnID+1 || country.Required || last != country.ID {
		t.Errorf("new field country %+v (last column id %d): want optional, id %d", country, last, st.Meta.LastColumnID+1)
	}

	// A file written under the new contract, committed with the new schema.
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[rowV2](&buf)
	de := "de"
	w.Write([]rowV2{{ID: "2", N: 2, TS: base + 1000, Country: &de}})
	w.Close()
	key := tbl.DataPrefix() + "dt=2026-11-23/hr=09/b.parquet"
	if _, err := tbl.Store.Put(context.Background(), key, buf.Bytes(), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	s2 := commit(t, tbl, iceberg.Change{Schema: next, LastColumnID: last,
		Add: []iceberg.DataFile{{Path: tbl.Path(key), Partition: map[string]int{"ts_hour": hourOf(base)}, Records: 1, Size: int64(buf.Len())}}})

	it := oracle(t, tbl)
	if n := len(it.Metadata().Schemas()); n != 2 {
		t.Fatalf("iceberg-go sees %d schemas, want 2", n)
	}
	if *s1.SchemaID != 0 || *s2.SchemaID != 1 {
		t.Errorf("snapshots' schema ids %d and %d, want 0 and 1", *s1.SchemaID, *s2.SchemaID)
	}
	if _, ok := it.Schema().FindFieldByName("country"); !ok {
		t.Error("iceberg-go's current schema lacks country")
	}
	// The old snapshot reads with its own schema: no country column, its one row.
	oldRows := scanAll(t, it, s1.SnapshotID)
	if oldRows.NumRows() != 1 || oldRows.Schema().HasField("country") {
		t.Errorf("old snapshot: %d rows, schema %v; want 1 row without country", oldRows.NumRows(), oldRows.Schema())
	}
	// The new snapshot: both rows, country null for the old one.
	newRows := scanAll(t, it, s2.SnapshotID)
	if newRows.NumRows() != 2 || !newRows.Schema().HasField("country") {
		t.Fatalf("new snapshot: %d rows, schema %v; want 2 rows with country", newRows.NumRows(), newRows.Schema())
	}
	countries := map[string]string{}
	tr := array.NewTableReader(newRows, 16)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		ids, cs := column[*array.String](t, rec, "id"), column[*array.String](t, rec, "country")
		for i := 0; i < int(rec.NumRows()); i++ {
			v := "null"
			if cs.IsValid(i) {
				v = cs.Value(i)
			}
			countries[ids.Value(i)] = v
		}
	}
	if countries["1"] != "null" || countries["2"] != "de" {
		t.Errorf("countries by id %v, want 1 null (written before the column) and 2 de", countries)
	}
}

func scanAll(t *testing.T, it *icetable.Table, id int64) arrow.Table {
	t.Helper()
	at, err := it.Scan(icetable.WithSnapshotID(id)).ToArrowTable(context.Background())
	if err != nil {
		t.Fatalf("iceberg-go scan of snapshot %d: %v", id, err)
	}
	t.Cleanup(at.Release)
	return at
}

// An unpartitioned table (a change stream's: NewMetadata without an event time) reads in
// iceberg-go: its spec has no fields, its files no partition values, and an overwrite that
// replaces a file is read as the new rows.
func TestOracleReadsAnUnpartitionedTable(t *testing.T) {
	tbl, client, c := lakeTable(t)
	flat := &iceberg.Table{Name: "flat", Store: tbl.Store, Catalog: tbl.Catalog, Root: "flat"}
	s, last, err := iceberg.SchemaOf(c, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := iceberg.NewMetadata(flat.Location(), s, last, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Spec().Fields) != 0 || m.LastPartitionID != 999 {
		t.Fatalf("spec %+v, last partition id %d: want no fields and 999, as the spec has an unpartitioned table", m.Spec(), m.LastPartitionID)
	}
	if _, err := flat.Create(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	unpartitioned := func(f iceberg.DataFile) iceberg.DataFile {
		key, _ := flat.Key(strings.Replace(f.Path, "/clicks/", "/flat/", 1))
		old, _ := tbl.Key(f.Path)
		if _, err := client.CopyObject(context.Background(), &s3.CopyObjectInput{Bucket: aws.String("curated"), CopySource: aws.String("curated/" + old), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
		f.Path, f.Partition = flat.Path(key), map[string]int{}
		return f
	}
	a := unpartitioned(putFile(t, tbl, "a", row{ID: "1", N: 1, TS: base}, row{ID: "2", N: 2, TS: base + 7_200_000}))
	commit(t, flat, iceberg.Change{Add: []iceberg.DataFile{a}})
	b := unpartitioned(putFile(t, tbl, "b", row{ID: "1", N: 10, TS: base + 3_600_000}, row{ID: "2", N: 2, TS: base + 7_200_000}))
	commit(t, flat, iceberg.Change{Add: []iceberg.DataFile{b}, Remove: []string{a.Path}, Operation: iceberg.OpOverwrite})
	it := oracle(t, flat)
	if spec := it.Spec(); spec.NumFields() != 0 {
		t.Errorf("iceberg-go reads a spec of %d fields, want none", spec.NumFields())
	}
	if got := oracleRows(t, it, 0); !slices.Equal(got, []string{"1:10", "2:2"}) {
		t.Errorf("iceberg-go reads %v, want the overwrite's rows", got)
	}
}
