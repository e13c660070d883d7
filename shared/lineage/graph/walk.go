package graph

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/query"
)

// isStream says whether an input namespace is a stream's: a Kinesis stream or a Kafka cluster
// (whose names are its topics).
func isStream(namespace string) bool {
	return strings.HasPrefix(namespace, "kinesis://") || strings.HasPrefix(namespace, "kafka://")
}

// timeOf reads a timestamp column (the engines write them in query.TimestampFormat).
func timeOf(row []any, cols map[string]int, column string) time.Time {
	t, _ := time.Parse(query.TimestampFormat, str(row, cols, column))
	return t
}

func lineageQuery(sql string, params []query.Param) *query.Query {
	return &query.Query{Dataset: table.Dataset, Zone: table.Zone, Tables: table.Tables, SQL: sql, Params: params}
}

// datasetWalker walks between datasets: the engine groups the lineage rows into edges between
// (zone, dataset) pairs and streams.
type datasetWalker struct {
	window
	request string
	// bare is the dataset named without a zone: every zone of it is the root.
	bare string
}

func newDatasetWalker(dataset string, win window) *datasetWalker {
	w := &datasetWalker{window: win, request: dataset}
	if !strings.Contains(dataset, "/") {
		w.bare = dataset
	}
	return w
}

func (w *datasetWalker) root() string { return w.request }

func datasetSelector(z, dataset string) selector {
	return selector{id: z + "/" + dataset, conds: []cond{{"zone", z}, {"dataset", dataset}}}
}

func (w *datasetWalker) start() []selector {
	if w.bare != "" {
		return []selector{{id: w.bare, conds: []cond{{"dataset", w.bare}}}}
	}
	z, ds, _ := strings.Cut(w.request, "/")
	return []selector{datasetSelector(z, ds)}
}

// The stream's name is grouped on, an object's key is not: a dataset is many objects.
var datasetEdgesSQL = `SELECT "output_zone", "output_dataset", "input_namespace", "input_zone", "input_dataset", ` +
	`CASE WHEN "input_namespace" LIKE 'kinesis://%' OR "input_namespace" LIKE 'kafka://%' THEN "input_name" ELSE '' END AS "input_stream", "job_name", ` +
	`sum(coalesce("input_rows", "output_rows")) AS "edge_rows", count(DISTINCT "run_id") AS "runs", max("event_time") AS "latest" ` +
	`FROM ` + lineageFrom + ` WHERE "input_name" <> '' AND %s GROUP BY 1, 2, 3, 4, 5, 6, 7`

// readAll reads every edge between datasets in the window, in one query: a few rows per pair
// of datasets and job, so the whole walk, both ways and to any depth, runs on them in memory.
func (w *datasetWalker) readAll(ctx context.Context, src *source) (*inMemory, error) {
	var params []query.Param
	sql := strings.Replace(datasetEdgesSQL, "%s", w.where(nil, "", &params), 1)
	cols, rows, cut, err := src.run(ctx, lineageQuery(sql, params))
	if err != nil {
		return nil, fmt.Errorf("lineage: edges between datasets: %w", err)
	}
	return &inMemory{cols: cols, rows: rows, cut: cut}, nil
}

// inMemory is a dataset walk's levels: the rows of one query, picked out per level as the
// level's query would have picked them.
type inMemory struct {
	cols map[string]int
	rows [][]any
	cut  bool // the query returned maxRows and more were left
}

func (m *inMemory) matching(dir direction, sel []selector) [][]any {
	side := sideOf(dir) + "_"
	var out [][]any
	for _, row := range m.rows {
		if slices.ContainsFunc(sel, func(s selector) bool {
			for _, c := range s.conds {
				if str(row, m.cols, side+c.column) != c.value {
					return false
				}
			}
			return true
		}) {
			out = append(out, row)
		}
	}
	return out
}

func (m *inMemory) level(_ context.Context, dir direction, sel []selector) (map[string]int, [][]any, bool, error) {
	return m.cols, m.matching(dir, sel), m.cut, nil
}

func (m *inMemory) beyond(_ context.Context, dir direction, sel []selector) (bool, error) {
	return len(m.matching(dir, sel)) > 0, nil
}

func (w *datasetWalker) edges(dir direction, cols map[string]int, rows [][]any, acc *accumulator) []selector {
	// Groups that differ only in what the walk does not show (a stream input's dataset) make
	// one edge: summed here, within the level.
	type agg struct {
		Edge
		latest time.Time
	}
	merged := map[edgeKey]*agg{}
	var next []selector
	for _, row := range rows {
		out := Node{Kind: KindDataset, Zone: str(row, cols, "output_zone"), Dataset: str(row, cols, "output_dataset")}
		out.ID, out.Name = out.Zone+"/"+out.Dataset, out.Zone+"/"+out.Dataset
		var in Node
		var inSel *selector
		if ns := str(row, cols, "input_namespace"); isStream(ns) {
			name := str(row, cols, "input_stream")
			in = Node{ID: ns + "/" + name, Kind: KindStream, Name: name}
		} else {
			in = Node{Kind: KindDataset, Zone: str(row, cols, "input_zone"), Dataset: str(row, cols, "input_dataset")}
			if in.Zone == "" { // a writer that left the zone out: the bucket stands in
				in.Zone = ns
			}
			in.ID, in.Name = in.Zone+"/"+in.Dataset, in.Zone+"/"+in.Dataset
			s := datasetSelector(in.Zone, in.Dataset)
			inSel = &s
		}
		acc.node(out)
		acc.node(in)
		switch {
		case dir == upstream && inSel != nil && in.Dataset != w.bare:
			next = append(next, *inSel)
		case dir == downstream && out.Dataset != w.bare:
			next = append(next, datasetSelector(out.Zone, out.Dataset))
		}
		k := edgeKey{in.ID, out.ID, str(row, cols, "job_name")}
		a := merged[k]
		if a == nil {
			a = &agg{Edge: Edge{From: in.ID, To: out.ID, Job: k.job}}
			merged[k] = a
		}
		if r := num(row, cols, "edge_rows"); r != nil {
			if a.Rows == nil {
				a.Rows = new(int64)
			}
			*a.Rows += *r
		}
		if r := num(row, cols, "runs"); r != nil {
			a.Runs += int(*r)
		}
		if t := timeOf(row, cols, "latest"); t.After(a.latest) {
			a.latest = t
		}
	}
	for _, a := range merged {
		acc.edge(a.Edge, a.latest)
	}
	return next
}

// objectWalker walks between objects and stream ranges, reading lineage rows as they are.
type objectWalker struct {
	window
	object string
}

func newObjectWalker(object string, win window) *objectWalker {
	return &objectWalker{window: win, object: object}
}

func (w *objectWalker) root() string { return w.object }

func objectSelector(namespace, key string) selector {
	return selector{id: namespace + "/" + key, conds: []cond{{"namespace", namespace}, {"name", key}}}
}

func (w *objectWalker) start() []selector {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(w.object, "s3://"), "/")
	return []selector{objectSelector("s3://"+bucket, key)}
}

const objectColumns = `"event_time", "run_id", "job_name", "output_namespace", "output_name", "output_zone", "output_dataset", ` +
	`"output_rows", "input_namespace", "input_name", "input_zone", "input_dataset", "input_shard", "input_first_sequence", ` +
	`"input_last_sequence", "input_rows"`

func (w *objectWalker) level(dir direction, sel []selector) *query.Query {
	var params []query.Param
	// Upstream reads an object's root row too: it carries the row count of a file drop.
	sql := `SELECT ` + objectColumns + ` FROM ` + lineageFrom + ` WHERE ` + w.where(sel, sideOf(dir), &params) +
		` ORDER BY "event_time" DESC, "run_id", "output_name", "input_name"`
	return lineageQuery(sql, params)
}

func (w *objectWalker) probe(dir direction, sel []selector) *query.Query {
	return w.probeQuery(dir, sel)
}

func (w *objectWalker) edges(dir direction, cols map[string]int, rows [][]any, acc *accumulator) []selector {
	type agg struct {
		Edge
		latest time.Time
		runs   map[string]bool
	}
	merged := map[edgeKey]*agg{}
	var next []selector
	for _, row := range rows { // newest first: the first sighting of an object is its latest version
		ns, key := str(row, cols, "output_namespace"), str(row, cols, "output_name")
		out := Node{ID: ns + "/" + key, Kind: KindObject, Zone: str(row, cols, "output_zone"),
			Dataset: str(row, cols, "output_dataset"), Name: key, Rows: num(row, cols, "output_rows")}
		acc.node(out)
		inName := str(row, cols, "input_name")
		if inName == "" {
			continue // a root
		}
		inNS := str(row, cols, "input_namespace")
		var in Node
		if shard := str(row, cols, "input_shard"); isStream(inNS) || shard != "" {
			rng := shard + ":" + str(row, cols, "input_first_sequence") + "-" + str(row, cols, "input_last_sequence")
			in = Node{ID: inNS + "/" + inName + "/" + rng, Kind: KindStreamRange, Dataset: str(row, cols, "input_dataset"), Name: inName + " " + rng}
		} else {
			in = Node{ID: inNS + "/" + inName, Kind: KindObject, Zone: str(row, cols, "input_zone"), Dataset: str(row, cols, "input_dataset"), Name: inName}
			if dir == upstream {
				next = append(next, objectSelector(inNS, inName))
			}
		}
		acc.node(in)
		if dir == downstream {
			next = append(next, objectSelector(ns, key))
		}
		k := edgeKey{in.ID, out.ID, str(row, cols, "job_name")}
		a := merged[k]
		if a == nil {
			rows := num(row, cols, "input_rows")
			if rows == nil {
				rows = out.Rows
			}
			a = &agg{Edge: Edge{From: in.ID, To: out.ID, Job: k.job, Rows: rows, RunID: str(row, cols, "run_id")},
				latest: timeOf(row, cols, "event_time"), runs: map[string]bool{}}
			merged[k] = a
		}
		a.runs[str(row, cols, "run_id")] = true
	}
	for _, a := range merged {
		a.Runs = len(a.runs)
		acc.edge(a.Edge, a.latest)
	}
	return next
}
