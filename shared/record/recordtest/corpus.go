// Package recordtest holds the corpus of bad records that every path into the lake must
// quarantine with a specific reason, and the helpers tests use to encode records as files.
// Unit tests, integration tests and fuzz seeds share it.
package recordtest

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/record"
)

// Case is one kind of bad record and the reason it must get.
type Case struct {
	Name  string
	Data  []byte
	Code  record.Code
	Field string // the field the reason must name, "" for the record as a whole
}

// Reference is a customers record exactly as the reference producer (seed-producer.py) writes
// it: no _dataset, event_date from Python's datetime.now().isoformat() (no zone, microseconds),
// phone a JSON integer. The customers contract takes it.
const Reference = `{"uuid": "c4885146-33f7-481d-8cc6-e894b6f33d7f", "event_date": "2022-02-02T15:17:07.618098", "status": "Inactive", "name": "Alicia", "last_name": "Olson", "email": "rwright@example.net", "phone": 910322509}`

// Good is a valid user_events record; the corpus is made of variations of it.
const Good = `{"_dataset":"user_events","event_id":"6f1c2b7e-3f0a-4c2e-9d1b-0a8e5c4d3b2a","user_id":"u_42","event_type":"purchase","timestamp":"2026-11-23T10:15:04.123Z","amount":19.99,"currency":"EUR","properties":{"campaign":"winter"}}`

func with(old, new string) []byte { return []byte(strings.Replace(Good, old, new, 1)) }

// Gzip compresses b.
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// BadRecords returns the corpus; maxBytes is the size limit the consumer enforces.
func BadRecords(maxBytes int) []Case {
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	bomb := Gzip([]byte(`{"_dataset":"user_events","page":"/` + strings.Repeat("a", maxBytes) + `"}`))
	return []Case{
		{"zero bytes", []byte{}, record.Empty, ""},
		{"white space only", []byte(" \n\t "), record.Empty, ""},
		{"malformed json", []byte(`{"_dataset":"user_events","event_id":`), record.Malformed, ""},
		{"not json at all", []byte("hello world"), record.Malformed, ""},
		{"array instead of object", []byte(`[1,2,3]`), record.NotObject, ""},
		{"trailing data", append([]byte(Good), []byte(` {"x":1}`)...), record.TrailingData, ""},
		{"invalid utf-8 in a value", with(`"u_42"`, "\"u_4\xff\""), record.InvalidUTF8, "user_id"},
		{"lone surrogate escape", with(`"currency":"EUR"`, `"currency":"\ud800"`), record.InvalidUTF8, "currency"},
		{"control character in string", with(`"EUR"`, "\"E\x01R\""), record.Malformed, ""},
		{"oversized record", with(`"winter"`, `"`+strings.Repeat("w", maxBytes)+`"`), record.TooLarge, ""},
		{"invalid gzip", []byte{0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02}, record.BadGzip, ""},
		{"gzip bomb", bomb, record.TooLarge, ""},
		{"NaN", with(`19.99`, `NaN`), record.NonFinite, "amount"},
		{"Infinity", with(`19.99`, `-Infinity`), record.NonFinite, "amount"},
		{"number overflowing a double", with(`19.99`, `1e999`), record.NonFinite, "amount"},
		{"very deep nesting", with(`{"campaign":"winter"}`, deep), record.TooDeep, "properties"},
		{"duplicate keys", with(`"currency":"EUR"`, `"currency":"EUR","currency":"USD"`), record.DuplicateKey, "currency"},
		{"duplicate map keys", with(`{"campaign":"winter"}`, `{"a":"1","a":"2"}`), record.DuplicateKey, "properties"},
		{"unknown dataset", with(`"_dataset":"user_events"`, `"_dataset":"orders"`), record.UnknownDataset, "_dataset"},
		{"dataset not a string", with(`"_dataset":"user_events"`, `"_dataset":7`), record.WrongType, "_dataset"},
		{"unknown field", with(`"amount"`, `"amout"`), record.UnknownField, "amout"},
		{"missing required field", with(`"user_id":"u_42",`, ``), record.MissingField, "user_id"},
		{"null in required field", with(`"u_42"`, `null`), record.NullField, "user_id"},
		{"wrong type: number for string", with(`"u_42"`, `42`), record.WrongType, "user_id"},
		{"wrong type: string for number", with(`19.99`, `"19.99"`), record.WrongType, "amount"},
		{"wrong type: map value not string", with(`"winter"`, `7`), record.WrongType, "properties"},
		{"fraction in an integer", with(`"currency":"EUR"`, `"currency":"EUR","quantity":1.5`), record.NotInteger, "quantity"},
		{"integer overflow", with(`"currency":"EUR"`, `"currency":"EUR","quantity":99999999999`), record.IntOverflow, "quantity"},
		{"unknown enum value", with(`"purchase"`, `"refund"`), record.BadEnum, "event_type"},
		{"out of range number", with(`19.99`, `-5`), record.OutOfRange, "amount"},
		{"pattern mismatch", with(`"EUR"`, `"euro"`), record.PatternMismatch, "currency"},
		{"string too long", with(`"currency":"EUR"`, `"currency":"EUR","session_id":"`+strings.Repeat("s", 65)+`"`), record.BadLength, "session_id"},
		{"timestamp without zone", with(`2026-11-23T10:15:04.123Z`, `2026-11-23T10:15:04.123`), record.NoZone, "timestamp"},
		{"timestamp not a date-time", with(`2026-11-23T10:15:04.123Z`, `yesterday`), record.BadTimestamp, "timestamp"},
		{"timestamp on a day that does not exist", with(`2026-11-23T10:15:04.123Z`, `2026-02-30T10:15:04Z`), record.BadTimestamp, "timestamp"},
		{"timestamp far in the future", with(`2026-11-23T10:15:04.123Z`, `2099-01-01T00:00:00Z`), record.FutureTime, "timestamp"},
		{"timestamp with ten fraction digits", with(`2026-11-23T10:15:04.123Z`, `2026-11-23T10:15:04.1234567891Z`), record.BadTimestamp, "timestamp"},
		{"number with an exponent into a string", []byte(strings.Replace(strings.Replace(Reference, `910322509`, `9.1e8`, 1), `{`, `{"_dataset":"customers",`, 1)), record.CoerceNumberToString, "phone"},
		{"empty object", []byte(`{}`), record.NoDataset, ""},
		{"empty object of a dataset", []byte(`{"_dataset":"customers"}`), record.MissingField, "uuid"},
	}
}

// Parquet validates records against their contracts and writes the first dataset's rows as
// one Parquet file, as a file dropped into the lake would be. Every record must be valid.
func Parquet(tb testing.TB, reg map[string]*contract.Contract, recs []fake.Record) []byte {
	tb.Helper()
	b := record.NewBatch(reg, record.Options{})
	for i, r := range recs {
		if _, rej := b.Add(r.Data, i); rej != nil {
			tb.Fatal(rej)
		}
	}
	var buf bytes.Buffer
	if err := parquetfile.WriteTable(&buf, b.Tables()[0], parquetfile.Options{}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
