package query_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/query"
)

var jsonMarshal = json.Marshal

// A structured query, as POST /queries takes it, compiled to SQL: identifiers quoted and
// checked against the user_events contract, values as parameters.
func Example() {
	contracts, _ := events.Registry()
	c := &query.Compiler{Contracts: contracts}
	req, err := query.Decode(strings.NewReader(`{
		"dataset": "user_events",
		"dt": {"from": "2026-11-20", "to": "2026-11-23"},
		"where": [{"column": "event_type", "op": "in", "values": ["purchase", "add_to_cart"]},
		          {"column": "country", "op": "=", "value": "DE"}],
		"group_by": ["event_type"],
		"aggregates": [{"fn": "count", "as": "events"}, {"fn": "sum", "column": "amount", "as": "revenue"}],
		"order_by": [{"column": "revenue", "desc": true}],
		"limit": 10
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	q, err := c.Compile(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(q.SQL)
	for _, p := range q.Params {
		fmt.Printf("%s %v\n", p.Kind, p.Value)
	}
	// Output:
	// SELECT "event_type", count(*) AS "events", sum("amount") AS "revenue" FROM "curated_user_events" WHERE "dt" >= ? AND "dt" <= ? AND "event_type" IN (?, ?) AND "country" = ? GROUP BY "event_type" ORDER BY "revenue" DESC LIMIT 10
	// date 2026-11-20 00:00:00 +0000 UTC
	// date 2026-11-23 00:00:00 +0000 UTC
	// enum purchase
	// enum add_to_cart
	// string DE
}

// A request that names a column the contract does not have is refused with an error that says
// what is wrong and what the columns are: the query API answers it with a 400.
func Example_unknownColumn() {
	contracts, _ := events.Registry()
	c := &query.Compiler{Contracts: contracts}
	_, err := c.Compile(&query.Request{Dataset: "customers", Columns: []string{"emial"}})
	fmt.Println(err)
	// Output:
	// columns[0]: dataset customers has no column "emial": columns are uuid, event_date, status, name, last_name, email, phone, dt, hr
}
