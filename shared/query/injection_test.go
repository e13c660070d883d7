package query_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/query"
)

// TestInjectionCorpus throws SQL injection attempts at every part of a request. Each is either
// rejected with a *query.Error, or neutralized: the SQL text is exactly what a harmless value
// would give, and the attempt travels verbatim as a parameter.
func TestInjectionCorpus(t *testing.T) {
	c := compiler(t)
	const baseline = `SELECT "event_id" FROM "curated_user_events" WHERE "page" = ? LIMIT 1000`
	neutralized := []string{ // values for page = ?
		`/'; DROP TABLE curated_user_events; --`,
		`/' OR '1'='1`,
		`/" OR "1"="1`,
		`/\' OR 1=1 --`,
		`/'); DELETE FROM curated_user_events; --`,
		`/' UNION SELECT email FROM curated_customers --`,
		"/\x00' OR 1=1",
		`/''; SELECT pg_sleep(10); --`,
		`/?`, // a placeholder inside a value must not shift parameters
		`/*/ OR 1=1 /*`,
	}
	for _, v := range neutralized {
		req := &query.Request{Dataset: "user_events", Columns: []string{"event_id"},
			Where: []query.Condition{{Column: "page", Op: "=", Value: jsonString(v)}}}
		q, err := c.Compile(req)
		if err != nil {
			t.Errorf("value %q: %v", v, err)
			continue
		}
		if q.SQL != baseline || len(q.Params) != 1 || q.Params[0].Value != v {
			t.Errorf("value %q not neutralized:\n sql %s\n params %#v", v, q.SQL, q.Params)
		}
	}

	rejected := []struct {
		name string
		req  query.Request
		want string
	}{
		{"column with quote", query.Request{Dataset: "user_events", Columns: []string{`page" FROM curated_customers --`}}, "has no column"},
		{"column as expression", query.Request{Dataset: "user_events", Columns: []string{"count(*)"}}, "has no column"},
		{"column subquery", query.Request{Dataset: "user_events", Columns: []string{"(SELECT email FROM curated_customers)"}}, "has no column"},
		{"condition column", query.Request{Dataset: "user_events", Where: []query.Condition{{Column: "1=1 OR page", Op: "=", Value: jsonString("x")}}}, "has no column"},
		{"operator", query.Request{Dataset: "user_events", Where: []query.Condition{{Column: "page", Op: "= '' OR 1=1 --", Value: jsonString("x")}}}, "unknown operator"},
		{"operator is null or", query.Request{Dataset: "user_events", Where: []query.Condition{{Column: "page", Op: "is null or 1=1"}}}, "unknown operator"},
		{"dataset", query.Request{Dataset: "user_events; DROP TABLE x"}, "unknown dataset"},
		{"dataset path", query.Request{Dataset: "../customers"}, "unknown dataset"},
		{"zone", query.Request{Dataset: "user_events", Zone: `curated"."secrets`}, "unknown zone"},
		{"group by", query.Request{Dataset: "user_events", GroupBy: []string{"event_type; DROP TABLE x"}}, "has no column"},
		{"aggregate function", query.Request{Dataset: "user_events", Aggregates: []query.Aggregate{{Func: "sum(amount)); DROP TABLE x; --"}}}, "unknown aggregate"},
		{"aggregate column", query.Request{Dataset: "user_events", Aggregates: []query.Aggregate{{Func: "max", Column: "amount) FROM curated_customers --"}}}, "has no column"},
		{"aggregate alias", query.Request{Dataset: "user_events", Aggregates: []query.Aggregate{{Func: "count", As: `n" FROM curated_customers --`}}}, "output name"},
		{"order by expression", query.Request{Dataset: "user_events", OrderBy: []query.Order{{Column: "amount; DROP TABLE x"}}}, "has no column"},
		{"order by case", query.Request{Dataset: "user_events", OrderBy: []query.Order{{Column: "CASE WHEN (SELECT 1)=1 THEN page END"}}}, "has no column"},
		{"order by position", query.Request{Dataset: "user_events", OrderBy: []query.Order{{Column: "1"}}}, "has no column"},
		{"limit negative", query.Request{Dataset: "user_events", Limit: -1}, "must be positive"},
		{"limit huge", query.Request{Dataset: "user_events", Limit: 1 << 40}, "at most"},
		{"number value carrying SQL", query.Request{Dataset: "user_events", Where: []query.Condition{{Column: "amount", Op: ">", Value: []byte(`"1 OR 1=1"`)}}}, "give a JSON number"},
		{"enum value not a symbol", query.Request{Dataset: "user_events", Where: []query.Condition{{Column: "event_type", Op: "=", Value: jsonString("click' OR '1'='1")}}}, "is not a value of event_type"},
		{"timestamp value carrying SQL", query.Request{Dataset: "user_events", Where: []query.Condition{{Column: "timestamp", Op: ">", Value: jsonString("2026-01-01' OR 1=1 --")}}}, "not RFC 3339"},
		{"dt carrying SQL", query.Request{Dataset: "user_events", DT: &query.DateRange{From: "2026-01-01' OR 1=1 --"}}, "not a date"},
		{"raw sql while disabled", query.Request{SQL: "SELECT * FROM curated_customers"}, "raw SQL is disabled"},
		{"raw sql stacked while disabled", query.Request{SQL: "SELECT 1; DROP TABLE curated_user_events"}, "raw SQL is disabled"},
		{"raw sql beside a dataset while disabled", query.Request{Dataset: "user_events", SQL: "DELETE FROM curated_user_events"}, "raw SQL is disabled"},
	}
	for _, tc := range rejected {
		q, err := c.Compile(&tc.req)
		var qe *query.Error
		if !errors.As(err, &qe) || !strings.Contains(err.Error(), tc.want) {
			sql := ""
			if q != nil {
				sql = q.SQL
			}
			t.Errorf("%s: got error %v (sql %q), want a *query.Error containing %q", tc.name, err, sql, tc.want)
		}
	}
	if n := len(neutralized) + len(rejected); n < 20 {
		t.Fatalf("corpus has %d attempts, want at least 20", n)
	}
}

// The limit arrives as JSON: a string in its place is refused before compilation.
func TestInjectionThroughLimitJSON(t *testing.T) {
	for _, body := range []string{
		`{"dataset":"user_events","limit":"10; DROP TABLE x"}`,
		`{"dataset":"user_events","limit":1e400}`,
		`{"dataset":"user_events","order_by":[{"column":"page","desc":"; DROP TABLE x"}]}`,
	} {
		_, err := query.Decode(strings.NewReader(body))
		var qe *query.Error
		if !errors.As(err, &qe) {
			t.Errorf("%s: got %v, want a *query.Error", body, err)
		}
	}
}

func jsonString(s string) []byte {
	b, err := jsonMarshal(s)
	if err != nil {
		panic(err)
	}
	return b
}
