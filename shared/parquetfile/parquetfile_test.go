package parquetfile_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/record"
)

func TestRoundTripEveryKind(t *testing.T) {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	b := record.NewBatch(reg, record.Options{Now: func() time.Time { return time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC) }})
	recs := []string{
		`{"_dataset":"user_events","event_id":"00000000-0000-4000-8000-000000000002","user_id":"u_2","event_type":"click","timestamp":"2026-11-23T10:00:02Z","properties":{}}`,
		`{"_dataset":"user_events","event_id":"00000000-0000-4000-8000-000000000001","user_id":"u_1","event_type":"purchase","timestamp":"2026-11-23T10:00:01Z","amount":12.5,"quantity":2,"is_bot":true,"device":"tablet","properties":{"a":"1","b":"2"}}`,
	}
	for i, r := range recs {
		if _, rej := b.Add([]byte(r), i); rej != nil {
			t.Fatal(rej)
		}
	}
	tab := b.Tables()[0]
	var out bytes.Buffer
	if err := parquetfile.Write(&out, tab, []int{0, 1}, parquetfile.Options{Metadata: map[string]string{"sluice.contract": "user_events"}}); err != nil {
		t.Fatal(err)
	}
	rows, err := parquetfile.ReadBytes(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	first, second := rows[0], rows[1] // sorted by event time: record 1 first
	if first["event_id"] != "00000000-0000-4000-8000-000000000001" || first["event_type"] != "purchase" {
		t.Errorf("order or strings: %v", first)
	}
	if first["amount"] != 12.5 || first["quantity"] != int32(2) || first["is_bot"] != true || first["device"] != "tablet" {
		t.Errorf("numbers, bool, enum: %#v", first)
	}
	if ts := first["timestamp"]; ts != time.Date(2026, 11, 23, 10, 0, 1, 0, time.UTC).UnixMilli() {
		t.Errorf("timestamp %#v", first["timestamp"])
	}
	if m, ok := first["properties"].(map[string]any); !ok || len(m) != 2 || m["b"] != "2" {
		t.Errorf("properties %#v", first["properties"])
	}
	if second["amount"] != nil || second["device"] != nil {
		t.Errorf("nulls: %#v", second)
	}
	if m, _ := second["properties"].(map[string]any); len(m) != 0 {
		t.Errorf("empty map %#v", second["properties"])
	}
	f, err := parquetfile.Footer(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Lookup("sluice.contract"); v != "user_events" || f.NumRows() != 2 {
		t.Errorf("footer: %q %d", v, f.NumRows())
	}
	// Pruning needs min/max per column chunk and a column index per page.
	md := f.Metadata()
	for _, cc := range md.RowGroups[0].Columns {
		if len(cc.MetaData.PathInSchema) == 1 && cc.MetaData.PathInSchema[0] == "timestamp" {
			st := cc.MetaData.Statistics
			if len(st.MinValue) == 0 || len(st.MaxValue) == 0 {
				t.Errorf("timestamp column has no min/max statistics: %+v", st)
			}
		}
	}
	if ci := f.ColumnIndexes(); len(ci) == 0 {
		t.Error("no column index written")
	}
	// Same input, same bytes: retries overwrite objects with identical content.
	var again bytes.Buffer
	parquetfile.Write(&again, tab, []int{1, 0}, parquetfile.Options{Metadata: map[string]string{"sluice.contract": "user_events"}})
	if !bytes.Equal(out.Bytes(), again.Bytes()) {
		t.Error("output is not deterministic")
	}
}
