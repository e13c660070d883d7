package query_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/zone"
)

func compiler(t testing.TB) *query.Compiler {
	t.Helper()
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	return &query.Compiler{Contracts: reg}
}

func compileJSON(t testing.TB, c *query.Compiler, body string) (*query.Query, error) {
	t.Helper()
	req, err := query.Decode(strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	return c.Compile(req)
}

func TestCompileSQLAndParams(t *testing.T) {
	c := compiler(t)
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name, body, sql string
		params          []query.Param
	}{
		// Curated holds no phone: the customers contract drops it there (DuckDB and Athena fail
		// on a column the table lacks).
		{"every column the zone holds by default",
			`{"dataset":"customers"}`,
			`SELECT "uuid", "event_date", "status", "name", "last_name", "email" FROM "curated_customers" LIMIT 1000`, nil},
		{"cleansed holds the dropped fields",
			`{"dataset":"customers","zone":"cleansed"}`,
			`SELECT "uuid", "event_date", "status", "name", "last_name", "email", "phone" FROM "cleansed_customers" LIMIT 1000`, nil},
		{"comparisons",
			`{"dataset":"user_events","zone":"cleansed","columns":["event_id","amount"],"where":[
			 {"column":"event_type","op":"=","value":"purchase"},{"column":"amount","op":">=","value":10.5},
			 {"column":"quantity","op":"!=","value":3},{"column":"is_bot","op":"=","value":false},
			 {"column":"timestamp","op":"<","value":"2026-11-23T10:00:00+01:00"}],"limit":5}`,
			`SELECT "event_id", "amount" FROM "cleansed_user_events" WHERE "event_type" = ? AND "amount" >= ? AND "quantity" <> ? AND "is_bot" = ? AND "timestamp" < ? LIMIT 5`,
			[]query.Param{{Kind: contract.Enum, Value: "purchase"}, {Kind: contract.Double, Value: 10.5}, {Kind: contract.Int, Value: int64(3)},
				{Kind: contract.Boolean, Value: false}, {Kind: contract.Timestamp, Value: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}}},
		{"in, between, like, is null",
			`{"dataset":"user_events","columns":["event_id"],"where":[
			 {"column":"country","op":"in","values":["DE","FR"]},{"column":"quantity","op":"between","values":[1,9]},
			 {"column":"page","op":"like","value":"/shop/%"},{"column":"referrer","op":"is null"},{"column":"session_id","op":"IS  NOT null"}]}`,
			`SELECT "event_id" FROM "curated_user_events" WHERE "country" IN (?, ?) AND "quantity" BETWEEN ? AND ? AND "page" LIKE ? AND "referrer" IS NULL AND "session_id" IS NOT NULL LIMIT 1000`,
			[]query.Param{{Kind: contract.String, Value: "DE"}, {Kind: contract.String, Value: "FR"}, {Kind: contract.Int, Value: int64(1)},
				{Kind: contract.Int, Value: int64(9)}, {Kind: contract.String, Value: "/shop/%"}}},
		{"partitions, group by, aggregates, order",
			`{"dataset":"user_events","dt":{"from":"2026-11-23","to":"2026-11-23"},"hr":{"from":9,"to":17},
			 "group_by":["event_type"],"aggregates":[{"fn":"count"},{"fn":"sum","column":"amount","as":"revenue"},{"fn":"max","column":"timestamp"}],
			 "order_by":[{"column":"revenue","desc":true},{"column":"event_type"}],"limit":10}`,
			`SELECT "event_type", count(*) AS "count", sum("amount") AS "revenue", max("timestamp") AS "max_timestamp" FROM "curated_user_events" WHERE "dt" >= ? AND "dt" <= ? AND "hr" >= ? AND "hr" <= ? GROUP BY "event_type" ORDER BY "revenue" DESC, "event_type" ASC LIMIT 10`,
			[]query.Param{{Kind: contract.Date, Value: day}, {Kind: contract.Date, Value: day}, {Kind: contract.Int, Value: int64(9)}, {Kind: contract.Int, Value: int64(17)}}},
		{"partition columns as columns",
			`{"dataset":"user_events","group_by":["dt","hr"],"aggregates":[{"fn":"count","as":"n"}],"order_by":[{"column":"dt"},{"column":"hr"}]}`,
			`SELECT "dt", "hr", count(*) AS "n" FROM "curated_user_events" GROUP BY "dt", "hr" ORDER BY "dt" ASC, "hr" ASC LIMIT 1000`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := compileJSON(t, c, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if q.SQL != tc.sql {
				t.Errorf("SQL\n got %s\nwant %s", q.SQL, tc.sql)
			}
			if !reflect.DeepEqual(q.Params, tc.params) {
				t.Errorf("params\n got %#v\nwant %#v", q.Params, tc.params)
			}
			if n := strings.Count(q.SQL, "?"); n != len(q.Params) {
				t.Errorf("%d placeholders for %d params", n, len(q.Params))
			}
		})
	}
}

func TestDefaultZoneFallsBackToCleansed(t *testing.T) {
	c := compiler(t)
	c.HasData = func(z zone.Zone, ds string) bool { return z == zone.Cleansed }
	q, err := c.Compile(&query.Request{Dataset: "customers", Columns: []string{"uuid"}})
	if err != nil {
		t.Fatal(err)
	}
	if q.Zone != zone.Cleansed || q.Tables[0] != "cleansed_customers" {
		t.Fatalf("zone %s tables %v, want cleansed", q.Zone, q.Tables)
	}
	c.HasData = func(z zone.Zone, ds string) bool { return true }
	if q, _ = c.Compile(&query.Request{Dataset: "customers"}); q.Zone != zone.Curated {
		t.Fatalf("zone %s, want curated when it has data", q.Zone)
	}
}

// Every malformed request is an *query.Error naming the field at fault and what to do.
func TestValidationErrors(t *testing.T) {
	c := compiler(t)
	cases := []struct{ body, want string }{
		{`{}`, "dataset: required: one of audit, customers, customers_changes, lineage, user_events"},
		{`{"dataset":"orders"}`, `dataset: unknown dataset "orders": one of audit, customers, customers_changes, lineage, user_events`},
		{`{"dataset":"user_events","zone":"quarantine"}`, `zone: unknown zone "quarantine"`},
		{`{"dataset":"user_events","columns":["nope"]}`, `columns[0]: dataset user_events has no column "nope": columns are event_id, user_id`},
		{`{"dataset":"user_events","were":[]}`, `unknown field "were"`},
		{`{"dataset":"customers","columns":["uuid","phone"]}`, `columns[1]: column "phone" is not in the curated zone: the contract of customers drops it there (PII policy drop); query zone cleansed`},
		{`{"dataset":"customers","zone":"curated","where":[{"column":"phone","op":"is null"}]}`, `where[0].column: column "phone" is not in the curated zone`},
		{`{"dataset":"user_events"} {}`, "data after the query object"},
		{`{"dataset":"user_events","where":[{"column":"amount","op":"~","value":1}]}`, `where[0].op: unknown operator "~"`},
		{`{"dataset":"user_events","where":[{"column":"amount","op":">","value":"ten"}]}`, "where[0].value: amount is double: give a JSON number"},
		{`{"dataset":"user_events","where":[{"column":"quantity","op":"=","value":1.5}]}`, "where[0].value: quantity is int: 1.5 is not a whole number"},
		{`{"dataset":"user_events","where":[{"column":"quantity","op":"=","value":3000000000}]}`, "out of range"},
		{`{"dataset":"user_events","where":[{"column":"event_type","op":"=","value":"buy"}]}`, `where[0].value: "buy" is not a value of event_type: one of page_view, click`},
		{`{"dataset":"user_events","where":[{"column":"timestamp","op":">","value":"yesterday"}]}`, "is not RFC 3339 with a zone"},
		{`{"dataset":"user_events","where":[{"column":"amount","op":"=","value":null}]}`, `use op "is null"`},
		{`{"dataset":"user_events","where":[{"column":"amount","op":"=","values":[1]}]}`, `takes one "value"`},
		{`{"dataset":"user_events","where":[{"column":"amount","op":"in","values":[]}]}`, "in needs 1 to 1000 values, got 0"},
		{`{"dataset":"user_events","where":[{"column":"amount","op":"between","values":[1]}]}`, "between needs exactly two"},
		{`{"dataset":"user_events","where":[{"column":"amount","op":"like","value":"1%"}]}`, "like needs a string column"},
		{`{"dataset":"user_events","where":[{"column":"is_bot","op":">","value":true}]}`, "takes only = and !="},
		{`{"dataset":"user_events","where":[{"column":"properties","op":"=","value":"x"}]}`, "is a map"},
		{`{"dataset":"user_events","where":[{"column":"referrer","op":"is null","value":"x"}]}`, `"is null" takes no value`},
		{`{"dataset":"user_events","dt":{"from":"2026-11-31"}}`, `dt.from: "2026-11-31" is not a date YYYY-MM-DD`},
		{`{"dataset":"user_events","dt":{"from":"2026-11-23","to":"2026-11-01"}}`, "dt: to 2026-11-01 is before from 2026-11-23"},
		{`{"dataset":"user_events","dt":{}}`, "dt: give from, to or both"},
		{`{"dataset":"user_events","hr":{"from":24}}`, "hr.from: hour must be 0-23, got 24"},
		{`{"dataset":"user_events","group_by":["event_type"],"columns":["page"]}`, `columns[0]: column "page" is neither in group_by nor aggregated`},
		{`{"dataset":"user_events","aggregates":[{"fn":"median","column":"amount"}]}`, `aggregates[0].fn: unknown aggregate "median"`},
		{`{"dataset":"user_events","aggregates":[{"fn":"sum","column":"page"}]}`, `sum needs a numeric column; "page" is string`},
		{`{"dataset":"user_events","aggregates":[{"fn":"sum"}]}`, "aggregates[0].column: sum needs a column"},
		{`{"dataset":"user_events","aggregates":[{"fn":"count"},{"fn":"count","column":"page"},{"fn":"count","as":"count"}]}`, `aggregates[2].as: output column "count" already exists`},
		{`{"dataset":"user_events","aggregates":[{"fn":"count"}],"order_by":[{"column":"page"}]}`, `order_by[0]: "page" is not an output column`},
		{`{"dataset":"user_events","limit":-1}`, "limit: must be positive"},
		{`{"dataset":"user_events","limit":10001}`, "limit: at most 10000 rows per query"},
		{`{"dataset":"user_events","limit":"10"}`, "not a valid query object"},
		{`{"sql":"SELECT 1"}`, "sql: raw SQL is disabled on this deployment"},
		// A change stream's curated table is its source table now: unpartitioned.
		{`{"dataset":"customers_changes","zone":"curated","dt":{"from":"2026-11-01"}}`, "dt: curated customers_changes is the current state of its source table, unpartitioned: it has no dt or hr; filter on cdc_source_ts"},
		{`{"dataset":"customers_changes","zone":"curated","hr":{"from":1}}`, "hr: curated customers_changes is the current state"},
		{`{"dataset":"customers_changes","zone":"curated","columns":["id","dt"]}`, `columns[1]: dataset customers_changes has no column "dt": columns are id, first_name, last_name, email, cdc_op, cdc_position, cdc_source_ts`},
	}
	for _, tc := range cases {
		_, err := compileJSON(t, c, tc.body)
		var qe *query.Error
		if !errors.As(err, &qe) {
			t.Errorf("%s: got %v, want a *query.Error", tc.body, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %q\nwant it to contain %q", tc.body, err, tc.want)
		}
	}
}

// The changes of a change stream are kept by hour in cleansed, like any dataset's rows.
func TestChangeStreamCleansedHasPartitions(t *testing.T) {
	c := compiler(t)
	q, err := compileJSON(t, c, `{"dataset":"customers_changes","zone":"cleansed","columns":["id","cdc_op","dt"],"dt":{"from":"2026-11-01"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(q.SQL, `"dt" >= `) {
		t.Errorf("no dt predicate in %s", q.SQL)
	}
}

func TestRawSQLWhenEnabled(t *testing.T) {
	c := compiler(t)
	c.RawSQL = true
	ok := []struct {
		sql    string
		tables []string
	}{
		{`SELECT count(*) FROM curated_user_events WHERE event_type = 'drop table'`, []string{"curated_user_events"}},
		{`select a.user_id from "cleansed_user_events" a join curated_customers c on a.user_id = c.uuid;`, []string{"cleansed_user_events", "curated_customers"}},
		{`WITH t AS (SELECT * FROM curated_user_events), u AS (SELECT * FROM t) SELECT count(*) FROM u`, []string{"curated_user_events"}},
		{`SELECT * FROM (SELECT * FROM raw_customers) x`, []string{"raw_customers"}},
	}
	for _, tc := range ok {
		q, err := c.Compile(&query.Request{SQL: tc.sql})
		if err != nil {
			t.Errorf("%s: %v", tc.sql, err)
			continue
		}
		if !q.Raw || !reflect.DeepEqual(q.Tables, tc.tables) || len(q.Params) != 0 {
			t.Errorf("%s: raw %v tables %v params %v", tc.sql, q.Raw, q.Tables, q.Params)
		}
	}
	bad := []struct{ sql, want string }{
		{`DROP TABLE curated_user_events`, "only a SELECT"},
		{`SELECT 1; DROP TABLE curated_user_events`, "one statement only"},
		{`SELECT * FROM information_schema.tables`, "only the lake's own tables, unqualified"},
		{`SELECT * FROM sluice_prod.curated_user_events`, "only the lake's own tables, unqualified"},
		{`SELECT * FROM secrets`, `unknown table "secrets"`},
		{`SELECT * FROM curated_user_events -- hi`, "comments are not allowed"},
		{`SELECT * FROM read_parquet('/etc/passwd')`, "only the lake's own tables"},
		{`SELECT * FROM quarantine_user_events`, "unknown table"},
		{`SELECT 1`, "reads no table"},
		{`SELECT * FROM curated_user_events WHERE x = 'unterminated`, "unterminated string literal"},
		{`WITH x AS (DELETE FROM curated_user_events) SELECT 1 FROM x`, `"DELETE" is not allowed`},
	}
	for _, tc := range bad {
		_, err := c.Compile(&query.Request{SQL: tc.sql})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.sql, err, tc.want)
		}
	}
	if _, err := c.Compile(&query.Request{SQL: "SELECT 1 FROM curated_user_events", Dataset: "user_events"}); err == nil {
		t.Error("sql with structured fields: no error")
	}
}

// Athena refuses an execution parameter over 1024 characters: the compiler must refuse the
// value first, as a request error (a 400), counting the literal's quotes as Athena receives it.
func TestParameterCap(t *testing.T) {
	c := compiler(t)
	where := func(op, v string) string {
		return `{"dataset":"user_events","where":[{"column":"page","op":"` + op + `","value":"` + v + `"}]}`
	}
	fits := "/" + strings.Repeat("a", query.MaxParamLen-3) // 1022 bytes: '…' is 1024
	q, err := compileJSON(t, c, where("=", fits))
	if err != nil {
		t.Fatalf("a value whose literal is exactly %d characters: %v", query.MaxParamLen, err)
	}
	if got := query.StringLiteralLen(q.Params[0].Value.(string)); got != query.MaxParamLen {
		t.Fatalf("literal length %d", got)
	}
	for name, body := range map[string]string{
		"one byte over":        where("=", fits+"b"),
		"quotes count twice":   where("=", "/"+strings.Repeat("'", 20)+strings.Repeat("a", query.MaxParamLen-30)),
		"like pattern":         where("like", fits+"%"),
		"user_events referrer": `{"dataset":"user_events","where":[{"column":"referrer","op":"in","values":["x","` + strings.Repeat("r", 2048) + `"]}]}`,
	} {
		_, err := compileJSON(t, c, body)
		var qe *query.Error
		if !errors.As(err, &qe) || !strings.Contains(err.Error(), "Athena caps each execution parameter at 1024") {
			t.Errorf("%s: got %v, want a *query.Error naming Athena's cap", name, err)
		}
	}
}
