package duckengine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/query/querytest"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

// writeLake writes events as the ingest function would: one Parquet file per hour partition
// under <dir>/<bucket>/user_events/dt=…/hr=…/. It returns the number of files. In curated,
// the files go under user_events/data/ and are committed as one snapshot of the Iceberg table
// that removes the files named by replace.
func writeLake(t testing.TB, dir, bucket string, es []querytest.Event, replace ...string) int {
	t.Helper()
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	b := record.NewBatch(reg, record.Options{Now: func() time.Time { return querytest.Start.AddDate(1, 0, 0) }})
	b.Reserve(len(es))
	for i := range es {
		if _, rej := b.Add(es[i].JSON(), i); rej != nil {
			t.Fatalf("event %d: %v", i, rej)
		}
	}
	tab := b.Tables()[0]
	parts := map[zone.Partition][]int{}
	for i := 0; i < tab.Len(); i++ {
		p := zone.PartitionOf(tab.EventTime(i))
		parts[p] = append(parts[p], i)
	}
	var added []iceberg.DataFile
	for p, rows := range parts {
		var buf bytes.Buffer
		if err := parquetfile.Write(&buf, tab, rows, parquetfile.Options{}); err != nil {
			t.Fatal(err)
		}
		key := zone.Key("user_events", p, "part-0.parquet")
		if bucket == "curated" {
			// Curated is an Iceberg table: data files under data/, committed below.
			key = fmt.Sprintf("user_events/data/%s/part-0-%d.parquet", p.Path(), time.Now().UnixNano())
			day, _ := time.Parse(time.DateOnly, p.Date)
			added = append(added, iceberg.DataFile{Path: "s3://curated/" + key, Partition: map[string]int{"timestamp_hour": int(day.Unix()/3600) + p.Hour},
				Records: int64(len(rows)), Size: int64(buf.Len())})
		}
		path := filepath.Join(dir, bucket, key)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if bucket == "curated" {
		commitCurated(t, dir, reg["user_events"], iceberg.Change{Add: added, Remove: replace})
	}
	return len(parts)
}

// commitCurated commits ch to the user_events table of the curated bucket in dir, creating
// the table on first use, and returns the snapshot.
func commitCurated(t testing.TB, dir string, c *contract.Contract, ch iceberg.Change) *iceberg.Snapshot {
	t.Helper()
	ctx := context.Background()
	store := iceberg.DirStore{Dir: filepath.Join(dir, "curated"), Name: "curated"}
	tbl := iceberg.Dataset(store, nil, "user_events")
	if _, err := tbl.Load(ctx); errors.Is(err, iceberg.ErrNoTable) {
		s, last, err := iceberg.SchemaOf(c, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		m, err := iceberg.NewMetadata(tbl.Location(), s, last, c.Fields[c.EventTime].Name, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tbl.Create(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := tbl.Commit(ctx, func(context.Context, *iceberg.State) (*iceberg.Change, error) { return &ch, nil })
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func open(t testing.TB, dir string) *duckengine.Engine {
	t.Helper()
	eng, err := duckengine.Open(duckengine.Options{LakeDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

func compiler(t testing.TB, eng *duckengine.Engine) *query.Compiler {
	t.Helper()
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	return &query.Compiler{Contracts: reg, HasData: eng.HasData}
}

// run starts a query, waits for it and returns every row, paging with a small page size.
func run(t testing.TB, eng *duckengine.Engine, q *query.Query) *query.Page {
	t.Helper()
	ctx := context.Background()
	id, err := eng.Start(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	st, err := eng.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != query.Succeeded {
		t.Fatalf("query %s: %s: %s\n%s", id, st.State, st.Error, q.SQL)
	}
	all := &query.Page{Rows: [][]any{}}
	token := ""
	for {
		p, err := eng.Results(ctx, id, token, 3)
		if err != nil {
			t.Fatal(err)
		}
		all.Columns = p.Columns
		all.Rows = append(all.Rows, p.Rows...)
		if p.NextToken == "" {
			return all
		}
		token = p.NextToken
	}
}

func compile(t testing.TB, c *query.Compiler, body string) *query.Query {
	t.Helper()
	req, err := query.Decode(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	q, err := c.Compile(req)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestConformance runs the suite's structured queries over generated data and compares the
// rows with those computed in Go from the same events. The compiled SQL is also the exact SQL
// the Athena engine is checked to send (shared/query/athena).
func TestConformance(t *testing.T) {
	dir := t.TempDir()
	es := querytest.Generate(5000, 3)
	writeLake(t, dir, "cleansed", es)
	eng := open(t, dir)
	c := compiler(t, eng)
	for _, tc := range querytest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			q := compile(t, c, tc.Request)
			if q.SQL != tc.SQL {
				t.Fatalf("compiled SQL\n got %s\nwant %s", q.SQL, tc.SQL)
			}
			got := run(t, eng, q)
			want := tc.Want(es)
			if len(want) == 0 {
				t.Fatal("the case selects nothing from the generated data: it would prove nothing")
			}
			if diff := querytest.EqualRows(got.Rows, want); diff != "" {
				t.Error(diff)
			}
		})
	}
}

var (
	filesRead = regexp.MustCompile(`Scanning Files: (\d+)/(\d+)`)
	allRead   = regexp.MustCompile(`Total Files Read: (\d+)`)
)

// TestPartitionPruning shows from DuckDB's own plan that a dt/hr range reads only the files of
// that range.
func TestPartitionPruning(t *testing.T) {
	dir := t.TempDir()
	total := writeLake(t, dir, "cleansed", querytest.Generate(2000, 3))
	eng := open(t, dir)
	c := compiler(t, eng)
	cases := []struct {
		body  string
		files int
	}{
		{`{"dataset":"user_events","zone":"cleansed","aggregates":[{"fn":"count"}]}`, total},
		{`{"dataset":"user_events","zone":"cleansed","dt":{"from":"2026-11-21","to":"2026-11-21"},"aggregates":[{"fn":"count"}]}`, 24},
		{`{"dataset":"user_events","zone":"cleansed","dt":{"from":"2026-11-22"},"hr":{"from":10,"to":12},"aggregates":[{"fn":"count"}]}`, 3},
	}
	for _, tc := range cases {
		plan, err := eng.Explain(context.Background(), compile(t, c, tc.body))
		if err != nil {
			t.Fatal(err)
		}
		// With no partition filter DuckDB prints only the files read.
		m := filesRead.FindStringSubmatch(plan)
		if m == nil {
			if all := allRead.FindStringSubmatch(plan); all != nil {
				m = []string{"", all[1], all[1]}
			} else {
				t.Fatalf("no file count in the plan:\n%s", plan)
			}
		}
		if m[1] != strconv.Itoa(tc.files) || m[2] != strconv.Itoa(total) {
			t.Errorf("%s: scanned %s of %s files, want %d of %d", tc.body, m[1], m[2], tc.files, total)
		}
	}
}

func TestDefaultZoneAndErrors(t *testing.T) {
	dir := t.TempDir()
	writeLake(t, dir, "cleansed", querytest.Generate(100, 1))
	eng := open(t, dir)
	c := compiler(t, eng)
	ctx := context.Background()

	// Nothing in curated yet: the default zone is cleansed.
	q := compile(t, c, `{"dataset":"user_events","aggregates":[{"fn":"count","as":"n"}]}`)
	if q.Zone != zone.Cleansed {
		t.Fatalf("default zone %s with an empty curated zone", q.Zone)
	}
	if got := run(t, eng, q).Rows; len(got) != 1 || got[0][0] != int64(100) {
		t.Fatalf("count %v, want 100", got)
	}

	// An explicit zone without data fails with a message that says so.
	id, _ := eng.Start(ctx, compile(t, c, `{"dataset":"user_events","zone":"curated"}`))
	if err := eng.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	st, _ := eng.Status(ctx, id)
	if st.State != query.Failed || !strings.Contains(st.Error, "the curated zone holds no data for user_events yet") {
		t.Errorf("status %+v", st)
	}
	if _, err := eng.Results(ctx, id, "", 10); !errors.Is(err, query.ErrNotReady) {
		t.Errorf("results of a failed query: %v", err)
	}
	if _, err := eng.Status(ctx, "nope"); !errors.Is(err, query.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}

	id, _ = eng.Start(ctx, compile(t, c, `{"dataset":"user_events","columns":["event_id"],"limit":5}`))
	eng.Wait(ctx, id)
	for _, tok := range []string{"x", "-1", "99", "0"} {
		if _, err := eng.Results(ctx, id, tok, 2); !errors.Is(err, query.ErrBadToken) {
			t.Errorf("token %q: %v, want ErrBadToken", tok, err)
		}
	}
	p, err := eng.Results(ctx, id, "", 2)
	if err != nil || len(p.Rows) != 2 || p.NextToken != "2" {
		t.Fatalf("first page %+v %v", p, err)
	}
	if p.Columns[0] != (query.Column{Name: "event_id", Type: "varchar"}) {
		t.Errorf("columns %+v", p.Columns)
	}
}

// TestRawSQLConfined: even raw SQL the compiler let through can read only the lake directory.
func TestRawSQLConfined(t *testing.T) {
	dir := t.TempDir()
	writeLake(t, dir, "cleansed", querytest.Generate(50, 1))
	eng := open(t, dir)
	ctx := context.Background()
	for _, sql := range []string{
		"SELECT * FROM read_csv('/etc/passwd')",
		"SET enable_external_access=true",
		"INSTALL httpfs",
	} {
		id, _ := eng.Start(ctx, &query.Query{SQL: sql, Raw: true})
		eng.Wait(ctx, id)
		st, _ := eng.Status(ctx, id)
		if st.State != query.Failed {
			t.Errorf("%s: %s, want it to fail", sql, st.State)
		}
	}
	c := compiler(t, eng)
	c.RawSQL = true
	q, err := c.Compile(&query.Request{SQL: `SELECT event_type, count(*) AS n FROM cleansed_user_events GROUP BY event_type ORDER BY n DESC, event_type LIMIT 1`})
	if err != nil {
		t.Fatal(err)
	}
	if got := run(t, eng, q).Rows; len(got) != 1 || got[0][1].(int64) < 7 {
		t.Errorf("raw SQL rows %v", got)
	}
}

// With Latency set, a query is not done before that long after Start, as on Athena; without
// it, a small query is done well before.
func TestLatency(t *testing.T) {
	dir := t.TempDir()
	writeLake(t, dir, "curated", querytest.Generate(240, 1))
	eng, err := duckengine.Open(duckengine.Options{LakeDir: dir, Latency: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	q := compile(t, compiler(t, eng), `{"dataset":"user_events","aggregates":[{"fn":"count"}]}`)
	ctx := context.Background()
	id, err := eng.Start(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	// Half the latency in: a count of 240 rows is long finished in DuckDB, yet still running.
	time.Sleep(500 * time.Millisecond)
	if st, _ := eng.Status(ctx, id); st.State != query.Running {
		t.Fatalf("state %s half-way through a 1 s latency, want RUNNING", st.State)
	}
	if err := eng.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	st, _ := eng.Status(ctx, id)
	if st.State != query.Succeeded || st.RunTime < time.Second {
		t.Fatalf("status %+v: want SUCCEEDED after at least 1 s", st)
	}
	if eng.Started() != 1 {
		t.Fatalf("Started() = %d, want 1", eng.Started())
	}
}

// Curated is read from its Iceberg table: a query sees the current snapshot's files only (not
// the replaced ones still on disk for time travel), and CuratedFiles reads an earlier snapshot.
func TestCuratedReadsTheTablesSnapshot(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	writeLake(t, dir, "curated", querytest.Generate(240, 1))
	eng := open(t, dir)
	first, err := eng.CuratedFiles(ctx, "user_events", iceberg.At{})
	if err != nil || len(first) == 0 {
		t.Fatalf("files of the first snapshot: %v %v", first, err)
	}
	var replace []string
	for _, f := range first {
		rel, _ := filepath.Rel(filepath.Join(dir, "curated"), f)
		replace = append(replace, "s3://curated/"+filepath.ToSlash(rel))
	}
	writeLake(t, dir, "curated", querytest.Generate(100, 1), replace...)

	c := compiler(t, eng)
	q := compile(t, c, `{"dataset":"user_events","aggregates":[{"fn":"count","as":"n"}]}`)
	if q.Zone != zone.Curated {
		t.Fatalf("default zone %s with a curated table holding data", q.Zone)
	}
	if got := run(t, eng, q).Rows; len(got) != 1 || got[0][0] != int64(100) {
		t.Fatalf("count %v, want the current snapshot's 100 rows (not 340: replaced files are not read)", got)
	}

	store := iceberg.DirStore{Dir: filepath.Join(dir, "curated"), Name: "curated"}
	st, err := iceberg.Dataset(store, nil, "user_events").Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := st.Meta.History()
	if len(h) != 2 || h[1].Operation != "overwrite" {
		t.Fatalf("history %+v: want an append then an overwrite", h)
	}
	for _, at := range []iceberg.At{{SnapshotID: h[0].SnapshotID}, {Time: h[0].Time}} {
		old, err := eng.CuratedFiles(ctx, "user_events", at)
		if err != nil || fmt.Sprint(old) != fmt.Sprint(first) {
			t.Errorf("files at %+v: %v (%v), want the first snapshot's %v", at, old, err, first)
		}
	}
	if _, err := eng.CuratedFiles(ctx, "user_events", iceberg.At{SnapshotID: 42}); err == nil {
		t.Error("files of a snapshot the table never had: want an error")
	}
}
