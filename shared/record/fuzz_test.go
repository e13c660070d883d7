package record_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/record/recordtest"
)

// FuzzAdd: any bytes either become exactly one row or a Reject with a known code; a rejected
// record leaves nothing behind; an accepted one is valid JSON whose strings survived intact.
func FuzzAdd(f *testing.F) {
	f.Add([]byte(recordtest.Good))
	// The reference producer's forms: naive timestamps read in UTC, a number coerced to a string.
	f.Add([]byte(recordtest.Reference))
	f.Add([]byte(strings.Replace(recordtest.Reference, `"2022-02-02T15:17:07.618098"`, `"2022-02-02 15:17:07.123456789"`, 1)))
	f.Add([]byte(strings.Replace(recordtest.Reference, `910322509`, `-910.50`, 1)))
	f.Add([]byte(strings.Replace(recordtest.Reference, `910322509`, `9.1e8`, 1)))
	f.Add([]byte(strings.Replace(recordtest.Reference, `"2022-02-02T15:17:07.618098"`, `"2022-02-02T15:17:07.6180981234"`, 1)))
	for _, c := range recordtest.BadRecords(4 << 10) {
		if len(c.Data) < 4<<10 {
			f.Add(c.Data)
		}
	}
	reg, err := events.Registry()
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		b := record.NewBatch(reg, record.Options{DefaultDataset: "customers", MaxRecordBytes: 4 << 10, Now: func() time.Time { return now }})
		ds, rej := b.Add(data, 1)
		rows := 0
		for _, tab := range b.Tables() {
			rows += tab.Len()
		}
		if rej != nil {
			if rej.Code == "" || rej.Detail == "" {
				t.Fatalf("reject without code or detail: %#v", rej)
			}
			if rows != 0 {
				t.Fatalf("rejected record left %d rows", rows)
			}
			return
		}
		if rows != 1 || ds == "" {
			t.Fatalf("accepted record made %d rows (dataset %q)", rows, ds)
		}
		if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
			if !json.Valid(data) {
				t.Fatalf("accepted invalid JSON %q", data)
			}
		}
		tab := b.Tables()[0]
		row := tab.Row(0)
		for i, f := range tab.Contract.Fields {
			if !f.Nullable && !row[i].Set {
				t.Fatalf("required field %s not set", f.Name)
			}
		}
	})
}
