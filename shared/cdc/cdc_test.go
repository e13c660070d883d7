package cdc_test

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/record"
)

// Events in the shapes of Debezium's documentation: PostgreSQL without the schema wrapper,
// MySQL with it (Kafka Connect's JSON converter, schemas.enable=true), SQL Server.
const (
	pgCreate = `{"before":null,"after":{"id":1004,"first_name":"Anne","last_name":"Kretchmar","email":"annek@noanswer.org"},
	  "source":{"version":"2.7.0.Final","connector":"postgresql","name":"dbserver1","ts_ms":1764000000000,"snapshot":"false",
	  "db":"inventory","sequence":"[\"24023119\",\"24023128\"]","schema":"public","table":"customers","txId":555,"lsn":24023128,"xmin":null},
	  "op":"c","ts_ms":1764000000200,"transaction":null}`
	pgDelete = `{"before":{"id":1004,"first_name":"Anne","last_name":"Kretchmar","email":"annek@noanswer.org"},"after":null,
	  "source":{"connector":"postgresql","ts_ms":1764000005000,"snapshot":"false","db":"inventory","schema":"public","table":"customers","lsn":124023200},
	  "op":"d","ts_ms":1764000005100}`
	mysqlUpdate = `{"schema":{"type":"struct","fields":[],"optional":false,"name":"mysql-server-1.inventory.customers.Envelope"},
	  "payload":{"before":{"id":1004,"first_name":"Anne","last_name":"Kretchmar","email":"annek@noanswer.org"},
	  "after":{"id":1004,"first_name":"Anne Marie","last_name":"Kretchmar","email":"annek@noanswer.org"},
	  "source":{"version":"2.7.0.Final","name":"mysql-server-1","connector":"mysql","ts_ms":1764000001000,"snapshot":false,
	  "db":"inventory","table":"customers","server_id":223344,"gtid":null,"file":"mysql-bin.000003","pos":484,"row":0,"thread":7},
	  "op":"u","ts_ms":1764000001100}}`
	sqlServerRead = `{"before":null,"after":{"id":1001,"first_name":"Sally","last_name":"Thomas","email":"sally.thomas@acme.com"},
	  "source":{"connector":"sqlserver","ts_ms":1764000000000,"snapshot":"true","db":"testDB","schema":"dbo","table":"customers",
	  "change_lsn":null,"commit_lsn":"00000027:00000758:0005","event_serial_no":null},"op":"r","ts_ms":1764000000300}`
)

func changeStream(t *testing.T) *contract.Contract {
	t.Helper()
	b, err := os.ReadFile("testdata/customers_changes.avsc")
	if err != nil {
		t.Fatal(err)
	}
	c, err := contract.Parse("testdata/customers_changes.avsc", b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Each event becomes a row of the change stream with its operation, position and source time,
// the image of a delete being the row as it was.
func TestChangesBecomeRows(t *testing.T) {
	c := changeStream(t)
	if err := cdc.CheckContract(c); err != nil {
		t.Fatal(err)
	}
	reg := map[string]*contract.Contract{c.Name: c}
	for _, tc := range []struct {
		name, value string
		op          cdc.Op
		position    string
		first       string
	}{
		{"postgres create", pgCreate, cdc.Create, "00000000000024023128", "Anne"},
		{"postgres delete", pgDelete, cdc.Delete, "00000000000124023200", "Anne"},
		{"mysql update, wrapped", mysqlUpdate, cdc.Update, "mysql-bin.0000000000000000003:0000000000000000484:0000000000", "Anne Marie"},
		{"sqlserver snapshot", sqlServerRead, cdc.Read, "00000027:00000758:0005::0000000000", "Sally"},
	} {
		ch, rej := cdc.Decode([]byte(tc.value))
		if rej != nil {
			t.Fatalf("%s: %v", tc.name, rej)
		}
		if ch.Op != tc.op || ch.Position() != tc.position {
			t.Errorf("%s: op %s position %q, want %s %q", tc.name, ch.Op, ch.Position(), tc.op, tc.position)
		}
		js, rej := ch.AppendRecord(nil)
		if rej != nil {
			t.Fatalf("%s: %v", tc.name, rej)
		}
		b := record.NewBatch(reg, record.Options{DefaultDataset: c.Name})
		if _, rej := b.Add(js, 0); rej != nil {
			t.Fatalf("%s: %s: %v", tc.name, js, rej)
		}
		row := b.Tables()[0].Row(0)
		field := func(name string) record.Value { f, _ := c.Field(name); return row[f.Index] }
		if got := string(field("first_name").Str); got != tc.first {
			t.Errorf("%s: first_name %q, want %q", tc.name, got, tc.first)
		}
		if got := c.Fields[c.EventTime].Name; got != cdc.SourceTimeField || field(got).Int != ch.Source.TsMs {
			t.Errorf("%s: event time %d, want the source's %d", tc.name, field(got).Int, ch.Source.TsMs)
		}
		if got := string(field(cdc.PositionField).Str); got != tc.position {
			t.Errorf("%s: position column %q", tc.name, got)
		}
	}
}

// Positions sort as the source orders its changes, whatever the width of the numbers in them.
func TestPositionsSortInSourceOrder(t *testing.T) {
	decode := func(source string) string {
		ch, rej := cdc.Decode([]byte(`{"op":"c","after":{"id":1},"source":` + source + `}`))
		if rej != nil {
			t.Fatal(rej)
		}
		return ch.Position()
	}
	for _, order := range [][]string{
		{`{"lsn":999}`, `{"lsn":1000}`, `{"lsn":24023128}`},
		{`{"file":"mysql-bin.000009","pos":99999}`, `{"file":"mysql-bin.000010","pos":4}`, `{"file":"mysql-bin.000010","pos":484,"row":0}`, `{"file":"mysql-bin.000010","pos":484,"row":1}`},
		{`{"scn":"99"}`, `{"scn":"100"}`},
		{`{"commit_lsn":"00000027:00000758:0005","change_lsn":"00000027:00000758:0003"}`, `{"commit_lsn":"00000027:00000759:0001","change_lsn":"00000027:00000758:0009"}`},
	} {
		var got []string
		for _, s := range order {
			got = append(got, decode(s))
		}
		if !sort.StringsAreSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Errorf("positions %q of %v do not sort in the source's order", got, order)
		}
	}
}

// Tombstones and what is not a row change are refused with their reason, never stored as rows.
func TestRejects(t *testing.T) {
	for value, code := range map[string]record.Code{
		"":                                      cdc.Tombstone,
		"null":                                  cdc.Tombstone,
		`{"schema":{},"payload":null}`:          cdc.Tombstone,
		`{"op":"t","source":{"lsn":1}}`:         cdc.UnsupportedOp,
		`{"op":"d","before":null,"after":null}`: cdc.MissingImage,
		`{"op":"c","after":null}`:               cdc.MissingImage,
		`{"id":1,"name":"x"}`:                   cdc.NotAChange,
		`[1,2]`:                                 cdc.NotAChange,
		`{"op":"c","after":[1]}`:                "",
	} {
		ch, rej := cdc.Decode([]byte(value))
		if code == "" { // decodes, but its image is no object
			if rej == nil {
				_, rej = ch.AppendRecord(nil)
			}
			code = cdc.MissingImage
		}
		if rej == nil || rej.Code != code || rej.Detail == "" {
			t.Errorf("%q: %v, want %s", value, rej, code)
		}
	}
	ch, _ := cdc.Decode([]byte(`{"op":"c","after":{"id":1,"cdc_op":"x"}}`))
	if _, rej := ch.AppendRecord(nil); rej == nil || !strings.Contains(rej.Detail, "cdc_op") {
		t.Errorf("a source column named cdc_op: %v", rej)
	}
}

func TestCheckContract(t *testing.T) {
	c := changeStream(t)
	bad := strings.Replace(string(mustRead(t, "testdata/customers_changes.avsc")), `"symbols": ["c", "r", "u", "d"]`, `"symbols": ["c", "u", "d"]`, 1)
	c2, err := contract.Parse("x.avsc", []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	if cdc.IsChangeStream(c2) || !cdc.IsChangeStream(c) {
		t.Error("an op enum without r is not a change stream's")
	}
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecode: no value panics the decoder, and a change it accepts becomes one JSON object
// (or a reason), which the validation path reads without panicking.
func FuzzDecode(f *testing.F) {
	for _, v := range []string{pgCreate, pgDelete, mysqlUpdate, sqlServerRead, "", "null", `{"schema":{},"payload":null}`} {
		f.Add([]byte(v))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		ch, rej := cdc.Decode(value)
		if rej != nil {
			if rej.Code == "" || rej.Detail == "" {
				t.Fatalf("a reject without its reason: %+v", rej)
			}
			return
		}
		js, rej := ch.AppendRecord(nil)
		if rej != nil {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(js, &m); err != nil || string(m[cdc.OpField]) != `"`+string(ch.Op)+`"` {
			t.Fatalf("%q became %s (%v)", value, js, err)
		}
		_ = ch.Position()
	})
}
