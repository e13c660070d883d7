package compact_test

import (
	"encoding/json"
	"github.com/sluicelake/sluice/localstack/s3local/s3localtest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/shared/lineage/compact"
	"github.com/sluicelake/sluice/shared/lineage/graph"
	"github.com/sluicelake/sluice/shared/lineage/graph/graphtest"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/zone"
)

// lake is the lineage bucket on versitygw (files on disk) and DuckDB reading those very files.
type lake struct {
	store objectstore.Store
	dir   string // the bucket's directory
	eng   *duckengine.Engine
	c     *query.Compiler
}

func newLake(t *testing.T) *lake {
	t.Helper()
	client, srv := s3localtest.Start(t)
	bucket := s3test.CreateBucket(t, client, "lineage")
	eng, err := duckengine.Open(duckengine.Options{LakeDir: srv.Dir, Buckets: map[zone.Zone]string{table.Zone: bucket}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return &lake{store: s3store.New(client, bucket), dir: filepath.Join(srv.Dir, bucket), eng: eng,
		c: &query.Compiler{HasData: eng.HasData}}
}

// shift moves the fixture's rows to hours that closed lately, so that a run's lookback covers
// them whenever the test runs; the graph is the same.
func shift(events map[string][]table.Row, now time.Time) map[string][]table.Row {
	d := now.Truncate(time.Hour).Add(-4 * time.Hour).Sub(graphtest.At.Truncate(time.Hour))
	out := map[string][]table.Row{}
	for id, rows := range events {
		for _, r := range rows {
			r.EventTime = r.EventTime.Add(d)
			out[id] = append(out[id], r)
		}
	}
	return out
}

func (l *lake) put(t *testing.T, events map[string][]table.Row) {
	t.Helper()
	for id, rows := range events {
		data, err := table.Encode(rows)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.store.Put(t.Context(), table.Key(rows[0].EventTime, id), data, objectstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// rows reads the lineage dataset as the query API does, every column, in a fixed order.
func (l *lake) rows(t *testing.T) []string {
	t.Helper()
	req, err := query.Decode(strings.NewReader(`{"dataset":"lineage","order_by":[{"column":"output_name"},{"column":"input_name"},{"column":"output_version"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	q, err := l.c.Compile(req)
	if err != nil {
		t.Fatal(err)
	}
	id, err := l.eng.Start(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.eng.Wait(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if st, _ := l.eng.Status(t.Context(), id); st.State != query.Succeeded {
		t.Fatalf("query: %+v", st)
	}
	page, err := l.eng.Results(t.Context(), id, "", query.MaxPageSize)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(page.Rows))
	for i, r := range page.Rows {
		b, _ := json.Marshal(r)
		out[i] = string(b)
	}
	return out
}

func (l *lake) graph(t *testing.T, r graph.Request) string {
	t.Helper()
	r.Since = "2000-01-01"
	g, err := graph.Build(t.Context(), l.eng, r)
	if err != nil {
		t.Fatal(err)
	}
	g.Queries = 0
	b, _ := json.Marshal(g)
	return string(b)
}

func (l *lake) files(t *testing.T, prefix, ext string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(l.dir, prefix), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ext) {
			rel, _ := filepath.Rel(l.dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func run(t *testing.T, l *lake, later time.Duration) *compact.Report {
	t.Helper()
	rep, err := compact.Run(t.Context(), l.store, compact.Options{Lookback: 8, Now: func() time.Time { return time.Now().Add(later) }})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestCompaction runs the job over the fixture's lineage on a real S3 stand-in and reads the
// lineage dataset through DuckDB after every step: every row exactly once, and the same
// graph, while objects and generations coexist, after a late object, and after the objects
// are deleted.
func TestCompaction(t *testing.T) {
	l := newLake(t)
	events := shift(graphtest.Events(), time.Now())
	l.put(t, events)
	want := l.rows(t)
	if len(want) != 8 {
		t.Fatalf("%d rows before compaction, want the fixture's 8", len(want))
	}
	dataset, object := graph.Request{Dataset: "user_events"}, graph.Request{Object: "s3://curated/" + graphtest.Curated}
	wantDataset, wantObject := l.graph(t, dataset), l.graph(t, object)
	check := func(step string, want []string) {
		t.Helper()
		if got := l.rows(t); !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: the lineage dataset reads\n\t%s\nwant\n\t%s", step, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
		if got := l.graph(t, dataset); got != wantDataset {
			t.Errorf("%s: dataset graph\n%s\nwant\n%s", step, got, wantDataset)
		}
		if got := l.graph(t, object); got != wantObject {
			t.Errorf("%s: object graph\n%s\nwant\n%s", step, got, wantObject)
		}
	}

	// 1. Both hours become generation 1; the objects stay (a query may be reading them).
	rep := run(t, l, 0)
	if len(rep.Hours) != 2 || rep.Hours[0].Generation != 1 || rep.Hours[1].Generation != 1 ||
		rep.Hours[0].Objects+rep.Hours[1].Objects != 7 || rep.Hours[0].Rows+rep.Hours[1].Rows != 8 || rep.Hours[0].DeletedObjects != 0 {
		t.Fatalf("first run: %+v", rep)
	}
	if gens := l.files(t, table.Compacted, ".parquet"); len(gens) != 2 || !strings.HasSuffix(gens[0], "/gen-000001.parquet") {
		t.Fatalf("generations on disk: %v", gens)
	}
	if n := len(l.files(t, table.Dataset, table.Ext)); n != 7 {
		t.Fatalf("%d lineage objects after the first run, want all 7 still there", n)
	}
	if recs := l.files(t, "compaction-runs", ".json"); len(recs) != 2 {
		t.Fatalf("records of the run: %v, want one per hour changed", recs)
	}
	check("objects and generation 1 side by side", want)

	// 2. A late object for the first hour: readable at once as JSON, then in generation 2.
	first := events["firehose-1"][0].EventTime
	late := graphtest.Events()["ingest-q"][0]
	late.EventTime, late.RunID, late.OutputName, late.OutputVersion = first.Add(30*time.Second), "run-late", "user_events/late.json", `"late"`
	l.put(t, map[string][]table.Row{"late-1": {late}})
	wantLate := l.rows(t)
	if len(wantLate) != 9 {
		t.Fatalf("%d rows with the late object, want 9", len(wantLate))
	}
	wantDataset, wantObject = l.graph(t, dataset), l.graph(t, object)
	rep = run(t, l, 0)
	if len(rep.Hours) != 1 || rep.Hours[0].Generation != 2 || rep.Hours[0].Objects != 1 || rep.Hours[0].Sources != 7 || rep.Hours[0].DeletedObjects != 0 {
		t.Fatalf("run after the late object: %+v", rep)
	}
	check("objects, generations 1 and 2 side by side", wantLate)

	// 3. Past the grace period the objects and generation 1 go; the rows stay, once.
	rep = run(t, l, 3*time.Hour)
	deleted, gens, written := 0, 0, 0
	for _, h := range rep.Hours {
		deleted, gens, written = deleted+h.DeletedObjects, gens+h.DeletedGenerations, written+h.Generation
	}
	if len(rep.Hours) != 2 || deleted != 8 || gens != 1 || written != 0 {
		t.Fatalf("run past the grace period: %+v", rep)
	}
	if objs := l.files(t, table.Dataset, table.Ext); len(objs) != 0 {
		t.Fatalf("lineage objects left: %v", objs)
	}
	if gens := l.files(t, table.Compacted, ".parquet"); len(gens) != 2 || !strings.HasSuffix(gens[0], "/gen-000002.parquet") {
		t.Fatalf("generations left: %v, want generation 2 of the first hour and 1 of the second", gens)
	}
	check("generations alone", wantLate)
	if !l.eng.HasData(table.Zone, table.Dataset) {
		t.Error("HasData: the lineage dataset has data when all of it is compacted")
	}

	// 4. Nothing left to do: nothing changes.
	if rep := run(t, l, 4*time.Hour); len(rep.Hours) != 0 {
		t.Fatalf("idle run changed %+v", rep)
	}
}

// Two runs racing on one hour: the second cannot write the same generation over the first.
func TestRaceWritesOneGeneration(t *testing.T) {
	l := newLake(t)
	events := shift(graphtest.Events(), time.Now())
	l.put(t, events)
	hour := events["promote-1"][0].EventTime.Truncate(time.Hour)
	// The other run's generation 1 appears between this run's listing and its write: written
	// here first, empty of sources, so this run's write of generation 1 must fail.
	other, err := compact.Encode(&compact.Generation{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.store.Put(t.Context(), table.CompactedKey(hour, 1), other, objectstore.PutOptions{IfNoneMatch: true}); err != nil {
		t.Fatal(err)
	}
	rep := run(t, l, 0)
	for _, h := range rep.Hours {
		if h.Hour.Equal(hour) && h.Generation != 2 {
			t.Fatalf("the hour with a generation 1 already: wrote %d, want 2", h.Generation)
		}
	}
}

// The Parquet columns are the lineage contract's (the Glue table's), same names, same order,
// same nullability, and the generation.
func TestSchemaIsTheContract(t *testing.T) {
	data, err := compact.Encode(&compact.Generation{Rows: graphtest.Events()["promote-1"], Sources: []string{"a"}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(strings.NewReader(string(data)), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	fields := f.Schema().Fields()
	c := table.Contract()
	if len(fields) != len(c.Fields)+1 || fields[len(fields)-1].Name() != table.GenerationName {
		t.Fatalf("%d columns, want the contract's %d and %s", len(fields), len(c.Fields), table.GenerationName)
	}
	for i := range c.Fields {
		if fields[i].Name() != c.Fields[i].Name || fields[i].Optional() != c.Fields[i].Nullable {
			t.Errorf("column %d: %s optional %v; the contract has %s nullable %v", i, fields[i].Name(), fields[i].Optional(), c.Fields[i].Name, c.Fields[i].Nullable)
		}
	}
	g, err := compact.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.Rows, graphtest.Events()["promote-1"]) || !reflect.DeepEqual(g.Sources, []string{"a"}) {
		t.Errorf("round trip:\n got %+v\nwant %+v", g.Rows, graphtest.Events()["promote-1"])
	}
}

// A run takes at most MaxObjects objects into an hour's generation; the rows of the others stay
// readable as JSON, and the next run takes them in.
func TestMaxObjects(t *testing.T) {
	l := newLake(t)
	l.put(t, shift(graphtest.Events(), time.Now()))
	want := l.rows(t)
	objects := 0
	for i := 1; i <= 3; i++ {
		rep, err := compact.Run(t.Context(), l.store, compact.Options{Lookback: 8, MaxObjects: 3})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range rep.Hours {
			if h.Objects > 3 {
				t.Errorf("run %d took %d objects into an hour, more than MaxObjects", i, h.Objects)
			}
			objects += h.Objects
		}
		if got := l.rows(t); !reflect.DeepEqual(got, want) {
			t.Fatalf("after run %d the lineage dataset reads\n\t%s\nwant\n\t%s", i, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
	}
	if objects != 7 {
		t.Fatalf("three runs took %d objects in all, want the fixture's 7", objects)
	}
}
