package graph_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/shared/lineage/graph"
	"github.com/sluicelake/sluice/shared/lineage/graph/graphtest"
	"github.com/sluicelake/sluice/shared/query"
)

// counting is the real engine, counting the queries the walk starts.
type counting struct {
	*duckengine.Engine
	starts atomic.Int32
}

func (c *counting) Start(ctx context.Context, q *query.Query) (string, error) {
	c.starts.Add(1)
	return c.Engine.Start(ctx, q)
}

func engine(t testing.TB) *counting {
	t.Helper()
	dir := t.TempDir()
	if _, err := graphtest.WriteLake(dir, graphtest.Events()); err != nil {
		t.Fatal(err)
	}
	eng, err := duckengine.Open(duckengine.Options{LakeDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return &counting{Engine: eng}
}

func build(t *testing.T, eng query.Engine, r graph.Request) *graph.Graph {
	t.Helper()
	if r.Now.IsZero() {
		r.Now = graphtest.At.AddDate(0, 0, 1) // the fixture's day within the default window, whenever the test runs
	}
	g, err := graph.Build(t.Context(), eng, r)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// edges lists a graph's edges as "from -job-> to rows".
func edges(g *graph.Graph) []string {
	var out []string
	for _, e := range g.Edges {
		rows := "?"
		if e.Rows != nil {
			rows = fmt.Sprint(*e.Rows)
		}
		out = append(out, fmt.Sprintf("%s -%s-> %s %s", e.From, e.Job, e.To, rows))
	}
	return out
}

func nodes(g *graph.Graph) []string {
	var out []string
	for _, n := range g.Nodes {
		out = append(out, n.Kind+" "+n.ID)
	}
	return out
}

func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got\n\t%s\nwant\n\t%s", what, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// A dataset named without a zone is the root in every zone: the graph shows how its rows
// arrive from the stream and the file drop and move on to curated, with the counts adding up.
func TestDatasetGraph(t *testing.T) {
	eng := engine(t)
	g := build(t, eng, graph.Request{Dataset: "user_events"})
	same(t, "nodes", nodes(g), []string{
		"dataset cleansed/user_events", "dataset curated/user_events", "stream kinesis://eu-west-1/sluice-events",
		"dataset quarantine/user_events", "dataset raw/user_events"})
	same(t, "edges", edges(g), []string{
		"cleansed/user_events -promote-> curated/user_events 143",
		"kinesis://eu-west-1/sluice-events -ingest-> cleansed/user_events 95",
		"kinesis://eu-west-1/sluice-events -ingest-> quarantine/user_events 5",
		"kinesis://eu-west-1/sluice-events -firehose-> raw/user_events 100",
		"raw/user_events -validate-> cleansed/user_events 48",
		"raw/user_events -validate-> quarantine/user_events 2"})
	if g.Root != "user_events" || g.Depth != graph.DefaultDepth || g.Truncated {
		t.Errorf("root %q depth %d truncated %v", g.Root, g.Depth, g.Truncated)
	}
	if n := eng.starts.Load(); n != 1 || g.Queries != 1 {
		t.Errorf("%d queries (the graph says %d); want 1: one query reads the edges of the whole walk", n, g.Queries)
	}
}

// Since bounds the walk to the dt partitions on or after it: the day the fixture was recorded
// keeps every edge, the day after keeps none.
func TestSince(t *testing.T) {
	eng := engine(t)
	all := build(t, eng, graph.Request{Dataset: "user_events"})
	same(t, "edges since the fixture's day", edges(build(t, eng, graph.Request{Dataset: "user_events", Since: graphtest.At.Format(time.DateOnly)})), edges(all))
	later := build(t, eng, graph.Request{Dataset: "user_events", Since: graphtest.At.AddDate(0, 0, 1).Format(time.DateOnly)})
	if len(later.Edges) != 0 {
		t.Errorf("edges since the day after: %v; want none", edges(later))
	}
	obj := build(t, eng, graph.Request{Object: "s3://curated/" + graphtest.Curated, Since: graphtest.At.AddDate(0, 0, 1).Format(time.DateOnly)})
	if len(obj.Edges) != 0 {
		t.Errorf("object edges since the day after: %v; want none", edges(obj))
	}
}

// Depth bounds the walk, and truncated says whether the lineage goes on beyond it.
func TestDatasetDepth(t *testing.T) {
	eng := engine(t)
	for _, tc := range []struct {
		depth     int
		edges     int
		truncated bool
	}{{1, 1, true}, {2, 3, true}, {3, 4, false}, {10, 4, false}} {
		eng.starts.Store(0)
		g := build(t, eng, graph.Request{Dataset: "curated/user_events", Depth: tc.depth})
		if len(g.Edges) != tc.edges || g.Truncated != tc.truncated || g.Depth != tc.depth {
			t.Errorf("depth %d: %d edges, truncated %v; want %d, %v\n%s", tc.depth, len(g.Edges), g.Truncated, tc.edges, tc.truncated, strings.Join(edges(g), "\n"))
		}
		if n := int(eng.starts.Load()); n != 1 {
			t.Errorf("depth %d: %d queries, want 1 whatever the depth", tc.depth, n)
		}
		if want := map[bool]string{true: graph.TruncatedDepth}[tc.truncated]; g.Reason != want {
			t.Errorf("depth %d: reason %q, want %q", tc.depth, g.Reason, want)
		}
	}
	g := build(t, eng, graph.Request{Dataset: "raw/user_events", Depth: 1})
	same(t, "downstream of raw", edges(g), []string{
		"kinesis://eu-west-1/sluice-events -firehose-> raw/user_events 100",
		"raw/user_events -validate-> cleansed/user_events 48",
		"raw/user_events -validate-> quarantine/user_events 2"})
	if !g.Truncated {
		t.Error("raw at depth 1: cleansed goes on to curated, so the graph is truncated")
	}
}

// Objects: the curated object goes back to the stream range and, through the cleansed object
// of the file drop, to the dropped file.
func TestObjectGraph(t *testing.T) {
	eng := engine(t)
	curated := "s3://curated/" + graphtest.Curated
	g := build(t, eng, graph.Request{Object: curated})
	same(t, "edges", edges(g), []string{
		"kinesis://eu-west-1/sluice-events/shardId-000000000000:100-199 -ingest-> s3://cleansed/" + graphtest.CleansedStream + " 95",
		"s3://cleansed/" + graphtest.CleansedDrop + " -promote-> " + curated + " 48",
		"s3://cleansed/" + graphtest.CleansedStream + " -promote-> " + curated + " 95",
		"s3://raw/" + graphtest.Drop + " -validate-> s3://cleansed/" + graphtest.CleansedDrop + " 48"})
	if g.Truncated || g.Root != curated {
		t.Errorf("root %s truncated %v", g.Root, g.Truncated)
	}
	for _, e := range g.Edges {
		if e.RunID == "" || e.Runs != 1 {
			t.Errorf("edge %+v: want its run id and one run", e)
		}
	}
	want := `flowchart LR
  n0(["sluice-events shardId-000000000000:100-199"])
  n1["cleansed: user_events/dt=2026-11-23/hr=09/landing-drop.parquet<br/>48 rows"]
  n2["cleansed: user_events/dt=2026-11-23/hr=09/shardId-000000000000-100.parquet<br/>95 rows"]
  n3["curated: user_events/dt=2026-11-23/hr=10/part-0.parquet<br/>140 rows"]
  n4["raw: landing/user_events/drop.csv<br/>50 rows"]
  n0 -->|"ingest: 95 rows"| n2
  n1 -->|"promote: 48 rows"| n3
  n2 -->|"promote: 95 rows"| n3
  n4 -->|"validate: 48 rows"| n1
  classDef root stroke-width:3px
  class n3 root
`
	if got := g.Mermaid(); got != want {
		t.Errorf("Mermaid:\n%s\nwant\n%s", got, want)
	}

	// The same graph, byte for byte, every time.
	a, _ := json.Marshal(g)
	b, _ := json.Marshal(build(t, eng, graph.Request{Object: curated}))
	if string(a) != string(b) {
		t.Errorf("two builds differ:\n%s\n%s", a, b)
	}
	if !strings.HasPrefix(string(a), `{"root":"s3://curated/`) || !strings.Contains(string(a), `"depth":3,"truncated":false,"since":"2026-10-25","queries":4}`) {
		t.Errorf("JSON %s", a)
	}

	g = build(t, eng, graph.Request{Object: "s3://raw/" + graphtest.Drop, Depth: 1})
	same(t, "downstream of the dropped file", edges(g), []string{
		"s3://raw/" + graphtest.Drop + " -validate-> s3://cleansed/" + graphtest.CleansedDrop + " 48",
		"s3://raw/" + graphtest.Drop + " -validate-> s3://quarantine/" + graphtest.QuarDrop + " 2"})
	if !g.Truncated {
		t.Error("the dropped file at depth 1: the cleansed object goes on to curated, so the graph is truncated")
	}

	g = build(t, eng, graph.Request{Object: "s3://curated/nothing/here.parquet"})
	if len(g.Nodes) != 1 || len(g.Edges) != 0 || g.Truncated {
		t.Errorf("an object without lineage: %+v; want itself alone", g)
	}
}

func TestBadRequests(t *testing.T) {
	eng := engine(t)
	for _, tc := range []struct {
		r    graph.Request
		want string
	}{
		{graph.Request{}, "give dataset"},
		{graph.Request{Dataset: "user_events", Object: "s3://raw/x"}, "not both"},
		{graph.Request{Dataset: "user_events", Depth: 11}, "depth: give a depth from 1 to 10, not 11"},
		{graph.Request{Dataset: "user_events", Depth: -1}, "depth: give a depth from 1 to 10"},
		{graph.Request{Dataset: "gold/user_events"}, `dataset: unknown zone "gold"`},
		{graph.Request{Dataset: "User Events"}, "not a dataset name"},
		{graph.Request{Dataset: "user_events' OR 1=1"}, "not a dataset name"},
		{graph.Request{Object: "raw/landing/x.csv"}, "not an object URL s3://<bucket>/<key>"},
		{graph.Request{Object: "s3://raw/"}, "not an object URL"},
		{graph.Request{Object: "s3://Bad_Bucket/x"}, "not a bucket name"},
		{graph.Request{Object: "s3://raw/a\nb"}, "control characters"},
		{graph.Request{Object: "s3://raw/" + strings.Repeat("k", 1023)}, "1025 bytes as a SQL literal (each ' counts twice): Athena takes at most 1024"},
		{graph.Request{Dataset: "user_events", Since: "23/11/2026"}, `since: "23/11/2026" is not a date YYYY-MM-DD`},
	} {
		_, err := graph.Build(t.Context(), eng, tc.r)
		var qe *query.Error
		if !errors.As(err, &qe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want a *query.Error saying %q", tc.r, err, tc.want)
		}
	}
	if n := eng.starts.Load(); n != 0 {
		t.Errorf("bad requests started %d queries", n)
	}
}

// Whatever the names hold, the diagram's syntax holds: ids are generated, labels escaped.
func TestMermaidEscapes(t *testing.T) {
	rows := int64(7)
	g := &graph.Graph{Root: `s3://raw/a"b`, Depth: 2, Truncated: true,
		Nodes: []graph.Node{
			{ID: `s3://raw/a"b`, Kind: graph.KindObject, Zone: "raw", Name: `a"b|c<script>#1`},
			{ID: "s3://cleansed/x y", Kind: graph.KindObject, Name: "x y\n]-->evil", Rows: &rows},
		},
		Edges: []graph.Edge{{From: `s3://raw/a"b`, To: "s3://cleansed/x y", Job: `val"idate|`, Rows: &rows, Runs: 2}},
	}
	want := `flowchart LR
  n0["raw: a#quot;b#124;c#lt;script#gt;#35;1"]
  n1["x y ]--#gt;evil<br/>7 rows"]
  n0 -->|"val#quot;idate#124;: 7 rows, 2 runs"| n1
  classDef root stroke-width:3px
  class n0 root
  %% truncated at depth 2: ask for a greater depth to see more
`
	if got := g.Mermaid(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Without since, a walk reads DefaultWindow back from now: lineage older than that is not read
// (on Athena, its dt partitions are not scanned), and the graph says from when it read.
func TestDefaultWindow(t *testing.T) {
	eng := engine(t)
	within := build(t, eng, graph.Request{Dataset: "user_events", Now: graphtest.At.Add(graph.DefaultWindow - time.Hour)})
	if len(within.Edges) != 6 || within.Since != "2026-11-23" {
		t.Errorf("now 30 days less an hour after the fixture: %d edges since %s, want 6 since 2026-11-23", len(within.Edges), within.Since)
	}
	past := build(t, eng, graph.Request{Dataset: "user_events", Now: graphtest.At.Add(graph.DefaultWindow + 24*time.Hour)})
	if len(past.Edges) != 0 || past.Since != "2026-11-24" {
		t.Errorf("now 31 days after the fixture: %d edges since %s, want none since 2026-11-24", len(past.Edges), past.Since)
	}
	old := build(t, eng, graph.Request{Dataset: "user_events", Since: "2026-01-01", Now: graphtest.At.AddDate(1, 0, 0)})
	if len(old.Edges) != 6 {
		t.Errorf("since given: %d edges, want 6 whatever now is", len(old.Edges))
	}
}

// slow is the real engine with Athena's latency.
func slow(t *testing.T, latency time.Duration) *counting {
	t.Helper()
	dir := t.TempDir()
	if _, err := graphtest.WriteLake(dir, graphtest.Events()); err != nil {
		t.Fatal(err)
	}
	eng, err := duckengine.Open(duckengine.Options{LakeDir: dir, Latency: latency})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return &counting{Engine: eng}
}

// A walk that outlives its budget returns what it found, truncated for that reason, rather
// than an error the API would turn into a 504.
func TestBudget(t *testing.T) {
	eng := slow(t, time.Second)
	curated := "s3://curated/" + graphtest.Curated
	// Each direction's first level (1 s) finishes within 1.5 s; the second does not.
	g := build(t, eng, graph.Request{Object: curated, Budget: 1500 * time.Millisecond})
	if !g.Truncated || g.Reason != graph.TruncatedBudget || !strings.HasSuffix(g.Mermaid(), "%% truncated: the walk ran out of time; ask for a later since or a smaller depth\n") {
		t.Errorf("truncated %v reason %q, want truncated for the budget\n%s", g.Truncated, g.Reason, g.Mermaid())
	}
	same(t, "edges of the first level", edges(g), []string{
		"s3://cleansed/" + graphtest.CleansedDrop + " -promote-> " + curated + " 48",
		"s3://cleansed/" + graphtest.CleansedStream + " -promote-> " + curated + " 95"})
	if g.Queries != 3 {
		t.Errorf("%d queries, want 3: two levels upstream (the second cut short), one downstream (nothing follows curated)", g.Queries)
	}

	// Not even the dataset walk's one query fits: an empty graph, truncated.
	g = build(t, eng, graph.Request{Dataset: "user_events", Budget: 300 * time.Millisecond})
	if !g.Truncated || g.Reason != graph.TruncatedBudget || len(g.Edges) != 0 || g.Queries != 1 {
		t.Errorf("%+v: want an empty graph truncated for the budget after 1 query", g)
	}

	// The caller giving up is an error, not a truncated graph.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := graph.Build(ctx, eng, graph.Request{Dataset: "user_events", Now: graphtest.At}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("caller's deadline: %v, want context.DeadlineExceeded", err)
	}
}
