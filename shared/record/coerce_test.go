package record_test

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/record/recordtest"
)

func TestReferenceProducerRecordIsValid(t *testing.T) {
	b := newBatch(t, "customers")
	if ds, rej := b.Add([]byte(recordtest.Reference), 0); rej != nil || ds != "customers" {
		t.Fatalf("the reference producer's record: %v (%s)", rej, ds)
	}
	tab := b.Tables()[0]
	phone, _ := tab.Contract.Field("phone")
	if got := string(tab.Row(0)[phone.Index].Str); got != "910322509" {
		t.Errorf("phone %q, want the integer's digits", got)
	}
	if got, want := tab.EventTime(0), time.Date(2022, 2, 2, 15, 17, 7, 618e6, time.UTC).UnixMilli(); got != want {
		t.Errorf("event_date %v, want %v (read in UTC, microseconds truncated to ms)", time.UnixMilli(got).UTC(), time.UnixMilli(want).UTC())
	}
}

// orders is a contract with every coercion and timestamps read in several zones.
const orders = `{"type":"record","name":"orders","sluice.eventTime":"ts","sluice.key":["id"],
 "sluice.timestampWithoutZone":"Europe/Berlin","fields":[
 {"name":"id","type":"string"},
 {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"utc","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null,"sluice.timestampWithoutZone":"UTC"},
 {"name":"strict","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null,"sluice.timestampWithoutZone":"reject"},
 {"name":"code","type":["null","string"],"default":null,"sluice.coerce":"number_to_string","sluice.rules":{"maxLength":12}},
 {"name":"qty","type":["null","int"],"default":null,"sluice.coerce":"string_to_number","sluice.rules":{"min":0}},
 {"name":"big","type":["null","long"],"default":null,"sluice.coerce":"string_to_number"},
 {"name":"price","type":["null","float"],"default":null,"sluice.coerce":"string_to_number"},
 {"name":"paid","type":["null","boolean"],"default":null,"sluice.coerce":"string_to_boolean"},
 {"name":"plain","type":["null","string"],"default":null},
 {"name":"count","type":["null","long"],"default":null}]}`

func ordersBatch(t testing.TB) *record.Batch {
	c, err := contract.Parse("orders.avsc", []byte(orders))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	return record.NewBatch(map[string]*contract.Contract{"orders": c}, record.Options{DefaultDataset: "orders", Now: func() time.Time { return now }})
}

// addOrder adds a record with the given members besides id and ts, and returns the row.
func addOrder(t *testing.T, members string) ([]record.Value, *contract.Contract, *record.Reject) {
	t.Helper()
	b := ordersBatch(t)
	rec := `{"id":"o1","ts":"2026-11-23T10:00:00Z"` + members + `}`
	if strings.Contains(members, `"ts"`) {
		rec = `{"id":"o1"` + members + `}`
	}
	if _, rej := b.Add([]byte(rec), 0); rej != nil {
		return nil, nil, rej
	}
	return b.Tables()[0].Row(0), b.Tables()[0].Contract, nil
}

func TestCoercions(t *testing.T) {
	accepted := []struct {
		members, field, str string
		n                   int64
		x                   float64
	}{
		{`,"code":910322509`, "code", "910322509", 0, 0},
		{`,"code":-0.50`, "code", "-0.50", 0, 0}, // the text as sent, trailing zero and all
		{`,"code":"A-1"`, "code", "A-1", 0, 0},   // a string stays a string
		{`,"qty":"42"`, "qty", "", 42, 0},
		{`,"qty":7`, "qty", "", 7, 0},
		{`,"big":"-9223372036854775808"`, "big", "", -9223372036854775808, 0},
		{`,"big":"\u0031\u0032"`, "big", "", 12, 0},
		{`,"price":"1.5e2"`, "price", "", 0, 150},
		{`,"paid":"true"`, "paid", "", 1, 0},
		{`,"paid":"false"`, "paid", "", 0, 0},
		{`,"paid":true`, "paid", "", 1, 0},
	}
	for _, tc := range accepted {
		row, c, rej := addOrder(t, tc.members)
		if rej != nil {
			t.Errorf("%s: rejected: %v", tc.members, rej)
			continue
		}
		f, _ := c.Field(tc.field)
		v := row[f.Index]
		if !v.Set || string(v.Str) != tc.str || v.Int != tc.n || v.Float != tc.x {
			t.Errorf("%s: got %+v (%q)", tc.members, v, v.Str)
		}
	}
	rejected := []struct {
		members string
		code    record.Code
	}{
		{`,"code":1e3`, record.CoerceNumberToString},
		{`,"code":2E-1`, record.CoerceNumberToString},
		{`,"code":1234567890123`, record.BadLength}, // rules apply to the coerced text
		{`,"code":true`, record.WrongType},          // only numbers are coerced
		{`,"qty":"forty-two"`, record.CoerceStringToNumber},
		{`,"qty":" 42"`, record.CoerceStringToNumber},
		{`,"qty":"+42"`, record.CoerceStringToNumber},
		{`,"qty":"042"`, record.CoerceStringToNumber},
		{`,"qty":"0x2a"`, record.CoerceStringToNumber},
		{`,"qty":""`, record.CoerceStringToNumber},
		{`,"qty":"NaN"`, record.CoerceStringToNumber},
		{`,"qty":"-Infinity"`, record.CoerceStringToNumber},
		{`,"qty":"4.5"`, record.NotInteger},
		{`,"qty":"3000000000"`, record.IntOverflow},
		{`,"qty":"-1"`, record.OutOfRange},
		{`,"big":"99999999999999999999"`, record.IntOverflow},
		{`,"price":"1e39"`, record.NonFinite},
		{`,"paid":"True"`, record.CoerceStringToBoolean},
		{`,"paid":"1"`, record.CoerceStringToBoolean},
		{`,"paid":1`, record.WrongType},
		{`,"plain":910322509`, record.WrongType}, // off by default
		{`,"count":"12"`, record.WrongType},
	}
	for _, tc := range rejected {
		_, _, rej := addOrder(t, tc.members)
		if rej == nil || rej.Code != tc.code || rej.Field == "" {
			t.Errorf("%s: got %v, want %s on its field", tc.members, rej, tc.code)
		}
	}
}

func TestTimestampsWithoutZone(t *testing.T) {
	cases := []struct {
		members string
		field   string
		want    time.Time
	}{
		{`,"ts":"2026-07-01T12:00:00"`, "ts", time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)},                 // CEST, +2
		{`,"ts":"2026-01-15 12:00:00.5"`, "ts", time.Date(2026, 1, 15, 11, 0, 0, 500e6, time.UTC)},          // CET, +1
		{`,"ts":"2026-07-01T12:00:00+05:00"`, "ts", time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)},            // a zone in the text wins
		{`,"ts":"2026-10-25T02:30:00"`, "ts", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)},               // repeated hour: the earlier
		{`,"ts":"2026-10-25T03:30:00"`, "ts", time.Date(2026, 10, 25, 2, 30, 0, 0, time.UTC)},               // just after the overlap
		{`,"utc":"2022-02-02T15:17:07.618098"`, "utc", time.Date(2022, 2, 2, 15, 17, 7, 618e6, time.UTC)},   // microseconds truncated to ms
		{`,"utc":"2022-02-02T15:17:07.6189999"`, "utc", time.Date(2022, 2, 2, 15, 17, 7, 618e6, time.UTC)},  // floor, not rounding
		{`,"utc":"1969-12-31T23:59:59.9999Z"`, "utc", time.Date(1969, 12, 31, 23, 59, 59, 999e6, time.UTC)}, // floor before the epoch too
		{`,"utc":"2022-02-02T15:17:07.123456789"`, "utc", time.Date(2022, 2, 2, 15, 17, 7, 123e6, time.UTC)},
	}
	for _, tc := range cases {
		row, c, rej := addOrder(t, tc.members)
		if rej != nil {
			t.Errorf("%s: rejected: %v", tc.members, rej)
			continue
		}
		f, _ := c.Field(tc.field)
		if got := time.UnixMilli(row[f.Index].Int).UTC(); !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.members, got, tc.want)
		}
	}
	rejected := []struct {
		members string
		code    record.Code
	}{
		{`,"ts":"2026-03-29T02:30:00"`, record.BadTimestamp}, // Berlin skips 02:00-03:00 that night
		{`,"strict":"2026-07-01T12:00:00"`, record.NoZone},
		{`,"utc":"2022-02-02T15:17:07.6180981234"`, record.BadTimestamp}, // ten digits
		{`,"utc":"2022-02-02T15:17:07."`, record.BadTimestamp},
		{`,"utc":"2022-02-02T15:17"`, record.BadTimestamp},
	}
	for _, tc := range rejected {
		_, _, rej := addOrder(t, tc.members)
		if rej == nil || rej.Code != tc.code {
			t.Errorf("%s: got %v, want %s", tc.members, rej, tc.code)
		}
	}
	_, _, rej := addOrder(t, `,"ts":"2026-03-29T02:30:00"`)
	if rej == nil || !strings.Contains(rej.Detail, "Europe/Berlin") {
		t.Errorf("a DST gap should name the zone: %v", rej)
	}
}

// TestEveryListedTimestampFormIsAccepted holds the decoder to contract.TimestampForms, the list
// Firehose's deserializer settings are generated from: every form listed parses to the instant
// time.Parse reads from the same text, and a naive form is refused where naive times are.
func TestEveryListedTimestampFormIsAccepted(t *testing.T) {
	for _, form := range contract.TimestampForms(true) {
		text := form.Example()
		want, err := time.Parse(form.Layout(), text)
		if err != nil {
			t.Fatal(err)
		}
		if form.Zone == contract.ZoneLowerZ {
			want = want.UTC() // Go has no layout for "z": it reads the literal and no zone
		}
		row, c, rej := addOrder(t, fmt.Sprintf(`,"utc":%q`, text))
		if rej != nil {
			t.Errorf("%+v %s: %v", form, text, rej)
			continue
		}
		f, _ := c.Field("utc")
		if got := row[f.Index].Int; got != want.UnixMilli() {
			t.Errorf("%s: %v, want %v", text, time.UnixMilli(got).UTC(), want.UTC())
		}
		_, _, rej = addOrder(t, fmt.Sprintf(`,"strict":%q`, text))
		if (rej == nil) == (form.Zone == contract.ZoneNone) {
			t.Errorf("strict field, %s: %v", text, rej)
		}
	}
}

// BenchmarkReferenceRecord: the reference producer's record (naive time read in UTC, integer
// phone coerced) beside the same record as sluice's own producer writes it (zone, string phone):
// the zone and the coercion should cost nothing measurable.
func BenchmarkReferenceRecord(b *testing.B) {
	forms := map[string]string{
		"naive+coerced": recordtest.Reference,
		"zoned+string":  strings.Replace(strings.Replace(recordtest.Reference, `.618098"`, `.618098Z"`, 1), `910322509`, `"910322509"`, 1),
		"naive-berlin":  strings.Replace(recordtest.Reference, `"uuid"`, `"_dataset": "orders_ref", "uuid"`, 1),
	}
	src, err := fs.ReadFile(events.Files, "customers.avsc")
	if err != nil {
		b.Fatal(err)
	}
	reg, err := events.Registry()
	if err != nil {
		b.Fatal(err)
	}
	berlin := strings.Replace(strings.Replace(string(src), `"name": "customers"`, `"name": "orders_ref"`, 1), `"sluice.timestampWithoutZone": "UTC"`, `"sluice.timestampWithoutZone": "Europe/Berlin"`, 1)
	c, err := contract.Parse("orders_ref.avsc", []byte(berlin))
	if err != nil {
		b.Fatal(err)
	}
	reg["orders_ref"] = c
	for _, name := range []string{"zoned+string", "naive+coerced", "naive-berlin"} {
		data := []byte(forms[name])
		b.Run(name, func(b *testing.B) {
			const n = 1000
			b.SetBytes(n * int64(len(data)))
			now := func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }
			for b.Loop() {
				batch := record.NewBatch(reg, record.Options{DefaultDataset: "customers", Now: now})
				batch.Reserve(n)
				for i := range n {
					if _, rej := batch.Add(data, i); rej != nil {
						b.Fatal(rej)
					}
				}
				batch.Release()
			}
		})
	}
}
