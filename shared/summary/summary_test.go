package summary_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/access"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/summary"
)

// orders is a contract that joins customers: its customer_id is a customer's uuid.
const orders = `{"type": "record", "name": "orders", "sluice.eventTime": "ordered_at", "sluice.key": ["order_id"],
 "fields": [
  {"name": "order_id", "type": "string"},
  {"name": "customer_id", "type": "string"},
  {"name": "ordered_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
  {"name": "total", "type": ["null", "double"], "default": null},
  {"name": "note", "type": ["null", "string"], "default": null, "sluice.pii": "drop"}
 ]}`

func registry(t *testing.T) map[string]*contract.Contract {
	t.Helper()
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	c, err := contract.Parse("orders.avsc", []byte(orders))
	if err != nil {
		t.Fatal(err)
	}
	reg["orders"] = c
	return reg
}

const byStatus = `{"name": "revenue_by_status", "doc": "Order totals by the customer's status.", "grain": "day",
 "query": {"dataset": "orders", "where": [{"column": "total", "op": ">", "value": 0}], "group_by": ["status"],
  "aggregates": [{"fn": "sum", "column": "total", "as": "revenue"}, {"fn": "count", "as": "orders"}],
  "joins": [{"dataset": "customers", "on": [{"column": "customer_id", "to": "uuid"}], "columns": ["status"]}]},
 "columns": [{"name": "dt", "doc": "day"}, {"name": "status", "doc": "the customer's status"},
  {"name": "revenue", "doc": "sum of totals"}, {"name": "orders", "doc": "orders"}]}`

func TestShippedSummariesLoad(t *testing.T) {
	sums, err := summary.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*summary.Summary{}
	for _, s := range sums {
		got[s.Name] = s
	}
	rev := got["daily_revenue"]
	if rev == nil || got["customers_by_status"] == nil || len(sums) != 2 {
		t.Fatalf("loaded %d summaries: %v", len(sums), got)
	}
	want := map[string]string{"dt": "date", "country": "string", "event_type": "enum", "events": "long", "orders": "long", "revenue": "double", "items": "long", "largest_order": "double"}
	for name, kind := range want {
		f, ok := rev.Contract.Field(name)
		if !ok || f.Kind.String() != kind {
			t.Errorf("daily_revenue.%s: %+v, want a %s", name, f, kind)
		}
	}
	if f, _ := rev.Contract.Field("events"); f.Nullable {
		t.Error("a count is never null")
	}
	if f, _ := got["customers_by_status"].Contract.Field("last_change"); f.Kind != contract.Timestamp {
		t.Errorf("max of a timestamp is a timestamp, got %v", f.Kind)
	}
	src := rev.Lineage["revenue"]
	if len(src) == 0 || src[0].Field != "amount" || src[0].Subtype != "AGGREGATION" || src[0].Description != "sum(amount)" {
		t.Errorf("revenue's lineage: %+v", src)
	}
}

func TestJoinedSummaryCompiles(t *testing.T) {
	reg := registry(t)
	s, err := summary.Parse("revenue_by_status.json", []byte(byStatus), reg)
	if err != nil {
		t.Fatal(err)
	}
	q, err := s.Compile(&query.Compiler{Contracts: reg}, []string{"2026-11-23", "2026-11-25"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`FROM (SELECT "t".*, "j1"."status" AS "status" FROM "curated_orders" AS "t" LEFT JOIN "curated_customers" AS "j1" ON "t"."customer_id" = "j1"."uuid") AS "curated_orders"`,
		`"dt" IN (?, ?)`, `GROUP BY "dt", "status"`, `sum("total") AS "revenue"`,
	} {
		if !strings.Contains(q.SQL, want) {
			t.Errorf("SQL lacks %s:\n%s", want, q.SQL)
		}
	}
	if strings.Contains(q.SQL, "LIMIT") {
		t.Errorf("a refresh needs every row: %s", q.SQL)
	}
	if len(q.Tables) != 2 || q.Tables[1] != "curated_customers" {
		t.Errorf("tables %v", q.Tables)
	}
	if f, _ := s.Contract.Field("status"); !f.Nullable || f.Kind != contract.Enum {
		t.Errorf("a joined column is nullable (a left join) and keeps its type: %+v", f)
	}
	src := s.Lineage["status"]
	if src[0].Dataset != "customers" || src[0].Subtype != "IDENTITY" {
		t.Errorf("status comes from customers: %+v", src)
	}
	var join bool
	for _, x := range src {
		join = join || (x.Subtype == "JOIN" && x.Field == "uuid" && strings.Contains(x.Description, "left join customers on orders.customer_id = customers.uuid"))
	}
	if !join {
		t.Errorf("the join is not in status's lineage: %+v", src)
	}
}

func TestBadDefinitionsFailWithFileFieldAndProblem(t *testing.T) {
	reg := registry(t)
	cases := []struct {
		name, from, to, field, problem string
	}{
		{"unknown group column", `"group_by": ["status"]`, `"group_by": ["colour"]`, "query.group_by[0]", `dataset orders has no column "colour"`},
		{"sum of text", `{"fn": "sum", "column": "total", "as": "revenue"}`, `{"fn": "sum", "column": "customer_id", "as": "revenue"}`, "query.aggregates[0].column", `sum needs a numeric column; "customer_id" is string`},
		{"value of the wrong type", `"value": 0`, `"value": "lots"`, "query.where[0].value", "total is double: give a JSON number"},
		{"join without columns to match", `"on": [{"column": "customer_id", "to": "uuid"}]`, `"on": []`, "query.joins[0].on", "a join needs its columns"},
		{"join on a column not declared", `"to": "uuid"`, `"to": "customer_uuid"`, "query.joins[0].on[0].to", `dataset customers has no column "customer_uuid"`},
		{"join on a column of another type", `"column": "customer_id", "to": "uuid"`, `"column": "ordered_at", "to": "uuid"`, "query.joins[0].on[0]", "must have the same type"},
		{"join off the key", `"to": "uuid"`, `"to": "name"`, "query.joins[0].on", "must match customers's whole key (uuid)"},
		{"joined column unknown", `"columns": ["status"]`, `"columns": ["state"]`, "query.joins[0].columns[0]", `dataset customers has no column "state"`},
		{"joined column dropped in curated", `"columns": ["status"]}]`, `"columns": ["status", "phone"]}]`, "query.joins[0].columns[1]", "drops it there"},
		{"primary column dropped in curated", `"group_by": ["status"]`, `"group_by": ["note"]`, "query.group_by[0]", "drops it there"},
		{"dt grouped by hand", `"group_by": ["status"]`, `"group_by": ["dt", "status"]`, "query.group_by[0]", "the grain adds"},
		{"declared columns differ", `{"name": "revenue", "doc": "sum of totals"}`, `{"name": "turnover", "doc": "sum of totals"}`, "columns[2]", `"turnover" declared where the query outputs "revenue"`},
		{"declared column missing", `, {"name": "orders", "doc": "orders"}`, ``, "columns[3]", `missing: the query also outputs "orders"`},
		{"column without doc", `"doc": "the customer's status"`, `"doc": " "`, "columns[1].doc", "say what"},
		{"unknown grain", `"grain": "day"`, `"grain": "hourly"`, "grain", `"hourly" is not a grain`},
		{"misspelt key", `"group_by"`, `"groupby"`, "", `unknown field "groupby"`},
		{"name of a dataset", `"name": "revenue_by_status"`, `"name": "customers"`, "name", "already a dataset"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			def := strings.Replace(byStatus, c.from, c.to, 1)
			if def == byStatus {
				t.Fatalf("the case changes nothing: %s not in the definition", c.from)
			}
			_, err := summary.Parse("events/summaries/bad.json", []byte(def), reg)
			var se *summary.Error
			if !errors.As(err, &se) {
				t.Fatalf("want a *summary.Error, got %v", err)
			}
			if se.File != "events/summaries/bad.json" || se.Field != c.field || !strings.Contains(se.Problem, c.problem) {
				t.Errorf("got %q\nwant field %q and a problem containing %q", err, c.field, c.problem)
			}
		})
	}
}

func TestSummaryIsADatasetOfTheConsumptionZone(t *testing.T) {
	reg := registry(t)
	sums, err := summary.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	c := &query.Compiler{Contracts: reg, Summaries: map[string]*contract.Contract{}}
	for _, s := range sums {
		c.Summaries[s.Name] = s.Contract
	}
	q, err := c.Compile(&query.Request{Dataset: "daily_revenue", DT: &query.DateRange{From: "2026-11-23"}})
	if err != nil {
		t.Fatal(err)
	}
	if q.Zone != "consumption" || q.Tables[0] != "consumption_daily_revenue" || !strings.Contains(q.SQL, `SELECT "dt", "country", "event_type", "events"`) {
		t.Errorf("zone %s tables %v SQL %s", q.Zone, q.Tables, q.SQL)
	}
	// Readable without any grant, like curated: a caller the access files name nowhere.
	if c.Access, err = events.Access(); err != nil {
		t.Fatal(err)
	}
	nobody := access.Caller{ARN: "arn:aws:iam::123456789012:role/nobody"}
	if _, err := c.CompileAs(nobody, &query.Request{Dataset: "daily_revenue"}); err != nil {
		t.Errorf("a caller without grants: %v", err)
	}
	if _, err := c.CompileAs(nobody, &query.Request{Dataset: "user_events", Zone: "cleansed"}); err == nil {
		t.Error("the same caller reads cleansed: the check above proves nothing")
	}
	for _, bad := range []*query.Request{
		{Dataset: "daily_revenue", Zone: "curated"},
		{Dataset: "daily_revenue", HR: &query.HourRange{}},
		{Dataset: "daily_revenue", Columns: []string{"amount"}},
		{Dataset: "user_events", Zone: "consumption"},
	} {
		if _, err := c.Compile(bad); err == nil {
			t.Errorf("%+v compiled", bad)
		}
	}
}
