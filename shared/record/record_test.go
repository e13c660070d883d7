package record_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/record/recordtest"
)

func newBatch(t testing.TB, def string) *record.Batch {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	return record.NewBatch(reg, record.Options{DefaultDataset: def, MaxRecordBytes: 64 << 10, Now: func() time.Time { return now }})
}

func TestGoodRecordDecodesEveryType(t *testing.T) {
	b := newBatch(t, "")
	rec := `{"_dataset":"user_events","event_id":"6f1c2b7e-3f0a-4c2e-9d1b-0a8e5c4d3b2a","user_id":"u_42",
	 "session_id":"s\u00e9\n1","event_type":"purchase","timestamp":"2026-11-23T11:15:04.5+01:00","page":"/cart",
	 "amount":19.99,"currency":"EUR","quantity":3,"device":"mobile","is_bot":false,"ip_address":null,
	 "properties":{"campaign":"winter","k\"q":"v\\w"}}`
	if ds, rej := b.Add(recordtest.Gzip([]byte(rec)), 7); rej != nil || ds != "user_events" {
		t.Fatalf("rejected: %v (%s)", rej, ds)
	}
	tab := b.Tables()[0]
	if tab.Len() != 1 || tab.Tag(0) != 7 {
		t.Fatalf("len %d tag %d", tab.Len(), tab.Tag(0))
	}
	c := tab.Contract
	row := tab.Row(0)
	get := func(name string) record.Value { f, _ := c.Field(name); return row[f.Index] }
	if got := string(get("session_id").Str); got != "sé\n1" {
		t.Errorf("session_id %q", got)
	}
	if got := get("timestamp").Int; got != time.Date(2026, 11, 23, 10, 15, 4, 500e6, time.UTC).UnixMilli() {
		t.Errorf("timestamp %d", got)
	}
	if v := get("amount"); !v.Set || v.Float != 19.99 {
		t.Errorf("amount %+v", v)
	}
	if v := get("quantity"); v.Int != 3 {
		t.Errorf("quantity %+v", v)
	}
	if v := get("event_type"); v.Int != 4 || string(v.Str) != "purchase" {
		t.Errorf("event_type %+v", v)
	}
	if v := get("is_bot"); !v.Set || v.Int != 0 {
		t.Errorf("is_bot %+v", v)
	}
	if v := get("ip_address"); v.Set {
		t.Errorf("ip_address should be null: %+v", v)
	}
	if v := get("referrer"); v.Set {
		t.Errorf("absent optional should be null: %+v", v)
	}
	p := get("properties")
	pairs := tab.Pairs[p.MapStart:p.MapEnd]
	if len(pairs) != 2 || string(pairs[1].Key) != `k"q` || string(pairs[1].Value) != `v\w` {
		t.Errorf("properties %q", pairs)
	}
	if tab.EventTime(0) != get("timestamp").Int {
		t.Error("EventTime")
	}
}

func TestDefaultDataset(t *testing.T) {
	b := newBatch(t, "customers")
	rec := `{"uuid":"0b6f7c1e-9c55-4d8e-8f0e-2f1d1c7a9b10","event_date":"2026-11-23T09:00:00Z","status":"Active","name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+44 20 7946 0958"}`
	if ds, rej := b.Add([]byte(rec), 0); rej != nil || ds != "customers" {
		t.Fatalf("%v %s", rej, ds)
	}
	if _, rej := newBatch(t, "").Add([]byte(rec), 0); rej == nil || rej.Code != record.NoDataset {
		t.Fatalf("without a default: %v", rej)
	}
}

func TestBadRecordsGetTheirReason(t *testing.T) {
	cases := recordtest.BadRecords(64 << 10)
	if len(cases) < 25 {
		t.Fatalf("only %d kinds of bad record", len(cases))
	}
	b := newBatch(t, "")
	codes := map[record.Code]bool{}
	for i, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			_, rej := b.Add(tc.Data, i)
			if rej == nil {
				t.Fatalf("accepted")
			}
			if rej.Code != tc.Code || (tc.Field != "" && rej.Field != tc.Field) {
				t.Fatalf("got %v, want %s on %q", rej, tc.Code, tc.Field)
			}
			codes[rej.Code] = true
		})
	}
	for _, tab := range b.Tables() {
		if tab.Len() != 0 {
			t.Errorf("%s: a rejected record left %d rows behind", tab.Contract.Name, tab.Len())
		}
	}
	if len(codes) < 25 {
		t.Errorf("only %d distinct reasons", len(codes))
	}
	if _, rej := b.Add([]byte(recordtest.Good), 99); rej != nil || b.Tables()[0].Len() != 1 || b.Tables()[0].Tag(0) != 99 {
		t.Fatalf("good record after bad ones: %v", rej)
	}
}

func ExampleBatch() {
	reg, _ := events.Registry()
	b := record.NewBatch(reg, record.Options{DefaultDataset: "user_events"})
	_, rej := b.Add([]byte(`{"event_id":"6f1c2b7e-3f0a-4c2e-9d1b-0a8e5c4d3b2a","user_id":"u_1","event_type":"click","timestamp":"2026-11-23T10:00:00"}`), 0)
	fmt.Println(rej)
	// Output: timestamp_without_zone: field "timestamp": "2026-11-23T10:00:00" has no zone: add Z or an offset such as +01:00
}

func TestAddFromRoutesByStream(t *testing.T) {
	customer := `"uuid":"0b6f7c1e-9c55-4d8e-8f0e-2f1d1c7a9b10","event_date":"2026-11-23T09:00:00Z","status":"Active","name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+44 20 7946 0958"}`
	b := newBatch(t, "user_events") // the shared stream's default must not win on a dataset's stream
	if ds, rej := b.AddFrom("customers", []byte("{"+customer), 0); rej != nil || ds != "customers" {
		t.Fatalf("no _dataset on the customers stream: %v %q", rej, ds)
	}
	if ds, rej := b.AddFrom("customers", []byte(`{"_dataset":"customers",`+customer), 1); rej != nil || ds != "customers" {
		t.Fatalf("_dataset naming the stream's own dataset: %v %q", rej, ds)
	}
	ds, rej := b.AddFrom("customers", []byte(`{"_dataset":"user_events",`+customer), 2)
	if rej == nil || rej.Code != record.WrongStream || rej.Field != record.DatasetField || ds != "customers" {
		t.Fatalf("_dataset naming another dataset: %v %q, want %s on %s for customers", rej, ds, record.WrongStream, record.DatasetField)
	}
	// A dataset without a contract is reported as such wherever it arrives (as the producer's
	// own tally names it).
	if _, rej := b.AddFrom("customers", []byte(`{"_dataset":"nope",`+customer), 4); rej == nil || rej.Code != record.UnknownDataset {
		t.Fatalf("_dataset naming no contract on the customers stream: %v", rej)
	}
	if _, rej := b.AddFrom("", []byte("{"+customer), 3); rej == nil || rej.Code != record.UnknownField {
		t.Fatalf("the shared stream reads a record without _dataset as the default (user_events): %v", rej)
	}
	if n := b.Tables()[0].Len(); n != 2 {
		t.Fatalf("%d customers rows, want 2", n)
	}
}
