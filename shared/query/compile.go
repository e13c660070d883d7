package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelake/sluice/shared/access"
	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/zone"
)

// Query is a compiled query, ready for an engine.
type Query struct {
	// Dataset and Zone are what the query reads (for a raw SQL query, of its first table).
	Dataset string
	Zone    zone.Zone
	// Tables lists the tables the SQL reads, each <zone>_<dataset>, unqualified: the engine
	// supplies the database (Athena) or binds the name to files (the embedded engine).
	Tables []string
	// SQL has a `?` for each parameter, in order.
	SQL    string
	Params []Param
	// Raw marks SQL that came from the caller rather than from the compiler.
	Raw bool
	// Columns are the columns the query names or returns (for a raw query, every column of its
	// tables): what the audit trail records it touched.
	Columns []string
	// AsOf, when set, reads the curated table at a snapshot (time travel); the SQL carries it
	// as Athena's FOR VERSION/TIMESTAMP AS OF clause (AsOf.SQL).
	AsOf *AsOf
	// Owner names who started the query (an opaque hash of the caller), kept by the engine with
	// the query so that its status and results go to no one else, across API instances.
	Owner string
}

// Param is one query parameter: a value already checked against its column's type.
type Param struct {
	// Kind is the column type the value was checked against.
	Kind contract.Kind
	// Value is a string (String, Enum), int64 (Int, Long), float64 (Float, Double), bool
	// (Boolean) or a UTC time.Time (Timestamp; Date at midnight).
	Value any
}

// TableName is the Glue table of a dataset in a zone.
func TableName(z zone.Zone, dataset string) string { return string(z) + "_" + dataset }

// Compiler validates requests against the contracts and compiles them.
//
// Beside the datasets of Contracts, every compiler knows the lake's own lineage table (dataset
// "lineage", zone "lineage", table lineage_lineage, the contract of shared/lineage/table): it is
// part of every lake, so no wiring has to remember it, and a contract of that name in Contracts
// is ignored in its favour.
type Compiler struct {
	Contracts map[string]*contract.Contract
	// DefaultLimit applies when a request sets none (default 1000); MaxLimit caps any (default 10000).
	DefaultLimit, MaxLimit int
	// RawSQL accepts requests carrying SQL. Off unless a deployment switches it on.
	RawSQL bool
	// HasData reports whether a zone holds any data of a dataset; it decides the default zone
	// (curated, else cleansed). Nil means curated.
	HasData func(z zone.Zone, dataset string) bool
	// Access decides what each caller of CompileAs may read; nil grants only the defaults
	// (curated, consumption and lineage).
	Access *access.Policy
	// Summaries are the tables of the consumption zone by name (shared/summary's generated
	// contracts): a request naming one reads zone consumption, the only zone it has.
	Summaries map[string]*contract.Contract
}

const (
	defaultLimit = 1000
	maxLimit     = 10000
	maxInValues  = 1000
	maxSQLLen    = 16384 // raw SQL text
	maxItems     = 64    // columns, conditions, groups, aggregates, orders
)

// Queryable zones: quarantine holds rejects, not a dataset's table.
var queryable = []zone.Zone{zone.Curated, zone.Cleansed, zone.Raw}

// Partition columns every table has beside its contract's fields (Glue partition keys).
var (
	dtField = contract.Field{Name: "dt", Kind: contract.Date, Index: -1}
	hrField = contract.Field{Name: "hr", Kind: contract.Int, Index: -2}
)

var aliasPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Compile validates r and compiles it with no access check: for the lake's own readers
// (summaries, lineage graphs), never for a caller's request. Every problem with r is an *Error
// naming the field.
func (c *Compiler) Compile(r *Request) (*Query, error) { return c.compile(nil, r, nil) }

// Join widens the rows of a derived query's curated table with columns of another dataset's
// curated table: a LEFT JOIN on declared columns, which must be the joined dataset's whole key
// so that each row finds at most one partner (a summary's sums never count a row twice).
type Join struct {
	Dataset string   `json:"dataset"`
	On      []JoinOn `json:"on"`
	// Columns of the joined dataset the query may then name as if they were its own.
	Columns []string `json:"columns"`
}

// JoinOn is one equality of a join: Column of the query's dataset equals To of the joined one.
type JoinOn struct {
	Column string `json:"column"`
	To     string `json:"to"`
}

// CompileDerived compiles a query the lake runs for itself over the curated zone (a summary's
// refresh): with joins, without access checks, and without a LIMIT, since every row of the
// answer is needed (the engine's own caps still hold). Problems are *Error naming the field,
// joins[i]... for a join.
func (c *Compiler) CompileDerived(r *Request, joins []Join) (*Query, error) {
	if r.SQL != "" || r.AsOf != nil || r.Limit != 0 {
		return nil, invalid("", "a derived query is structured, reads the current curated tables and has no limit: leave out sql, as_of and limit")
	}
	if r.Zone != "" && r.Zone != string(zone.Curated) {
		return nil, invalid("zone", "a derived query reads the curated zone, not %q", clip(r.Zone))
	}
	return c.compile(nil, r, joins)
}

// CompileAs validates r and compiles it for caller: every table, zone and column the query
// reads must be readable by caller under Access, or the answer is an *access.Denied naming what
// was refused. A default select list leaves out the columns caller may not read.
func (c *Compiler) CompileAs(caller access.Caller, r *Request) (*Query, error) {
	return c.compile(&caller, r, nil)
}

// compile compiles r; joins is nil for a caller's request and non-nil (maybe empty) for a
// derived query.
func (c *Compiler) compile(caller *access.Caller, r *Request, joins []Join) (*Query, error) {
	derived := joins != nil
	if r.SQL != "" {
		q, err := c.compileRaw(r)
		if err != nil {
			return nil, err
		}
		return q, c.rawColumns(caller, q)
	}
	ct, err := c.dataset(r.Dataset)
	if err != nil {
		return nil, err
	}
	z, err := c.zone(r.Zone, ct.Name, caller)
	if err != nil {
		return nil, err
	}
	if caller != nil {
		if err := c.Access.Zone(*caller, ct.Name, z); err != nil {
			return nil, err
		}
	}
	b := &builder{ct: ct, zone: z, caller: caller, access: c.Access}
	tables := []string{TableName(z, ct.Name)}
	from := quote(tables[0])
	if len(joins) > 0 {
		if b.ct, from, tables, err = c.join(ct, joins); err != nil {
			return nil, err
		}
	}
	for name, n := range map[string]int{"columns": len(r.Columns), "where": len(r.Where),
		"group_by": len(r.GroupBy), "aggregates": len(r.Aggregates), "order_by": len(r.OrderBy)} {
		if n > maxItems {
			return nil, invalid(name, "at most %d entries, got %d", maxItems, n)
		}
	}

	// The select list.
	var sel []string
	outputs := map[string]bool{} // names order by may use when grouped
	grouped := len(r.GroupBy) > 0 || len(r.Aggregates) > 0
	var groups []string
	for i, name := range r.GroupBy {
		f, err := b.column(fmt.Sprintf("group_by[%d]", i), name)
		if err != nil {
			return nil, err
		}
		if f.Kind == contract.StringMap {
			return nil, invalid(fmt.Sprintf("group_by[%d]", i), "column %q is a map and cannot be grouped on", name)
		}
		if slices.Contains(groups, quote(name)) {
			return nil, invalid(fmt.Sprintf("group_by[%d]", i), "column %q is grouped twice", name)
		}
		groups = append(groups, quote(name))
	}
	cols := r.Columns
	if len(cols) == 0 {
		if grouped {
			cols = r.GroupBy
		} else {
			cols = b.heldFields()
		}
	}
	for i, name := range cols {
		field := fmt.Sprintf("columns[%d]", i)
		if _, err := b.column(field, name); err != nil {
			return nil, err
		}
		if grouped && !slices.Contains(r.GroupBy, name) {
			return nil, invalid(field, "column %q is neither in group_by nor aggregated: add it to group_by or drop it", name)
		}
		if outputs[name] {
			return nil, invalid(field, "column %q is selected twice", name)
		}
		outputs[name] = true
		sel = append(sel, quote(name))
	}
	for i, a := range r.Aggregates {
		expr, alias, err := b.aggregate(fmt.Sprintf("aggregates[%d]", i), a)
		if err != nil {
			return nil, err
		}
		if outputs[alias] {
			return nil, invalid(fmt.Sprintf("aggregates[%d].as", i), "output column %q already exists: give this aggregate another name with \"as\"", alias)
		}
		outputs[alias] = true
		sel = append(sel, expr+" AS "+quote(alias))
	}

	// The predicates: partitions first, so that a reader of the SQL sees the pruning.
	var where []string
	if z == zone.Consumption {
		if _, daily := ct.Field(dtField.Name); r.DT != nil && !daily {
			return nil, invalid("dt", "summary %s is refreshed whole, not by day: it has no dt partitions", ct.Name)
		}
		if r.HR != nil {
			return nil, invalid("hr", "summary tables are kept by day: they have no hr partitions")
		}
	}
	if b.currentState() && (r.DT != nil || r.HR != nil) {
		return nil, invalid(map[bool]string{true: "dt", false: "hr"}[r.DT != nil],
			"curated %s is the current state of its source table, unpartitioned: it has no dt or hr; filter on %s, or query zone cleansed for its changes by hour",
			ct.Name, cdc.SourceTimeField)
	}
	if r.DT != nil {
		w, err := b.dtRange(r.DT)
		if err != nil {
			return nil, err
		}
		where = append(where, w...)
	}
	if r.HR != nil {
		w, err := b.hrRange(r.HR)
		if err != nil {
			return nil, err
		}
		where = append(where, w...)
	}
	for i, cond := range r.Where {
		w, err := b.condition(fmt.Sprintf("where[%d]", i), cond)
		if err != nil {
			return nil, err
		}
		where = append(where, w)
	}

	var order []string
	for i, o := range r.OrderBy {
		field := fmt.Sprintf("order_by[%d]", i)
		if grouped {
			if !outputs[o.Column] {
				return nil, invalid(field, "%q is not an output column of this grouped query (group_by columns or aggregate names)", o.Column)
			}
		} else {
			f, err := b.column(field, o.Column)
			if err != nil {
				return nil, err
			}
			if f.Kind == contract.StringMap {
				return nil, invalid(field, "column %q is a map and cannot be ordered on", o.Column)
			}
		}
		dir := " ASC"
		if o.Desc {
			dir = " DESC"
		}
		order = append(order, quote(o.Column)+dir)
	}

	limit := r.Limit
	switch maxL := c.maxLimit(); {
	case derived:
	case limit == 0:
		limit = min(c.defaultLimit(), maxL)
	case limit < 0:
		return nil, invalid("limit", "must be positive, got %d", limit)
	case limit > maxL:
		return nil, invalid("limit", "at most %d rows per query, got %d: narrow the query or page with order_by", maxL, limit)
	}

	asOf, err := parseAsOf(r.AsOf, z)
	if err != nil {
		return nil, err
	}
	if asOf != nil {
		from += " " + asOf.SQL()
	}
	if z == table.Zone {
		// The lineage dataset is its objects and their compacted form, each row read once.
		tables, from = table.Tables, table.From()
	}
	var sql strings.Builder
	sql.WriteString("SELECT ")
	sql.WriteString(strings.Join(sel, ", "))
	sql.WriteString(" FROM ")
	sql.WriteString(from)
	if len(where) > 0 {
		sql.WriteString(" WHERE ")
		sql.WriteString(strings.Join(where, " AND "))
	}
	if len(groups) > 0 {
		sql.WriteString(" GROUP BY ")
		sql.WriteString(strings.Join(groups, ", "))
	}
	if len(order) > 0 {
		sql.WriteString(" ORDER BY ")
		sql.WriteString(strings.Join(order, ", "))
	}
	if !derived {
		// An int cannot carry SQL; it is written as digits.
		sql.WriteString(" LIMIT ")
		sql.WriteString(strconv.Itoa(limit))
	}
	return &Query{Dataset: ct.Name, Zone: z, Tables: tables, SQL: sql.String(), Params: b.params, Columns: b.columns, AsOf: asOf}, nil
}

func (c *Compiler) defaultLimit() int {
	if c.DefaultLimit > 0 {
		return c.DefaultLimit
	}
	return defaultLimit
}

func (c *Compiler) maxLimit() int {
	if c.MaxLimit > 0 {
		return c.MaxLimit
	}
	return maxLimit
}

func (c *Compiler) dataset(name string) (*contract.Contract, error) {
	if name == "" {
		return nil, invalid("dataset", "required: one of %s", c.datasetNames())
	}
	if name == table.Dataset {
		return table.Contract(), nil
	}
	if name == audit.Dataset {
		return audit.Contract(), nil
	}
	ct, ok := c.Contracts[name]
	if !ok {
		ct, ok = c.Summaries[name]
	}
	if !ok {
		return nil, invalid("dataset", "unknown dataset %q: one of %s", clip(name), c.datasetNames())
	}
	return ct, nil
}

func (c *Compiler) datasetNames() string {
	names := []string{table.Dataset, audit.Dataset}
	for n := range c.Contracts {
		if n != table.Dataset && n != audit.Dataset {
			names = append(names, n)
		}
	}
	for n := range c.Summaries {
		if _, dup := c.Contracts[n]; !dup {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// zone is the zone a request reads. Left out, it is curated, or cleansed while curated holds
// nothing of the dataset yet, if the caller may read cleansed.
func (c *Compiler) zone(name, dataset string, caller *access.Caller) (zone.Zone, error) {
	if dataset == table.Dataset {
		if name != "" && name != string(table.Zone) {
			return "", invalid("zone", "the lineage dataset has one zone, %q: leave zone out or set it to %q", table.Zone, table.Zone)
		}
		return table.Zone, nil
	}
	if dataset == audit.Dataset {
		if name != "" && name != string(audit.Zone) {
			return "", invalid("zone", "the audit dataset has one zone, %q: leave zone out or set it to %q", audit.Zone, audit.Zone)
		}
		return audit.Zone, nil
	}
	if _, ok := c.Contracts[dataset]; !ok && c.Summaries[dataset] != nil {
		if name != "" && name != string(zone.Consumption) {
			return "", invalid("zone", "%s is a summary table: its one zone is %q, leave zone out or set it to %q", dataset, zone.Consumption, zone.Consumption)
		}
		return zone.Consumption, nil
	}
	if name == "" {
		if c.HasData == nil || c.HasData(zone.Curated, dataset) {
			return zone.Curated, nil
		}
		if caller != nil && c.Access.Zone(*caller, dataset, zone.Cleansed) != nil {
			return zone.Curated, nil
		}
		return zone.Cleansed, nil
	}
	z := zone.Zone(name)
	if !slices.Contains(queryable, z) {
		hint := ""
		switch z {
		case table.Zone:
			hint = " (zone lineage holds only the lineage dataset)"
		case zone.Consumption:
			hint = " (zone consumption holds the summary tables, each its own dataset)"
		}
		return "", invalid("zone", "unknown zone %q: one of curated, cleansed, raw%s", clip(name), hint)
	}
	return z, nil
}

// builder accumulates the parameters of one query.
type builder struct {
	ct     *contract.Contract
	zone   zone.Zone
	params []Param
	// columns the query names, in order of first mention.
	columns []string
	// caller, when set, must be allowed every column the query names.
	caller *access.Caller
	access *access.Policy
}

// dropped says whether the zone's table lacks field f: promote leaves the fields whose PII
// policy is drop out of curated, so naming one there would fail in the engine instead.
func (b *builder) dropped(f *contract.Field) bool {
	return b.zone == zone.Curated && f.PII == contract.Drop
}

// heldFields is the default select list: every contract field the zone's table has and the
// caller may read.
func (b *builder) heldFields() []string {
	var out []string
	for i := range b.ct.Fields {
		if !b.dropped(&b.ct.Fields[i]) && b.allowed(&b.ct.Fields[i]) == nil {
			out = append(out, b.ct.Fields[i].Name)
		}
	}
	return out
}

// currentState says whether the table is a change stream's curated table: the source table's
// current state, unpartitioned (package promote's changes.go), so without dt and hr.
func (b *builder) currentState() bool {
	return b.zone == zone.Curated && cdc.IsChangeStream(b.ct)
}

func (b *builder) column(field, name string) (*contract.Field, error) {
	// A summary's columns are its contract's alone: dt is one of them when it is kept by day.
	partitioned := b.zone != zone.Consumption && !b.currentState()
	switch {
	case name == "":
		return nil, invalid(field, "a column name is required")
	case name == dtField.Name && partitioned:
		return &dtField, nil
	case name == hrField.Name && partitioned:
		return &hrField, nil
	}
	f, ok := b.ct.Field(name)
	if !ok {
		extra := ", dt, hr"
		if !partitioned {
			extra = ""
		}
		return nil, invalid(field, "dataset %s has no column %q: columns are %s%s", b.ct.Name, clip(name), strings.Join(b.ct.FieldNames(), ", "), extra)
	}

	if b.dropped(f) {
		return nil, invalid(field, "column %q is not in the curated zone: the contract of %s drops it there (PII policy drop); query zone cleansed for it", name, b.ct.Name)
	}
	if err := b.allowed(f); err != nil {
		return nil, err
	}
	if !slices.Contains(b.columns, f.Name) {
		b.columns = append(b.columns, f.Name)
	}
	return f, nil
}

func (b *builder) allowed(f *contract.Field) error {
	if b.caller == nil {
		return nil
	}
	return b.access.Column(*b.caller, b.ct.Name, b.zone, f)
}

// rawColumns holds raw SQL to the same rules as a structured query: it may read a table only if
// the caller (when there is one) may read every column the table holds, since nothing short of
// a SQL parser can tell which columns it names. It records those columns as the query's.
func (c *Compiler) rawColumns(caller *access.Caller, q *Query) error {
	for _, name := range q.Tables {
		z, ds, _ := c.splitTable(name)
		ct, err := c.dataset(ds)
		if err != nil {
			return err
		}
		if caller != nil {
			if err := c.Access.Zone(*caller, ds, z); err != nil {
				return err
			}
		}
		b := &builder{ct: ct, zone: z, caller: caller, access: c.Access}
		for i := range ct.Fields {
			if f := &ct.Fields[i]; !b.dropped(f) {
				if err := b.allowed(f); err != nil {
					return err
				}
				if !slices.Contains(q.Columns, f.Name) {
					q.Columns = append(q.Columns, f.Name)
				}
			}
		}
	}
	return nil
}

func (b *builder) param(k contract.Kind, v any) string {
	b.params = append(b.params, Param{Kind: k, Value: v})
	return "?"
}

func numeric(k contract.Kind) bool {
	return k == contract.Int || k == contract.Long || k == contract.Float || k == contract.Double
}

func (b *builder) aggregate(field string, a Aggregate) (expr, alias string, err error) {
	fn := strings.ToLower(a.Func)
	switch fn {
	case "count", "sum", "avg", "min", "max":
	default:
		return "", "", invalid(field+".fn", "unknown aggregate %q: one of count, sum, avg, min, max", clip(a.Func))
	}
	alias = a.As
	if a.Column == "" || a.Column == "*" {
		if fn != "count" {
			return "", "", invalid(field+".column", "%s needs a column", fn)
		}
		expr = "count(*)"
		if alias == "" {
			alias = "count"
		}
	} else {
		f, err := b.column(field+".column", a.Column)
		if err != nil {
			return "", "", err
		}
		switch {
		case f.Kind == contract.StringMap:
			return "", "", invalid(field+".column", "column %q is a map and cannot be aggregated", a.Column)
		case (fn == "sum" || fn == "avg") && !numeric(f.Kind):
			return "", "", invalid(field+".column", "%s needs a numeric column; %q is %s", fn, a.Column, f.Kind)
		}
		expr = fn + "(" + quote(a.Column) + ")"
		if alias == "" {
			alias = fn + "_" + a.Column
		}
	}
	if !aliasPattern.MatchString(alias) {
		return "", "", invalid(field+".as", "output name %q must be lower case letters, digits and _ (starting with a letter, at most 64)", clip(alias))
	}
	return expr, alias, nil
}

func (b *builder) dtRange(r *DateRange) ([]string, error) {
	var from, to time.Time
	var out []string
	for _, end := range []struct {
		name, val string
		t         *time.Time
		op        string
	}{{"dt.from", r.From, &from, ">="}, {"dt.to", r.To, &to, "<="}} {
		if end.val == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, end.val)
		if err != nil {
			return nil, invalid(end.name, "%q is not a date YYYY-MM-DD", clip(end.val))
		}
		*end.t = t
		out = append(out, quote("dt")+" "+end.op+" "+b.param(contract.Date, t))
	}
	if len(out) == 0 {
		return nil, invalid("dt", "give from, to or both (YYYY-MM-DD)")
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return nil, invalid("dt", "to %s is before from %s", r.To, r.From)
	}
	return out, nil
}

func (b *builder) hrRange(r *HourRange) ([]string, error) {
	var out []string
	for _, end := range []struct {
		name string
		val  *int
		op   string
	}{{"hr.from", r.From, ">="}, {"hr.to", r.To, "<="}} {
		if end.val == nil {
			continue
		}
		if *end.val < 0 || *end.val > 23 {
			return nil, invalid(end.name, "hour must be 0-23, got %d", *end.val)
		}
		out = append(out, quote("hr")+" "+end.op+" "+b.param(contract.Int, int64(*end.val)))
	}
	if len(out) == 0 {
		return nil, invalid("hr", "give from, to or both (0-23)")
	}
	if r.From != nil && r.To != nil && *r.To < *r.From {
		return nil, invalid("hr", "to %d is before from %d", *r.To, *r.From)
	}
	return out, nil
}

var comparisons = map[string]string{"=": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

func (b *builder) condition(field string, cond Condition) (string, error) {
	f, err := b.column(field+".column", cond.Column)
	if err != nil {
		return "", err
	}
	col := quote(cond.Column)
	op := strings.ToLower(strings.Join(strings.Fields(cond.Op), " "))
	noValues := func() error {
		if cond.Value != nil || cond.Values != nil {
			return invalid(field, "%q takes no value", op)
		}
		return nil
	}
	if f.Kind == contract.StringMap && op != "is null" && op != "is not null" {
		return "", invalid(field+".column", "column %q is a map: only \"is null\" and \"is not null\" apply", cond.Column)
	}
	switch op {
	case "is null", "is not null":
		if err := noValues(); err != nil {
			return "", err
		}
		return col + " " + strings.ToUpper(op), nil
	case "like":
		if f.Kind != contract.String && f.Kind != contract.Enum {
			return "", invalid(field+".op", "like needs a string column; %q is %s", cond.Column, f.Kind)
		}
		if cond.Values != nil {
			return "", invalid(field, "like takes one \"value\", not \"values\"")
		}
		pattern, err := stringValue(field+".value", cond.Value)
		if err != nil {
			return "", err
		}
		return col + " LIKE " + b.param(contract.String, pattern), nil
	case "in":
		if cond.Value != nil {
			return "", invalid(field, "in takes a list in \"values\", not \"value\"")
		}
		if len(cond.Values) == 0 || len(cond.Values) > maxInValues {
			return "", invalid(field+".values", "in needs 1 to %d values, got %d", maxInValues, len(cond.Values))
		}
		marks := make([]string, len(cond.Values))
		for i, raw := range cond.Values {
			v, err := value(fmt.Sprintf("%s.values[%d]", field, i), f, raw)
			if err != nil {
				return "", err
			}
			marks[i] = b.param(f.Kind, v)
		}
		return col + " IN (" + strings.Join(marks, ", ") + ")", nil
	case "between":
		if cond.Value != nil || len(cond.Values) != 2 {
			return "", invalid(field+".values", "between needs exactly two \"values\", low and high")
		}
		if f.Kind == contract.Boolean {
			return "", invalid(field+".op", "between does not apply to boolean column %q", cond.Column)
		}
		lo, err := value(field+".values[0]", f, cond.Values[0])
		if err != nil {
			return "", err
		}
		hi, err := value(field+".values[1]", f, cond.Values[1])
		if err != nil {
			return "", err
		}
		return col + " BETWEEN " + b.param(f.Kind, lo) + " AND " + b.param(f.Kind, hi), nil
	}
	sqlOp, ok := comparisons[op]
	if !ok {
		return "", invalid(field+".op", "unknown operator %q: one of =, !=, <, <=, >, >=, in, between, like, is null, is not null", clip(cond.Op))
	}
	if f.Kind == contract.Boolean && sqlOp != "=" && sqlOp != "<>" {
		return "", invalid(field+".op", "boolean column %q takes only = and !=", cond.Column)
	}
	if cond.Values != nil {
		return "", invalid(field, "%s takes one \"value\", not \"values\"", op)
	}
	if cond.Value == nil || bytes.Equal(bytes.TrimSpace(cond.Value), []byte("null")) {
		return "", invalid(field+".value", "a value is required (to match missing values use op \"is null\")")
	}
	v, err := value(field+".value", f, cond.Value)
	if err != nil {
		return "", err
	}
	return col + " " + sqlOp + " " + b.param(f.Kind, v), nil
}

func stringValue(field string, raw json.RawMessage) (string, error) {
	var s string
	if raw == nil || json.Unmarshal(raw, &s) != nil {
		return "", invalid(field, "must be a JSON string")
	}
	if n := StringLiteralLen(s); n > MaxParamLen {
		return "", invalid(field, "%d bytes is too long: a string value may be at most %d bytes once quoted as a SQL literal "+
			"(Athena caps each execution parameter at %d characters; each ' counts twice, plus the two quotes)", len(s), MaxParamLen-2, MaxParamLen)
	}
	return s, nil
}

// MaxParamLen is Athena's cap on one execution parameter, in characters: the value as the SQL
// literal it travels as. A longer one fails StartQueryExecution, so the compiler refuses it
// first, as a request error.
const MaxParamLen = 1024

// StringLiteralLen is the length of s quoted as a SQL string literal ('…', quotes doubled),
// the form a string parameter takes in ExecutionParameters. Bytes, not characters: never
// shorter than what Athena counts.
func StringLiteralLen(s string) int { return len(s) + 2 + strings.Count(s, "'") }

// value checks one JSON operand against a column's type and converts it to a Param value.
func value(field string, f *contract.Field, raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, invalid(field, "must not be null (use op \"is null\")")
	}
	switch f.Kind {
	case contract.String:
		return stringValue(field, raw)
	case contract.Enum:
		s, err := stringValue(field, raw)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(f.Symbols, s) {
			return nil, invalid(field, "%q is not a value of %s: one of %s", clip(s), f.Name, strings.Join(f.Symbols, ", "))
		}
		return s, nil
	case contract.Int, contract.Long:
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return nil, invalid(field, "%s is %s: give a JSON number", f.Name, f.Kind)
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return nil, invalid(field, "%s is %s: %s is not a whole number in range", f.Name, f.Kind, clip(string(n)))
		}
		if f.Kind == contract.Int && (i < math.MinInt32 || i > math.MaxInt32) {
			return nil, invalid(field, "%s is a 32-bit int: %d is out of range", f.Name, i)
		}
		return i, nil
	case contract.Float, contract.Double:
		var x float64
		if json.Unmarshal(raw, &x) != nil {
			return nil, invalid(field, "%s is %s: give a JSON number", f.Name, f.Kind)
		}
		return x, nil
	case contract.Boolean:
		var v bool
		if json.Unmarshal(raw, &v) != nil {
			return nil, invalid(field, "%s is boolean: give true or false", f.Name)
		}
		return v, nil
	case contract.Timestamp:
		s, err := stringValue(field, raw)
		if err != nil {
			return nil, invalid(field, "%s is a timestamp: give an RFC 3339 string with a zone", f.Name)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, invalid(field, "%s is a timestamp: %q is not RFC 3339 with a zone (e.g. 2026-11-23T09:00:00Z)", f.Name, clip(s))
		}
		// Stored to the millisecond; a finer bound would compare differently per engine.
		return t.UTC().Truncate(time.Millisecond), nil
	case contract.Date:
		s, err := stringValue(field, raw)
		if err != nil {
			return nil, invalid(field, "%s is a date: give YYYY-MM-DD", f.Name)
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, invalid(field, "%s is a date: %q is not YYYY-MM-DD", f.Name, clip(s))
		}
		return t, nil
	}
	return nil, invalid(field, "column %s of type %s cannot be compared", f.Name, f.Kind)
}

// quote makes an identifier a delimited SQL identifier. Every name reaching it has already
// been checked against the contract (or the alias pattern), so the doubling of quotes is a
// second line of defence, not the first.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// clip keeps echoed input short in error messages.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
