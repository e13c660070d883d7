// Package graph is the lake's lineage view: the upstream and downstream graph of a dataset or an
// object, read from the lineage table through the query Engine port, so that the same walk runs
// on Athena in AWS and on the embedded engine locally.
//
// Every walk is bounded three ways, because on Athena each query costs 1-2 s of queueing and
// planning however little it reads, and the HTTP API answers within 29 s:
//
//   - Queries. In dataset mode one query reads the whole walk: the engine aggregates the
//     window's lineage into edges between datasets (summed rows, counted runs), which stay few
//     however many objects the lake holds, and the walk runs over them in memory, both
//     directions, to any depth. In object mode the walk is breadth first, one query per level
//     and direction (the two directions at once), every value a parameter.
//   - Time. Since defaults to DefaultWindow before now, so a walk reads a month of dt
//     partitions, not every partition the table's projection spans.
//   - A budget. Past Request.Budget (default DefaultBudget) the walk stops and returns what it
//     has, marked truncated with the reason "budget", rather than letting the API time out.
package graph

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/zone"
)

// Request asks for the graph around one dataset or one object.
type Request struct {
	// Dataset is a dataset in every zone ("user_events") or in one ("cleansed/user_events").
	Dataset string
	// Object is an object's URL, s3://<bucket>/<key>.
	Object string
	// Depth bounds the hops walked each way: 0 means DefaultDepth, at most MaxDepth.
	Depth int
	// Since, a date YYYY-MM-DD, limits the walk to lineage recorded on or after it: on Athena
	// it prunes the lineage table's dt partitions, which bounds what a walk scans and costs.
	// Empty means DefaultWindow before Now.
	Since string
	// Budget bounds the walk's time: past it, the graph found so far is returned, truncated.
	// Zero means DefaultBudget.
	Budget time.Duration
	// Now is when the default window ends; zero means the time of the call.
	Now time.Time
}

// DefaultWindow is how far back a walk reads when the request gives no since.
const DefaultWindow = 30 * 24 * time.Hour

// DefaultBudget leaves the HTTP API's 29 s room for the Lambda start and the response.
const DefaultBudget = 20 * time.Second

// Why a graph is truncated.
const (
	TruncatedDepth  = "depth"  // the lineage goes on beyond the depth asked for
	TruncatedWidth  = "width"  // a level or a query had more nodes or rows than a walk reads
	TruncatedBudget = "budget" // the time budget ran out before the walk ended
)

// Depth limits.
const (
	DefaultDepth = 3
	MaxDepth     = 10
)

// maxFrontier bounds the nodes one level's query asks about (two parameters each); a wider
// level is cut, and the graph marked truncated.
const maxFrontier = 200

// maxRows bounds the rows one level's query may return.
const maxRows = 10_000

// Node kinds.
const (
	KindDataset     = "dataset"      // a dataset in a zone
	KindStream      = "stream"       // a Kinesis stream (dataset mode)
	KindObject      = "object"       // an S3 object (object mode)
	KindStreamRange = "stream_range" // a shard's sequence range (object mode)
)

// Graph is the lineage around Root.
type Graph struct {
	Root      string `json:"root"`
	Nodes     []Node `json:"nodes"`
	Edges     []Edge `json:"edges"`
	Depth     int    `json:"depth"`
	Truncated bool   `json:"truncated"`
	// Reason says why the graph is truncated: TruncatedDepth, TruncatedWidth or
	// TruncatedBudget (the most pressing of them when several apply).
	Reason string `json:"truncated_reason,omitempty"`
	// Since is the first day of lineage the walk read.
	Since string `json:"since"`
	// Queries is how many queries the walk ran.
	Queries int `json:"queries"`
}

// Node is a dataset, a stream, an object or a stream range.
type Node struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Zone    string `json:"zone,omitempty"`
	Dataset string `json:"dataset,omitempty"`
	// Name is the object's key, the stream's name, or zone/dataset.
	Name string `json:"name"`
	// Rows is an object's row count, where the lineage table records it.
	Rows *int64 `json:"rows,omitempty"`
}

// Edge is data flowing from one node to another through a job.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
	Job  string `json:"job"`
	// Rows went along the edge: input_rows (else output_rows) summed over runs in dataset mode;
	// of the latest run in object mode.
	Rows *int64 `json:"rows,omitempty"`
	// Runs is how many job runs made the edge.
	Runs int `json:"runs"`
	// RunID is the latest run's id (object mode).
	RunID string `json:"run_id,omitempty"`
}

var (
	datasetPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,127}$`)
	bucketPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,62}$`)
)

func bad(field, format string, a ...any) error {
	return &query.Error{Field: field, Problem: fmt.Sprintf(format, a...)}
}

// check validates r and fills in its default depth. Its errors are *query.Error.
func (r *Request) check() error {
	switch {
	case r.Dataset == "" && r.Object == "":
		return bad("", "give dataset (user_events, or zone/dataset such as cleansed/user_events) or object (s3://bucket/key)")
	case r.Dataset != "" && r.Object != "":
		return bad("", "give dataset or object, not both")
	}
	switch {
	case r.Depth == 0:
		r.Depth = DefaultDepth
	case r.Depth < 1 || r.Depth > MaxDepth:
		return bad("depth", "give a depth from 1 to %d, not %d", MaxDepth, r.Depth)
	}
	if r.Since != "" {
		if _, err := time.Parse(time.DateOnly, r.Since); err != nil {
			return bad("since", "%q is not a date YYYY-MM-DD", clip(r.Since))
		}
	} else {
		now := r.Now
		if now.IsZero() {
			now = time.Now()
		}
		r.Since = now.UTC().Add(-DefaultWindow).Format(time.DateOnly)
	}
	if r.Budget <= 0 {
		r.Budget = DefaultBudget
	}
	if r.Dataset != "" {
		z, ds, scoped := strings.Cut(r.Dataset, "/")
		if !scoped {
			z, ds = "", r.Dataset
		} else if !slices.Contains(zone.All, zone.Zone(z)) {
			return bad("dataset", "unknown zone %q in %q: one of raw, cleansed, curated, quarantine", clip(z), clip(r.Dataset))
		}
		if !datasetPattern.MatchString(ds) {
			return bad("dataset", "%q is not a dataset name (lower-case letters, digits and _), nor zone/dataset", clip(r.Dataset))
		}
		return nil
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(r.Object, "s3://"), "/")
	switch {
	case !strings.HasPrefix(r.Object, "s3://") || !ok || key == "":
		return bad("object", "%q is not an object URL s3://<bucket>/<key>", clip(r.Object))
	case !bucketPattern.MatchString(bucket):
		return bad("object", "%q is not a bucket name", clip(bucket))
	case len(key) > 1024 || strings.ContainsFunc(key, func(c rune) bool { return c < ' ' || c == 0x7f }):
		return bad("object", "the key must be at most 1024 bytes without control characters")
	case query.StringLiteralLen(key) > query.MaxParamLen:
		return bad("object", "the key is %d bytes as a SQL literal (each ' counts twice): Athena takes at most %d per parameter", query.StringLiteralLen(key), query.MaxParamLen)
	}
	return nil
}

// Build walks the lineage table up and down from the request's dataset or object. A bad request
// is a *query.Error (a 400); a failed query is any other error. A walk that runs out of its
// budget is no error: its graph is returned, truncated.
func Build(ctx context.Context, engine query.Engine, q Request) (*Graph, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	win := window{}
	win.since, _ = time.Parse(time.DateOnly, q.Since) // checked above
	budget, cancel := context.WithTimeout(ctx, q.Budget)
	defer cancel()
	src := &source{eng: engine}
	var w walker
	var lv levels
	if q.Dataset != "" {
		dw := newDatasetWalker(q.Dataset, win)
		w = dw
		m, err := dw.readAll(budget, src)
		if err != nil {
			if !spent(ctx, budget, err) {
				return nil, err
			}
			// Not even the one query finished: an empty graph, truncated.
			return finish(&accumulator{nodes: map[string]*Node{}, edges: map[edgeKey]*edgeAcc{}}, w, q, src, [2]string{TruncatedBudget}), nil
		}
		lv = m
	} else {
		ow := newObjectWalker(q.Object, win)
		w, lv = ow, &queried{src: src, w: ow}
	}
	acc := &accumulator{nodes: map[string]*Node{}, edges: map[edgeKey]*edgeAcc{}}
	if q.Object != "" {
		// The object is in its graph even when no lineage is recorded for it.
		s := w.start()[0]
		acc.node(Node{ID: s.id, Kind: KindObject, Name: s.conds[1].value})
	}
	var (
		wg      sync.WaitGroup
		errs    [2]error
		reasons [2]string
	)
	for i, dir := range []direction{upstream, downstream} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reasons[i], errs[i] = walk(budget, lv, w, dir, q.Depth, acc)
			if errs[i] != nil && spent(ctx, budget, errs[i]) {
				reasons[i], errs[i] = TruncatedBudget, nil
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return finish(acc, w, q, src, reasons), nil
}

// spent reports whether err is the walk's budget running out (and not the caller giving up).
func spent(ctx, budget context.Context, err error) bool {
	return ctx.Err() == nil && budget.Err() != nil && errors.Is(err, context.DeadlineExceeded)
}

func finish(acc *accumulator, w walker, q Request, src *source, reasons [2]string) *Graph {
	g := acc.graph()
	g.Root, g.Depth, g.Since, g.Queries = w.root(), q.Depth, q.Since, int(src.queries.Load())
	for _, want := range []string{TruncatedBudget, TruncatedWidth, TruncatedDepth} {
		if reasons[0] == want || reasons[1] == want {
			g.Truncated, g.Reason = true, want
			break
		}
	}
	return g
}

type direction int

const (
	upstream direction = iota
	downstream
)

// walker is what differs between dataset mode and object mode.
type walker interface {
	root() string
	// start is the first level's selector.
	start() []selector
	// edges turns a level's rows into edges, adding nodes to acc; it returns the nodes that
	// the next level starts from.
	edges(dir direction, cols map[string]int, rows [][]any, acc *accumulator) []selector
}

// selector picks a node's rows: column = value, all of them.
type selector struct {
	id    string
	conds []cond
}

type cond struct {
	column string
	value  string
}

// window is the part of the lineage table a walk reads.
type window struct{ since time.Time }

// where is (a AND b) OR (c AND d) ... over the selectors, on the output or the input side,
// within the window.
func (win window) where(sel []selector, side string, params *[]query.Param) string {
	if len(sel) == 0 {
		*params = append(*params, query.Param{Kind: contract.Date, Value: win.since})
		return `"dt" >= ?`
	}
	ors := make([]string, len(sel))
	for i, s := range sel {
		ands := make([]string, len(s.conds))
		for j, c := range s.conds {
			ands[j] = `"` + side + "_" + c.column + `" = ?`
			*params = append(*params, query.Param{Kind: contract.String, Value: c.value})
		}
		ors[i] = "(" + strings.Join(ands, " AND ") + ")"
	}
	sql := "(" + strings.Join(ors, " OR ") + ")"
	if !win.since.IsZero() {
		sql += ` AND "dt" >= ?`
		*params = append(*params, query.Param{Kind: contract.Date, Value: win.since})
	}
	return sql
}

func sideOf(dir direction) string {
	if dir == upstream {
		return "output"
	}
	return "input"
}

// lineageFrom reads the lineage objects and their compacted form, each row once.
var lineageFrom = table.From()

func (win window) probeQuery(dir direction, sel []selector) *query.Query {
	var params []query.Param
	sql := `SELECT 1 FROM ` + lineageFrom + ` WHERE "input_name" <> '' AND ` + win.where(sel, sideOf(dir), &params) + ` LIMIT 1`
	return lineageQuery(sql, params)
}

// levels reads the rows of one level of a walk: from the engine, a query a level, or from
// rows read once for the whole walk.
type levels interface {
	// level returns the rows whose side of dir matches one of sel; cut reports rows left out.
	level(ctx context.Context, dir direction, sel []selector) (cols map[string]int, rows [][]any, cut bool, err error)
	// beyond reports whether any edge continues from sel.
	beyond(ctx context.Context, dir direction, sel []selector) (bool, error)
}

// queried is the object walk's levels: a query a level.
type queried struct {
	src *source
	w   interface {
		level(dir direction, sel []selector) *query.Query
		probe(dir direction, sel []selector) *query.Query
	}
}

func (q *queried) level(ctx context.Context, dir direction, sel []selector) (map[string]int, [][]any, bool, error) {
	return q.src.run(ctx, q.w.level(dir, sel))
}

func (q *queried) beyond(ctx context.Context, dir direction, sel []selector) (bool, error) {
	_, rows, _, err := q.src.run(ctx, q.w.probe(dir, sel))
	return len(rows) > 0, err
}

// walk runs the levels of one direction. It returns why the graph is truncated, if it is.
func walk(ctx context.Context, lv levels, w walker, dir direction, depth int, acc *accumulator) (truncated string, err error) {
	seen := map[string]bool{}
	frontier := w.start()
	for _, s := range frontier {
		seen[s.id] = true
	}
	for level := 0; level < depth && len(frontier) > 0; level++ {
		if len(frontier) > maxFrontier {
			frontier, truncated = frontier[:maxFrontier], TruncatedWidth
		}
		cols, rows, cut, err := lv.level(ctx, dir, frontier)
		if err != nil {
			return "", fmt.Errorf("lineage: %s level %d: %w", [...]string{"upstream", "downstream"}[dir], level+1, err)
		}
		if cut {
			truncated = TruncatedWidth
		}
		var next []selector
		for _, s := range w.edges(dir, cols, rows, acc) {
			if !seen[s.id] {
				seen[s.id] = true
				next = append(next, s)
			}
		}
		sort.Slice(next, func(i, j int) bool { return next[i].id < next[j].id })
		frontier = next
	}
	if len(frontier) > 0 && truncated == "" {
		// Depth reached with nodes left: say truncated only if the graph really goes on.
		more, err := lv.beyond(ctx, dir, frontier[:min(len(frontier), maxFrontier)])
		if err != nil {
			return "", fmt.Errorf("lineage: probe beyond depth %d: %w", depth, err)
		}
		if more || len(frontier) > maxFrontier {
			truncated = TruncatedDepth
		}
	}
	return truncated, nil
}

// source runs the walk's queries on the engine and counts them.
type source struct {
	eng     query.Engine
	queries atomic.Int32
}

// run starts a query, waits for it and reads its rows (up to maxRows: cut reports more).
func (src *source) run(ctx context.Context, q *query.Query) (cols map[string]int, rows [][]any, cut bool, err error) {
	src.queries.Add(1)
	eng := src.eng
	id, err := eng.Start(ctx, q)
	if err != nil {
		return nil, nil, false, err
	}
	delay := 5 * time.Millisecond
	for {
		st, err := eng.Status(ctx, id)
		if err != nil {
			return nil, nil, false, err
		}
		if st.State == query.Succeeded {
			break
		}
		if st.State.Done() {
			return nil, nil, false, fmt.Errorf("query %s %s: %s", id, st.State, st.Error)
		}
		select {
		case <-ctx.Done():
			return nil, nil, false, ctx.Err()
		case <-time.After(delay):
		}
		// Athena's queries take a second or more: poll quickly at first, then every 250 ms,
		// so that a finished query is noticed soon without a flood of GetQueryExecution calls.
		delay = min(delay*2, 250*time.Millisecond)
	}
	token := ""
	for {
		page, err := eng.Results(ctx, id, token, query.MaxPageSize)
		if err != nil {
			return nil, nil, false, err
		}
		if cols == nil {
			cols = make(map[string]int, len(page.Columns))
			for i, c := range page.Columns {
				cols[c.Name] = i
			}
		}
		rows = append(rows, page.Rows...)
		if len(rows) >= maxRows {
			return cols, rows[:maxRows], page.NextToken != "" || len(rows) > maxRows, nil
		}
		if page.NextToken == "" {
			return cols, rows, false, nil
		}
		token = page.NextToken
	}
}

// accumulator gathers the nodes and edges both directions find.
type accumulator struct {
	mu    sync.Mutex
	nodes map[string]*Node
	edges map[edgeKey]*edgeAcc
}

type edgeKey struct{ from, to, job string }

type edgeAcc struct {
	Edge
	latest time.Time
}

func (a *accumulator) node(n Node) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if old, ok := a.nodes[n.ID]; ok {
		// Sightings differ in what they know: an object seen as an input has no row count.
		if old.Rows == nil {
			old.Rows = n.Rows
		}
		if old.Zone == "" {
			old.Zone = n.Zone
		}
		if old.Dataset == "" {
			old.Dataset = n.Dataset
		}
		return
	}
	a.nodes[n.ID] = &n
}

// edge records an edge; a second sighting of the same edge (the other direction's walk reads
// the same aggregate, or a later run of the same job) keeps the latest.
func (a *accumulator) edge(e Edge, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := edgeKey{e.From, e.To, e.Job}
	if old, ok := a.edges[k]; ok && !at.After(old.latest) {
		return
	}
	a.edges[k] = &edgeAcc{Edge: e, latest: at}
}

func (a *accumulator) graph() *Graph {
	g := &Graph{Nodes: []Node{}, Edges: []Edge{}}
	for _, n := range a.nodes {
		g.Nodes = append(g.Nodes, *n)
	}
	sort.Slice(g.Nodes, func(i, j int) bool { return g.Nodes[i].ID < g.Nodes[j].ID })
	for _, e := range a.edges {
		g.Edges = append(g.Edges, e.Edge)
	}
	sort.Slice(g.Edges, func(i, j int) bool {
		a, b := g.Edges[i], g.Edges[j]
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		return a.Job < b.Job
	})
	return g
}

// Values of result rows, whichever engine answered (int64 from the embedded engine, strings
// or numbers through JSON).
func str(row []any, cols map[string]int, name string) string {
	i, ok := cols[name]
	if !ok || row[i] == nil {
		return ""
	}
	if s, ok := row[i].(string); ok {
		return s
	}
	return fmt.Sprint(row[i])
}

func num(row []any, cols map[string]int, name string) *int64 {
	i, ok := cols[name]
	if !ok || row[i] == nil {
		return nil
	}
	var n int64
	switch v := row[i].(type) {
	case int64:
		n = v
	case int:
		n = int64(v)
	case float64:
		n = int64(v)
	case string:
		p, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil
		}
		n = p
	default:
		return nil
	}
	return &n
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
