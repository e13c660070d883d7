// Package querytest is the conformance suite of query engines: generated user_events data,
// structured queries over it, the SQL and Athena parameters each compiles to, and the rows each
// must return, computed independently in Go from the generated events.
//
// An engine that runs SQL (the embedded one) is checked on the rows; Athena, which no local
// stand-in executes, is checked on the exact SQL and parameters it receives.
package querytest

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/sluicelake/sluice/shared/query"
)

// Event is one generated user_events record, as the reference computations see it.
type Event struct {
	ID, User, Type string
	Time           time.Time
	Page           *string
	Amount         *float64
	Quantity       *int64
	Country        *string
	Device         *string
	IsBot          *bool
}

// Start is the first generated event time.
var Start = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

var types = []string{"page_view", "click", "search", "add_to_cart", "purchase", "signup", "logout"}

// Generate makes n events spread evenly over the given number of days from Start.
// The values cycle with different periods, so that every filter below selects a mix.
func Generate(n, days int) []Event {
	out := make([]Event, n)
	span := int64(days) * 24 * int64(time.Hour/time.Millisecond)
	for i := range out {
		e := &out[i]
		e.ID = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		e.User = fmt.Sprintf("u_%d", i%97)
		e.Type = types[i%len(types)]
		e.Time = Start.Add(time.Duration(int64(i)*span/int64(n)) * time.Millisecond)
		if i%5 != 0 {
			e.Page = ptr(fmt.Sprintf("/p/%d", i%13))
		}
		if e.Type == "purchase" {
			e.Amount = ptr(float64(i%1000) / 4) // quarters: sums are exact in binary
		}
		if i%3 != 0 {
			e.Quantity = ptr(int64(i % 10))
		}
		if c := []string{"DE", "FR", "US", ""}[i%4]; c != "" {
			e.Country = ptr(c)
		}
		if d := []string{"desktop", "mobile", "tablet", ""}[i%6%4]; d != "" {
			e.Device = ptr(d)
		}
		switch i % 11 {
		case 0:
			e.IsBot = ptr(true)
		case 1:
		default:
			e.IsBot = ptr(false)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// JSON is the event as a producer sends it.
func (e *Event) JSON() []byte {
	m := map[string]any{"_dataset": "user_events", "event_id": e.ID, "user_id": e.User, "event_type": e.Type,
		"timestamp": e.Time.Format(time.RFC3339Nano)}
	set := func(k string, v any, ok bool) {
		if ok {
			m[k] = v
		}
	}
	set("page", deref(e.Page), e.Page != nil)
	set("amount", deref(e.Amount), e.Amount != nil)
	set("quantity", deref(e.Quantity), e.Quantity != nil)
	set("country", deref(e.Country), e.Country != nil)
	set("device", deref(e.Device), e.Device != nil)
	set("is_bot", deref(e.IsBot), e.IsBot != nil)
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// Case is one conformance query.
type Case struct {
	Name string
	// Request is the structured query as JSON.
	Request string
	// SQL and Literals are what Athena must receive (QueryString, ExecutionParameters).
	SQL      string
	Literals []string
	// Want computes the expected rows from the generated events.
	Want func([]Event) [][]any
}

func ts(t time.Time) string { return t.UTC().Format(query.TimestampFormat) }

// Cases is the suite.
var Cases = []Case{
	{
		Name:     "count per event type in a date range",
		Request:  `{"dataset":"user_events","zone":"cleansed","dt":{"from":"2026-11-21","to":"2026-11-21"},"group_by":["event_type"],"aggregates":[{"fn":"count","as":"n"}],"order_by":[{"column":"event_type"}]}`,
		SQL:      `SELECT "event_type", count(*) AS "n" FROM "cleansed_user_events" WHERE "dt" >= ? AND "dt" <= ? GROUP BY "event_type" ORDER BY "event_type" ASC LIMIT 1000`,
		Literals: []string{"DATE '2026-11-21'", "DATE '2026-11-21'"},
		Want: func(es []Event) [][]any {
			return groupCount(es, func(e *Event) bool { return e.Time.Format(time.DateOnly) == "2026-11-21" },
				func(e *Event) any { return e.Type })
		},
	},
	{
		Name:     "filters, columns, order and limit",
		Request:  `{"dataset":"user_events","zone":"cleansed","columns":["event_id","amount","country"],"where":[{"column":"country","op":"=","value":"DE"},{"column":"amount","op":">=","value":100}],"order_by":[{"column":"amount","desc":true},{"column":"event_id"}],"limit":7}`,
		SQL:      `SELECT "event_id", "amount", "country" FROM "cleansed_user_events" WHERE "country" = ? AND "amount" >= ? ORDER BY "amount" DESC, "event_id" ASC LIMIT 7`,
		Literals: []string{"'DE'", "1E+02"},
		Want: func(es []Event) [][]any {
			var sel []*Event
			for i := range es {
				e := &es[i]
				if eq(e.Country, "DE") && e.Amount != nil && *e.Amount >= 100 {
					sel = append(sel, e)
				}
			}
			sort.Slice(sel, func(a, b int) bool {
				if *sel[a].Amount != *sel[b].Amount {
					return *sel[a].Amount > *sel[b].Amount
				}
				return sel[a].ID < sel[b].ID
			})
			var rows [][]any
			for _, e := range sel[:min(7, len(sel))] {
				rows = append(rows, []any{e.ID, *e.Amount, "DE"})
			}
			return rows
		},
	},
	{
		Name:     "in and between, ungrouped aggregates",
		Request:  `{"dataset":"user_events","zone":"cleansed","where":[{"column":"country","op":"in","values":["FR","US"]},{"column":"quantity","op":"between","values":[2,4]}],"aggregates":[{"fn":"count"},{"fn":"sum","column":"quantity","as":"items"},{"fn":"min","column":"quantity","as":"least"}]}`,
		SQL:      `SELECT count(*) AS "count", sum("quantity") AS "items", min("quantity") AS "least" FROM "cleansed_user_events" WHERE "country" IN (?, ?) AND "quantity" BETWEEN ? AND ? LIMIT 1000`,
		Literals: []string{"'FR'", "'US'", "2", "4"},
		Want: func(es []Event) [][]any {
			var n, items int64
			least := int64(math.MaxInt64)
			for i := range es {
				e := &es[i]
				if (eq(e.Country, "FR") || eq(e.Country, "US")) && e.Quantity != nil && *e.Quantity >= 2 && *e.Quantity <= 4 {
					n++
					items += *e.Quantity
					least = min(least, *e.Quantity)
				}
			}
			return [][]any{{n, items, least}}
		},
	},
	{
		Name:     "like and is not null",
		Request:  `{"dataset":"user_events","zone":"cleansed","where":[{"column":"page","op":"like","value":"/p/1%"},{"column":"device","op":"is not null"}],"aggregates":[{"fn":"count","as":"n"}]}`,
		SQL:      `SELECT count(*) AS "n" FROM "cleansed_user_events" WHERE "page" LIKE ? AND "device" IS NOT NULL LIMIT 1000`,
		Literals: []string{"'/p/1%'"},
		Want: func(es []Event) [][]any {
			var n int64
			for i := range es {
				e := &es[i]
				if e.Page != nil && len(*e.Page) >= 4 && (*e.Page)[:4] == "/p/1" && e.Device != nil {
					n++
				}
			}
			return [][]any{{n}}
		},
	},
	{
		Name:     "is null and not equal",
		Request:  `{"dataset":"user_events","zone":"cleansed","where":[{"column":"country","op":"is null"},{"column":"event_type","op":"!=","value":"click"}],"group_by":["is_bot"],"aggregates":[{"fn":"count","as":"n"}],"order_by":[{"column":"is_bot"}]}`,
		SQL:      `SELECT "is_bot", count(*) AS "n" FROM "cleansed_user_events" WHERE "country" IS NULL AND "event_type" <> ? GROUP BY "is_bot" ORDER BY "is_bot" ASC LIMIT 1000`,
		Literals: []string{"'click'"},
		Want: func(es []Event) [][]any {
			return groupCount(es, func(e *Event) bool { return e.Country == nil && e.Type != "click" },
				func(e *Event) any { return deref(e.IsBot) })
		},
	},
	{
		Name:     "partition columns grouped over an hour range",
		Request:  `{"dataset":"user_events","zone":"cleansed","dt":{"from":"2026-11-20"},"hr":{"from":22,"to":23},"group_by":["dt","hr"],"aggregates":[{"fn":"count","as":"n"}],"order_by":[{"column":"dt"},{"column":"hr"}]}`,
		SQL:      `SELECT "dt", "hr", count(*) AS "n" FROM "cleansed_user_events" WHERE "dt" >= ? AND "hr" >= ? AND "hr" <= ? GROUP BY "dt", "hr" ORDER BY "dt" ASC, "hr" ASC LIMIT 1000`,
		Literals: []string{"DATE '2026-11-20'", "22", "23"},
		Want: func(es []Event) [][]any {
			type key struct {
				dt string
				hr int64
			}
			counts := map[key]int64{}
			for i := range es {
				t := es[i].Time
				if t.Hour() >= 22 {
					counts[key{t.Format(time.DateOnly), int64(t.Hour())}]++
				}
			}
			var rows [][]any
			for k, n := range counts {
				rows = append(rows, []any{k.dt, k.hr, n})
			}
			sort.Slice(rows, func(a, b int) bool {
				if rows[a][0] != rows[b][0] {
					return rows[a][0].(string) < rows[b][0].(string)
				}
				return rows[a][1].(int64) < rows[b][1].(int64)
			})
			return rows
		},
	},
	{
		Name:     "timestamp bound, min, max and avg",
		Request:  `{"dataset":"user_events","zone":"cleansed","where":[{"column":"timestamp","op":"<","value":"2026-11-20T06:30:00+01:00"},{"column":"is_bot","op":"=","value":false}],"aggregates":[{"fn":"count","as":"n"},{"fn":"min","column":"timestamp","as":"first"},{"fn":"max","column":"timestamp","as":"last"},{"fn":"avg","column":"quantity","as":"q"}]}`,
		SQL:      `SELECT count(*) AS "n", min("timestamp") AS "first", max("timestamp") AS "last", avg("quantity") AS "q" FROM "cleansed_user_events" WHERE "timestamp" < ? AND "is_bot" = ? LIMIT 1000`,
		Literals: []string{"TIMESTAMP '2026-11-20 05:30:00.000'", "false"},
		Want: func(es []Event) [][]any {
			bound := time.Date(2026, 11, 20, 5, 30, 0, 0, time.UTC)
			var n, qn, qsum int64
			var first, last time.Time
			for i := range es {
				e := &es[i]
				if e.Time.Before(bound) && e.IsBot != nil && !*e.IsBot {
					if n == 0 || e.Time.Before(first) {
						first = e.Time
					}
					if n == 0 || e.Time.After(last) {
						last = e.Time
					}
					n++
					if e.Quantity != nil {
						qn++
						qsum += *e.Quantity
					}
				}
			}
			return [][]any{{n, ts(first), ts(last), float64(qsum) / float64(qn)}}
		},
	},
	{
		Name:     "sum and avg of a double grouped on an enum with nulls",
		Request:  `{"dataset":"user_events","zone":"cleansed","where":[{"column":"event_type","op":"=","value":"purchase"}],"group_by":["device"],"aggregates":[{"fn":"sum","column":"amount","as":"revenue"},{"fn":"max","column":"amount","as":"top"}],"order_by":[{"column":"device","desc":true}]}`,
		SQL:      `SELECT "device", sum("amount") AS "revenue", max("amount") AS "top" FROM "cleansed_user_events" WHERE "event_type" = ? GROUP BY "device" ORDER BY "device" DESC LIMIT 1000`,
		Literals: []string{"'purchase'"},
		Want: func(es []Event) [][]any {
			sums, tops := map[any]float64{}, map[any]float64{}
			for i := range es {
				e := &es[i]
				if e.Type == "purchase" {
					k := deref(e.Device)
					sums[k] += *e.Amount
					tops[k] = max(tops[k], *e.Amount)
				}
			}
			var rows [][]any
			for k, s := range sums {
				rows = append(rows, []any{k, s, tops[k]})
			}
			// DESC puts NULL last in both Trino and DuckDB.
			sort.Slice(rows, func(a, b int) bool {
				x, y := rows[a][0], rows[b][0]
				if x == nil || y == nil {
					return y == nil && x != nil
				}
				return x.(string) > y.(string)
			})
			return rows
		},
	},
}

func eq(p *string, s string) bool { return p != nil && *p == s }

// groupCount counts the events that pass keep, per key, ordered by key ascending, NULL last.
func groupCount(es []Event, keep func(*Event) bool, key func(*Event) any) [][]any {
	counts := map[any]int64{}
	for i := range es {
		if keep(&es[i]) {
			counts[key(&es[i])]++
		}
	}
	var rows [][]any
	for k, n := range counts {
		rows = append(rows, []any{k, n})
	}
	sort.Slice(rows, func(a, b int) bool {
		x, y := rows[a][0], rows[b][0]
		if x == nil || y == nil {
			return y == nil && x != nil
		}
		switch x := x.(type) {
		case bool:
			return !x && y.(bool)
		case string:
			return x < y.(string)
		}
		return false
	})
	return rows
}

// EqualRows compares result rows, floats to a relative 1e-9 (engines sum in different orders).
// It returns "" when they are equal, else a description of the first difference.
func EqualRows(got, want [][]any) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d rows, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range got {
		if len(got[i]) != len(want[i]) {
			return fmt.Sprintf("row %d has %d values, want %d: got %v want %v", i, len(got[i]), len(want[i]), got[i], want[i])
		}
		for j := range got[i] {
			g, w := got[i][j], want[i][j]
			if gf, ok := g.(float64); ok {
				if wf, ok := w.(float64); ok && math.Abs(gf-wf) <= 1e-9*math.Max(1, math.Abs(wf)) {
					continue
				}
			}
			if g != w {
				return fmt.Sprintf("row %d column %d: got %#v (%T), want %#v (%T)\n got row %v\nwant row %v", i, j, g, g, w, w, got[i], want[i])
			}
		}
	}
	return ""
}
