package duckengine_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/shared/lineage/graph"
	"github.com/sluicelake/sluice/shared/lineage/graph/graphtest"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/query/api"
	"github.com/sluicelake/sluice/shared/zone"
)

// since reaches back to the fixture's day whenever the tests run (the default window is the
// last 30 days).
const since = "2026-11-01"

func lineageLake(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := graphtest.WriteLake(dir, graphtest.Events()); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The lineage table is JSON lines, not Parquet, but queries as any table does: typed columns,
// dt and hr partitions, the compiler's SQL unchanged.
func TestLineageTable(t *testing.T) {
	dir := lineageLake(t)
	eng := open(t, dir)
	if !eng.HasData(table.Zone, table.Dataset) || eng.HasData(zone.Curated, table.Dataset) {
		t.Fatal("HasData: want the lineage zone to hold lineage data, and nothing else")
	}
	c := compiler(t, eng)
	page := run(t, eng, compile(t, c, `{"dataset":"lineage","columns":["event_time","job_name","output_rows","input_rows","input_zone","input_shard","dt","hr"],"order_by":[{"column":"event_time"},{"column":"output_name"},{"column":"input_name"}]}`))
	want := []string{"event_time timestamp", "job_name varchar", "output_rows bigint", "input_rows bigint", "input_zone varchar", "input_shard varchar", "dt date", "hr integer"}
	for i, col := range page.Columns {
		if got := col.Name + " " + col.Type; got != want[i] {
			t.Errorf("column %d: %s, want %s", i, got, want[i])
		}
	}
	if len(page.Rows) != 8 {
		t.Fatalf("%d rows, want 8 (one per edge, one for the root)", len(page.Rows))
	}
	first := page.Rows[0]
	if first[0] != "2026-11-23T09:10:00.000Z" || first[1] != "firehose" || first[2] != int64(100) || first[4] != nil || first[5] != graphtest.Shard || first[6] != "2026-11-23" || first[7] != int64(9) {
		t.Errorf("first row %v", first)
	}
	root := page.Rows[3] // upload, the file drop: no input
	if root[1] != "upload" || root[3] != nil || root[5] != "" {
		t.Errorf("root row %v: want no input rows and an empty shard", root)
	}

	agg := run(t, eng, compile(t, c, `{"dataset":"lineage","where":[{"column":"output_zone","op":"=","value":"quarantine"}],"group_by":["job_name"],"aggregates":[{"fn":"sum","column":"output_rows","as":"rows"}],"order_by":[{"column":"job_name"}]}`))
	if len(agg.Rows) != 2 || agg.Rows[0][0] != "ingest" || agg.Rows[0][1] != int64(5) || agg.Rows[1][1] != int64(2) {
		t.Errorf("quarantined rows by job %v", agg.Rows)
	}
	pruned := run(t, eng, compile(t, c, `{"dataset":"lineage","hr":{"from":10},"aggregates":[{"fn":"count"}]}`))
	if pruned.Rows[0][0] != int64(2) {
		t.Errorf("rows from hour 10 on: %v, want promote's two edges", pruned.Rows)
	}
}

// GET /lineage on the local API: the graph as JSON or Mermaid, 400s that say what is wrong, a
// 404 while no lineage is recorded; and the command that `make lineage` runs.
func TestLineageAPI(t *testing.T) {
	srv, err := duckengine.Serve(duckengine.ServeOptions{Engine: duckengine.Options{LakeDir: lineageLake(t)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}

	code, typ, body := get("/lineage?dataset=user_events&since=" + since)
	var g graph.Graph
	if code != 200 || typ != "application/json" || json.Unmarshal([]byte(body), &g) != nil {
		t.Fatalf("%d %s %s", code, typ, body)
	}
	if g.Root != "user_events" || len(g.Nodes) != 5 || len(g.Edges) != 6 || g.Truncated {
		t.Errorf("graph %s", body)
	}

	code, typ, body = get("/prod/lineage/?object=" + url.QueryEscape("s3://curated/"+graphtest.Curated) + "&depth=1&format=mermaid&since=" + since)
	want := "flowchart LR\n" +
		"  n0[\"cleansed: user_events/dt=2026-11-23/hr=09/landing-drop.parquet\"]\n" + // seen only as an input: its own count is a level further

		"  n1[\"cleansed: user_events/dt=2026-11-23/hr=09/shardId-000000000000-100.parquet\"]\n" +
		"  n2[\"curated: user_events/dt=2026-11-23/hr=10/part-0.parquet<br/>140 rows\"]\n" +
		"  n0 -->|\"promote: 48 rows\"| n2\n" +
		"  n1 -->|\"promote: 95 rows\"| n2\n" +
		"  classDef root stroke-width:3px\n  class n2 root\n" +
		"  %% truncated at depth 1: ask for a greater depth to see more\n"
	if code != 200 || !strings.HasPrefix(typ, "text/plain") || body != want {
		t.Errorf("%d %s\n%s\nwant\n%s", code, typ, body, want)
	}

	// The drawing the console shows: a node per dataset the walk found.
	if code, typ, body := get("/lineage?dataset=user_events&format=svg"); code != 200 || typ != "image/svg+xml" ||
		!strings.HasPrefix(body, "<svg ") || !strings.Contains(body, `data-id="curated/user_events"`) || strings.Count(body, `class="node"`) < 4 {
		t.Errorf("format=svg: %d %s %s", code, typ, body)
	}

	for path, msg := range map[string]string{
		"/lineage":                                    "give dataset",
		"/lineage?dataset=user_events&depth=11":       "depth: give a depth from 1 to 10, not 11",
		"/lineage?dataset=user_events&depth=two":      `depth: give a whole number from 1 to 10, not \"two\"`,
		"/lineage?dataset=user_events&format=dot":     "format: json (the default), mermaid or svg",
		"/lineage?datset=user_events":                 `unknown parameter \"datset\"`,
		"/lineage?object=raw/landing/x.csv":           "not an object URL",
		"/lineage?dataset=a&dataset=b":                "dataset: give it once",
		"/lineage?dataset=gold%2Fuser_events&depth=2": `unknown zone \"gold\"`,
	} {
		if code, _, body := get(path); code != 400 || !strings.Contains(body, msg) {
			t.Errorf("%s: %d %s; want a 400 saying %s", path, code, body, msg)
		}
	}
	if resp, err := http.Post(srv.URL+"/lineage?dataset=user_events", "", nil); err != nil || resp.StatusCode != 405 {
		t.Errorf("POST /lineage: %v %v", resp.StatusCode, err)
	}

	// The command (go run ./localstack/querycmd -lineage dataset=user_events).
	var out, errOut strings.Builder
	if code := api.Main([]string{"-url", srv.URL, "-lineage", "dataset=curated/user_events", "-depth", "1", "-since", since}, nil, &out, &errOut); code != 0 ||
		out.String() != "flowchart LR\n  n0[(\"cleansed/user_events\")]\n  n1[(\"curated/user_events\")]\n  n0 -->|\"promote: 143 rows\"| n1\n  classDef root stroke-width:3px\n  class n1 root\n  %% truncated at depth 1: ask for a greater depth to see more\n" {
		t.Errorf("exit %d\n%s\nstderr %s", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := api.Main([]string{"-url", srv.URL, "-lineage", "object=s3://raw/" + graphtest.Drop, "-json", "-since", since}, nil, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), `{"root":"s3://raw/landing/user_events/drop.csv"`) {
		t.Errorf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	errOut.Reset()
	if code := api.Main([]string{"-url", srv.URL, "-lineage", "user_events"}, nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "dataset=<[zone/]dataset>") {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
	errOut.Reset()
	if code := api.Main([]string{"-url", srv.URL, "-lineage", "dataset=user_events", "-depth", "0x"}, nil, &out, &errOut); code != 2 {
		t.Errorf("bad depth flag: exit %d: %s", code, errOut.String())
	}
}

func TestLineageAPINoData(t *testing.T) {
	srv, err := duckengine.Serve(duckengine.ServeOptions{Engine: duckengine.Options{LakeDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	var out, errOut strings.Builder
	if code := api.Main([]string{"-url", srv.URL, "-lineage", "dataset=user_events"}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "404: no lineage is recorded yet") {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
}

// GET /lineage on the local lake with Athena's latency (1 s a query): the dataset walk is one
// query however deep, so it answers in about a second; the object walk runs a query a level
// each way, both ways at once. The counts are asserted (they are deterministic), the time is
// reported: go test -run LineageUnderAthenaLatency -v ./localstack/duckengine
func TestLineageUnderAthenaLatency(t *testing.T) {
	srv, err := duckengine.Serve(duckengine.ServeOptions{Engine: duckengine.Options{LakeDir: lineageLake(t), Latency: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for _, tc := range []struct {
		path    string
		queries int
	}{
		{"/lineage?dataset=user_events&since=" + since, 1},
		{"/lineage?dataset=curated/user_events&depth=10&since=" + since, 1},
		// Upstream: cleansed objects, then the file and the stream range, then the file's
		// root row; downstream: nothing follows curated.
		{"/lineage?object=" + url.QueryEscape("s3://curated/"+graphtest.Curated) + "&since=" + since, 4},
	} {
		before := srv.Engine.Started()
		start := time.Now()
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		var g graph.Graph
		err = json.NewDecoder(resp.Body).Decode(&g)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != 200 || err != nil || len(g.Edges) == 0 || g.Truncated {
			t.Fatalf("%s: %d %v %+v", tc.path, resp.StatusCode, err, g)
		}
		ran := int(srv.Engine.Started() - before)
		if ran != tc.queries || g.Queries != tc.queries {
			t.Errorf("%s: %d queries (the graph says %d), want %d", tc.path, ran, g.Queries, tc.queries)
		}
		t.Logf("%s: %d queries at 1 s each, answered in %s", tc.path, ran, took.Round(10*time.Millisecond))
	}
}
