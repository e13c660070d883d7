// Package duckengine is the query.Engine of the local lake: DuckDB, embedded through cgo, over
// the Parquet files the local stand-ins keep on disk, in place of Athena.
//
// It runs the very SQL the compiler makes for Athena: each table a query names,
// <zone>_<dataset>, is bound for that query to a view over
// <lake dir>/<zone bucket>/<dataset>/dt=*/hr=*/*.parquet with Hive partitioning, dt a DATE and
// hr an INTEGER as in the Glue tables, so filters on dt and hr skip whole files. The lineage
// table, lineage_lineage, is gzip'd JSON lines instead (<lake dir>/<lineage bucket>/lineage/
// dt=*/hr=*/*.json.gz), read with read_json and the columns its contract types.
//
// It is 70 MB of C++ and must never be linked into a Lambda binary: nothing under functions/
// may import it.
package duckengine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/google/uuid"

	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/zone"
)

// Options configure the engine.
type Options struct {
	// LakeDir holds one directory per bucket (what the local S3 stand-in serves).
	LakeDir string
	// Buckets maps a zone to its bucket directory under LakeDir; a zone missing here uses its
	// own name ("curated", "cleansed", "raw", and "lineage" for the lineage table).
	Buckets map[zone.Zone]string
	// MaxRows caps the rows one query may return (raw SQL has no compiled LIMIT). Default 100,000.
	MaxRows int
	// Keep is how many finished queries are remembered for Status and Results. Default 1000.
	Keep int
	// Threads bounds DuckDB's worker threads; 0 lets it use every core.
	Threads int
	// Latency is the least time a query takes from Start to done, as Athena's queueing,
	// planning and S3 listing take 1-2 s however small the data: a walk that runs its queries
	// one after another shows here what it would cost in AWS. Zero adds nothing.
	Latency time.Duration
}

// Engine runs queries on an embedded DuckDB.
type Engine struct {
	db   *sql.DB
	opts Options

	started atomic.Int64

	mu    sync.Mutex
	runs  map[string]*run
	order []string // ids, oldest first, for forgetting
}

// Started is how many queries the engine has been asked to run.
func (e *Engine) Started() int64 { return e.started.Load() }

var _ query.Engine = (*Engine)(nil)

type run struct {
	done   chan struct{}
	start  time.Time
	status query.Status // guarded by Engine.mu until done is closed
	cols   []query.Column
	rows   [][]any
}

// Open starts an in-memory DuckDB confined to the lake directory: it can read files there and
// nowhere else, and its configuration is locked, so no query can widen that.
func Open(opts Options) (*Engine, error) {
	dir, err := filepath.Abs(opts.LakeDir)
	if err != nil || opts.LakeDir == "" {
		return nil, fmt.Errorf("duckengine: set Options.LakeDir to the local lake's directory (got %q)", opts.LakeDir)
	}
	opts.LakeDir = dir
	if opts.MaxRows <= 0 {
		opts.MaxRows = 100_000
	}
	if opts.Keep <= 0 {
		opts.Keep = 1000
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("duckengine: open DuckDB: %w", err)
	}
	setup := []string{"SET allowed_directories=[" + literal(dir+string(filepath.Separator)) + "]",
		"SET enable_external_access=false", "SET autoinstall_known_extensions=false", "SET autoload_known_extensions=false"}
	if opts.Threads > 0 {
		setup = append(setup, "SET threads="+strconv.Itoa(opts.Threads))
	}
	setup = append(setup, "SET lock_configuration=true")
	for _, s := range setup {
		if _, err := db.Exec(s); err != nil {
			db.Close()
			return nil, fmt.Errorf("duckengine: %s: %w", s, err)
		}
	}
	return &Engine{db: db, opts: opts, runs: map[string]*run{}}, nil
}

// Close releases DuckDB. Queries still running fail.
func (e *Engine) Close() error { return e.db.Close() }

// Glob is the file pattern of a dataset's table in a zone.
func (e *Engine) Glob(z zone.Zone, dataset string) string {
	bucket := e.opts.Buckets[z]
	if bucket == "" {
		bucket = string(z)
	}
	if z == zone.Consumption {
		// A summary by day: <summary>/dt=YYYY-MM-DD/part-0.parquet (shared/summary).
		return filepath.Join(e.opts.LakeDir, bucket, dataset, "dt=*", "*.parquet")
	}
	ext := "*.parquet"
	if jsonContract(z, dataset) != nil {
		ext = "*" + table.Ext
	}
	return filepath.Join(e.opts.LakeDir, bucket, dataset, "dt=*", "hr=*", ext)
}

// CuratedFiles lists the local paths of the data files of dataset's curated Iceberg table in
// the snapshot at names: the current one for a zero At, an earlier one by id or time for time
// travel. A table with no snapshot yet has none; a dataset never promoted wraps
// Table is a dataset's curated table in the lake directory, with the lake's own catalog
// pointer beside it.
func (e *Engine) Table(dataset string) *iceberg.Table {
	bucket := e.opts.Buckets[zone.Curated]
	if bucket == "" {
		bucket = string(zone.Curated)
	}
	return iceberg.Dataset(iceberg.DirStore{Dir: filepath.Join(e.opts.LakeDir, bucket), Name: bucket}, nil, dataset)
}

// iceberg.ErrNoTable.
func (e *Engine) CuratedFiles(ctx context.Context, dataset string, at iceberg.At) ([]string, error) {
	tbl := e.Table(dataset)
	store := tbl.Store.(iceberg.DirStore)
	_, files, err := tbl.FilesAt(ctx, at)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(files))
	for _, f := range files {
		key, err := tbl.Key(f.Path)
		if err != nil {
			return nil, err
		}
		out = append(out, filepath.Join(store.Dir, filepath.FromSlash(key)))
	}
	return out, nil
}

// HasData reports whether a zone holds any file of a dataset: the compiler's HasData, which
// picks curated, or cleansed until curated has data. Curated has data once its table's
// current snapshot has a file.
func (e *Engine) HasData(z zone.Zone, dataset string) bool {
	if z == zone.Curated {
		files, _ := e.CuratedFiles(context.Background(), dataset, iceberg.At{})
		return len(files) > 0
	}
	m, _ := filepath.Glob(e.Glob(z, dataset))
	if len(m) == 0 && z == table.Zone && dataset == table.Dataset {
		// Lineage whose objects were all compacted is still lineage.
		m, _ = filepath.Glob(e.Glob(table.Zone, table.Compacted))
	}
	return len(m) > 0
}

// Start runs the query in the background and returns its id at once.
func (e *Engine) Start(ctx context.Context, q *query.Query) (string, error) {
	e.started.Add(1)
	id := uuid.NewString()
	r := &run{done: make(chan struct{}), start: time.Now()}
	r.status = query.Status{ID: id, State: query.Running, Owner: q.Owner}
	e.mu.Lock()
	e.runs[id] = r
	e.order = append(e.order, id)
	for len(e.order) > e.opts.Keep {
		delete(e.runs, e.order[0])
		e.order = e.order[1:]
	}
	e.mu.Unlock()
	// The query outlives the request that started it, as an Athena query does.
	go e.execute(context.WithoutCancel(ctx), r, q)
	return id, nil
}

func (e *Engine) execute(ctx context.Context, r *run, q *query.Query) {
	cols, rows, scanned, err := e.run(ctx, q)
	if wait := e.opts.Latency - time.Since(r.start); wait > 0 {
		time.Sleep(wait)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	r.status.RunTime = time.Since(r.start)
	r.status.RunTimeMillis = r.status.RunTime.Milliseconds()
	r.status.BytesScanned = scanned
	if err != nil {
		r.status.State, r.status.Error = query.Failed, err.Error()
	} else {
		r.status.State, r.cols, r.rows = query.Succeeded, cols, rows
	}
	close(r.done)
}

func (e *Engine) run(ctx context.Context, q *query.Query) ([]query.Column, [][]any, int64, error) {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	defer conn.Close()
	var scanned int64
	for _, name := range q.Tables {
		z, dataset, ok := splitTable(name)
		if !ok {
			return nil, nil, 0, fmt.Errorf("table %q is not <zone>_<dataset>", name)
		}
		glob := e.Glob(z, dataset)
		var files []string
		if z == zone.Curated {
			// The table's current snapshot, not every file under the dataset: replaced files
			// stay there for time travel.
			var err error
			var at iceberg.At
			if q.AsOf != nil {
				at = iceberg.At{SnapshotID: q.AsOf.SnapshotID, Time: q.AsOf.Time}
			}
			if files, err = e.CuratedFiles(ctx, dataset, at); err != nil && (q.AsOf != nil || !errors.Is(err, iceberg.ErrNoTable)) {
				return nil, nil, 0, fmt.Errorf("bind %s: %w", name, err)
			}
			glob = "the current snapshot of the curated table " + dataset
		} else {
			files, _ = filepath.Glob(glob)
		}
		if len(files) == 0 && z == zone.Consumption {
			// A summary kept whole: one file, no partitions.
			glob = filepath.Join(filepath.Dir(filepath.Dir(glob)), "*.parquet")
			files, _ = filepath.Glob(glob)
		}
		if len(files) == 0 && (z == table.Zone || z == audit.Zone) {
			// Either lineage table may be empty (nothing compacted yet, or everything), and
			// the audit table before its first request: an empty table, as Athena sees a
			// prefix without objects.
			if _, err := conn.ExecContext(ctx, emptySQL(name, z)); err != nil {
				return nil, nil, 0, fmt.Errorf("bind %s: %w", name, err)
			}
			continue
		}
		if len(files) == 0 {
			return nil, nil, 0, fmt.Errorf("the %s zone holds no data for %s yet (no files match %s)", z, dataset, glob)
		}
		// An upper bound of what Athena would bill: every file of the table, before pruning.
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				scanned += fi.Size()
			}
		}
		// A view per connection: it sees the files present now, and no other query's views.
		// union_by_name would follow added columns across files, but reads every footer:
		// 5x slower on 240 files, so a table's columns are those of its first file.
		src := literal(glob)
		if z == zone.Curated {
			quoted := make([]string, len(files))
			for i, f := range files {
				quoted[i] = literal(f)
			}
			src = "[" + strings.Join(quoted, ", ") + "]"
		}
		if _, err := conn.ExecContext(ctx, viewSQL(name, z, src)); err != nil {
			return nil, nil, 0, fmt.Errorf("bind %s to %s: %w", name, glob, err)
		}
	}
	args := make([]any, len(q.Params))
	for i, p := range q.Params {
		args[i] = p.Value
	}
	// Athena reads a snapshot by the SQL's AS OF clause; here the view is bound to its files.
	rs, err := conn.QueryContext(ctx, q.WithoutAsOf(), args...)
	if err != nil {
		return nil, nil, scanned, err
	}
	defer rs.Close()
	cts, err := rs.ColumnTypes()
	if err != nil {
		return nil, nil, scanned, err
	}
	cols := make([]query.Column, len(cts))
	for i, ct := range cts {
		cols[i] = query.Column{Name: ct.Name(), Type: typeName(ct.DatabaseTypeName())}
	}
	rows := [][]any{}
	vals := make([]any, len(cts))
	ptrs := make([]any, len(cts))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if len(rows) == e.opts.MaxRows {
			return nil, nil, scanned, fmt.Errorf("the query returns more than %d rows: add a LIMIT or narrow it", e.opts.MaxRows)
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, nil, scanned, err
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			row[i] = normalize(v, cols[i].Type)
		}
		rows = append(rows, row)
	}
	return cols, rows, scanned, rs.Err()
}

// Status reports the query's state.
func (e *Engine) Status(ctx context.Context, id string) (*query.Status, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.runs[id]
	if !ok {
		return nil, query.ErrNotFound
	}
	st := r.status
	if !st.State.Done() {
		st.RunTime = time.Since(r.start)
		st.RunTimeMillis = st.RunTime.Milliseconds()
	}
	return &st, nil
}

// Wait blocks until the query is done or ctx ends.
func (e *Engine) Wait(ctx context.Context, id string) error {
	e.mu.Lock()
	r, ok := e.runs[id]
	e.mu.Unlock()
	if !ok {
		return query.ErrNotFound
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Results pages the rows of a finished query. The token is the offset of the page's first row.
func (e *Engine) Results(ctx context.Context, id, token string, size int) (*query.Page, error) {
	e.mu.Lock()
	r, ok := e.runs[id]
	e.mu.Unlock()
	if !ok {
		return nil, query.ErrNotFound
	}
	select {
	case <-r.done:
	default:
		return nil, query.ErrNotReady
	}
	if r.status.State != query.Succeeded {
		return nil, query.ErrNotReady
	}
	if size <= 0 {
		size = query.DefaultPageSize
	}
	size = min(size, query.MaxPageSize)
	from := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n <= 0 || n > len(r.rows) {
			return nil, query.ErrBadToken
		}
		from = n
	}
	to := min(from+size, len(r.rows))
	page := &query.Page{Columns: r.cols, Rows: r.rows[from:to]}
	if to < len(r.rows) {
		page.NextToken = strconv.Itoa(to)
	}
	return page, nil
}

// Explain returns DuckDB's analyzed plan of a query (with the files it read), for showing
// partition pruning.
func (e *Engine) Explain(ctx context.Context, q *query.Query) (string, error) {
	explain := *q
	explain.SQL = "EXPLAIN ANALYZE " + q.SQL
	_, rows, _, err := e.run(ctx, &explain)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, r := range rows {
		for _, v := range r[1:] {
			fmt.Fprintln(&b, v)
		}
	}
	return b.String(), nil
}

// viewSQL binds a table name to its files.
// src is the SQL of the files to read: a quoted glob, or a list of quoted paths.
func viewSQL(name string, z zone.Zone, src string) string {
	hive := `hive_partitioning=true, hive_types={'dt': DATE, 'hr': INTEGER}`
	if name == table.Tables[1] {
		// Parquet timestamps adjusted to UTC read as TIMESTAMPTZ; the Glue column, like the
		// JSON table's, is a plain timestamp in UTC.
		return fmt.Sprintf(`CREATE OR REPLACE TEMP VIEW %s AS SELECT * REPLACE (timezone('UTC', "event_time") AS "event_time") FROM read_parquet(%s, %s)`,
			quoteIdent(name), src, hive)
	}
	// The partition columns are the ones the files' paths carry: summaries refreshed whole have
	// no dt, summaries by day no hr, and a change stream's curated table (the source table's
	// current state, unpartitioned) neither.
	switch sep := string(filepath.Separator); {
	case strings.Contains(src, sep+"hr="):
	case strings.Contains(src, sep+"dt="):
		hive = `hive_partitioning=true, hive_types={'dt': DATE}`
	default:
		hive = `hive_partitioning=false`
	}
	c := jsonContract(z, strings.TrimPrefix(name, string(z)+"_"))
	if c == nil {
		return fmt.Sprintf(`CREATE OR REPLACE TEMP VIEW %s AS SELECT * FROM read_parquet(%s, %s)`, quoteIdent(name), src, hive)
	}
	// JSON carries no schema: the contract's columns, typed, so that a column no row has yet is
	// still there (as NULL) and event_time is a TIMESTAMP rather than whatever sampling guesses.
	cols := make([]string, len(c.Fields))
	for i := range c.Fields {
		cols[i] = literal(c.Fields[i].Name) + ": " + literal(duckType(&c.Fields[i]))
	}
	return fmt.Sprintf(`CREATE OR REPLACE TEMP VIEW %s AS SELECT * FROM read_json(%s, format='newline_delimited', compression='gzip', columns={%s}, timestampformat=%s, %s)`,
		quoteIdent(name), src, strings.Join(cols, ", "), literal("%Y-%m-%d %H:%M:%S.%g"), hive)
}

// jsonContract is the contract of a table kept as gzip'd JSON lines (the lineage and audit
// tables), nil for the Parquet tables of the zones.
func jsonContract(z zone.Zone, dataset string) *contract.Contract {
	switch {
	case z == table.Zone && dataset == table.Dataset:
		return table.Contract()
	case z == audit.Zone && dataset == audit.Dataset:
		return audit.Contract()
	}
	return nil
}

// emptySQL binds a lineage or audit table without files to no rows of its columns.
func emptySQL(name string, z zone.Zone) string {
	c := table.Contract()
	if z == audit.Zone {
		c = audit.Contract()
	}
	cols := make([]string, 0, len(c.Fields)+3)
	for i := range c.Fields {
		cols = append(cols, "CAST(NULL AS "+duckType(&c.Fields[i])+") AS "+quoteIdent(c.Fields[i].Name))
	}
	cols = append(cols, `CAST(NULL AS DATE) AS "dt"`, `CAST(NULL AS INTEGER) AS "hr"`)
	if name == table.Tables[1] {
		cols = append(cols, `CAST(NULL AS BIGINT) AS `+quoteIdent(table.GenerationName))
	}
	return fmt.Sprintf(`CREATE OR REPLACE TEMP VIEW %s AS SELECT %s WHERE false`, quoteIdent(name), strings.Join(cols, ", "))
}

// duckType is the DuckDB type of a contract field, as its Glue type is Athena's.
func duckType(f *contract.Field) string {
	switch f.Kind {
	case contract.Int:
		return "INTEGER"
	case contract.Long:
		return "BIGINT"
	case contract.Float:
		return "FLOAT"
	case contract.Double:
		return "DOUBLE"
	case contract.Boolean:
		return "BOOLEAN"
	case contract.Timestamp:
		return "TIMESTAMP"
	case contract.Date:
		return "DATE"
	case contract.StringMap:
		return "MAP(VARCHAR, VARCHAR)"
	}
	return "VARCHAR"
}

func splitTable(name string) (zone.Zone, string, bool) {
	switch name {
	case table.Tables[0]:
		return table.Zone, table.Dataset, true
	case table.Tables[1]:
		return table.Zone, table.Compacted, true
	case string(audit.Zone) + "_" + audit.Dataset:
		return audit.Zone, audit.Dataset, true
	}
	for _, z := range slices.Concat(zone.All, []zone.Zone{zone.Consumption}) {
		if ds, ok := strings.CutPrefix(name, string(z)+"_"); ok && ds != "" {
			return z, ds, true
		}
	}
	return "", "", false
}

// typeName maps DuckDB's type names to Athena's, so results describe themselves alike.
func typeName(duck string) string {
	switch {
	case duck == "VARCHAR":
		return "varchar"
	case duck == "BIGINT" || duck == "HUGEINT":
		return "bigint"
	case duck == "INTEGER":
		return "integer"
	case duck == "FLOAT":
		return "real"
	case strings.HasPrefix(duck, "TIMESTAMP"):
		return "timestamp"
	case strings.HasPrefix(duck, "MAP"):
		return "map"
	}
	return strings.ToLower(duck)
}

// normalize turns a scanned value into the JSON-ready form every engine returns.
func normalize(v any, typ string) any {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case float32:
		return float64(x)
	case *big.Int: // sum of integers is a HUGEINT in DuckDB
		if x.IsInt64() {
			return x.Int64()
		}
		return x.String()
	case time.Time:
		if typ == "date" {
			return x.UTC().Format(time.DateOnly)
		}
		return x.UTC().Format(query.TimestampFormat)
	case duckdb.Map:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[fmt.Sprint(k)] = val
		}
		return m
	}
	return v
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
