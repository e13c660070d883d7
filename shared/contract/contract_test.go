package contract_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
)

func eventsDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "events")
}

func TestShippedContracts(t *testing.T) {
	cs, err := contract.LoadFS(os.DirFS(eventsDir()), eventsDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 || cs[0].Name != "customers" || cs[1].Name != "customers_changes" || cs[2].Name != "user_events" {
		t.Fatalf("want customers, customers_changes and user_events, got %d contracts", len(cs))
	}
	cust := cs[0]
	if cust.Fields[cust.EventTime].Name != "event_date" || cust.Fields[cust.Key[0]].Name != "uuid" {
		t.Errorf("customers: event time %q key %q", cust.Fields[cust.EventTime].Name, cust.Fields[cust.Key[0]].Name)
	}
	status, _ := cust.Field("status")
	if status.Kind != contract.Enum || strings.Join(status.Symbols, ",") != "Active,Inactive,Canceled" {
		t.Errorf("status: %+v", status)
	}
	email, _ := cust.Field("email")
	if email.PII != contract.Hash || email.Rules.Pattern == nil || !email.Rules.Pattern.MatchString("a@b.co") {
		t.Errorf("email: %+v", email)
	}
	// The reference producer's shape: naive event times read in UTC, integer phones kept as digits.
	if et := cust.Fields[cust.EventTime]; et.WithoutZone != time.UTC {
		t.Errorf("customers.event_date: naive timestamps read in %v, want UTC", et.WithoutZone)
	}
	if phone, _ := cust.Field("phone"); phone.Kind != contract.String || phone.Coerce != contract.NumberToString {
		t.Errorf("phone: %+v", phone)
	}
	ue := cs[2]
	if et := ue.Fields[ue.EventTime]; et.WithoutZone != nil {
		t.Errorf("user_events.timestamp should still reject naive timestamps")
	}
	amount, _ := ue.Field("amount")
	if !amount.Nullable || amount.Kind != contract.Double || *amount.Rules.Max != 1e6 || amount.GlueType() != "double" {
		t.Errorf("amount: %+v", amount)
	}
	props, _ := ue.Field("properties")
	if props.Kind != contract.StringMap || props.GlueType() != "map<string,string>" {
		t.Errorf("properties: %+v", props)
	}
	if len(ue.Version) != 12 || ue.Version == cust.Version {
		t.Errorf("versions %q %q", ue.Version, cust.Version)
	}
}

const base = `{"type":"record","name":"orders","sluice.eventTime":"ts","sluice.key":["id"],"fields":[
 {"name":"id","type":"string"},
 {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}}%s]}`

func parse(extraFields string) (*contract.Contract, error) {
	return contract.Parse("orders.avsc", []byte(strings.Replace(base, "%s", extraFields, 1)))
}

func TestMalformedContractsNameFileFieldAndProblem(t *testing.T) {
	cases := []struct{ name, schema, want string }{
		{"not json", `{"type":`, "orders.avsc: not a valid Avro schema"},
		{"not a record", `"string"`, "top-level type must be a record"},
		{"no event time", `{"type":"record","name":"orders","sluice.key":["id"],"fields":[{"name":"id","type":"string"}]}`, `"sluice.eventTime" is missing`},
		{"no key", `{"type":"record","name":"orders","sluice.eventTime":"ts","fields":[{"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}}]}`, `"sluice.key" is missing`},
		{"event time not a timestamp", `{"type":"record","name":"orders","sluice.eventTime":"id","sluice.key":["id"],"fields":[{"name":"id","type":"string"}]}`, `field "id": the event-time field must be`},
		{"key unknown", strings.Replace(base, `["id"]`, `["nope"]`, 1), `"sluice.key" names nope`},
		{"bad dataset name", strings.Replace(base, `"orders"`, `"Orders"`, 1), "dataset name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := contract.Parse("orders.avsc", []byte(strings.Replace(tc.schema, "%s", "", 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "orders.avsc") {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	fieldCases := []struct{ name, field, want string }{
		{"nested record", `{"name":"addr","type":{"type":"record","name":"a","fields":[{"name":"x","type":"string"}]}}`, "type record is not supported"},
		{"array", `{"name":"tags","type":{"type":"array","items":"string"}}`, "type array is not supported"},
		{"bytes", `{"name":"blob","type":"bytes"}`, "type bytes is not supported"},
		{"three-way union", `{"name":"v","type":["null","string","long"],"default":null}`, `unions are supported only as ["null", T]`},
		{"optional without default", `{"name":"v","type":["null","string"]}`, `with "default": null`},
		{"map of long", `{"name":"m","type":{"type":"map","values":"long"}}`, "only maps of string"},
		{"decimal", `{"name":"d","type":{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}}`, "logical type decimal"},
		{"bad pii", `{"name":"v","type":"string","sluice.pii":"encrypt"}`, `"sluice.pii" must be keep, mask, hash or drop`},
		{"pattern on number", `{"name":"v","type":"long","sluice.rules":{"pattern":"x"}}`, `rule "pattern" applies to strings`},
		{"bad regexp", `{"name":"v","type":"string","sluice.rules":{"pattern":"("}}`, "not a valid regular expression"},
		{"unknown rule", `{"name":"v","type":"string","sluice.rules":{"maxlen":3}}`, `unknown rule "maxlen"`},
		{"min above max", `{"name":"v","type":"double","sluice.rules":{"min":3,"max":1}}`, `"min" is greater than "max"`},
		{"upper-case name", `{"name":"Value","type":"string"}`, "field names must be lower-case"},
	}
	for _, tc := range fieldCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse("," + tc.field)
			var ce *contract.Error
			if !errors.As(err, &ce) || ce.File != "orders.avsc" || ce.Field == "" || !strings.Contains(ce.Problem, tc.want) {
				t.Fatalf("got %v, want a contract.Error on a field with %q", err, tc.want)
			}
		})
	}
}

func TestEvolution(t *testing.T) {
	prev, err := parse(`,{"name":"status","type":{"type":"enum","name":"s","symbols":["new","paid"]}}`)
	if err != nil {
		t.Fatal(err)
	}
	accepted := map[string]string{
		"optional field added": `,{"name":"status","type":{"type":"enum","name":"s","symbols":["new","paid"]}},{"name":"note","type":["null","string"],"default":null}`,
		"enum symbol added":    `,{"name":"status","type":{"type":"enum","name":"s","symbols":["new","paid","void"]}}`,
		"field dropped":        ``,
	}
	for name, fields := range accepted {
		next, err := parse(fields)
		if err != nil {
			t.Fatal(err)
		}
		if err := contract.CheckEvolution(prev, next); err != nil {
			t.Errorf("%s: rejected: %v", name, err)
		}
	}
	rejected := map[string]string{
		"required field added": `,{"name":"status","type":{"type":"enum","name":"s","symbols":["new","paid"]}},{"name":"note","type":"string"}`,
		"enum symbol removed":  `,{"name":"status","type":{"type":"enum","name":"s","symbols":["new"]}}`,
		"type changed":         `,{"name":"status","type":"long"}`,
	}
	for name, fields := range rejected {
		next, err := parse(fields)
		if err != nil {
			t.Fatal(err)
		}
		if err := contract.CheckEvolution(prev, next); err == nil {
			t.Errorf("%s: accepted, want rejected", name)
		}
	}
	moved, _ := contract.Parse("orders.avsc", []byte(strings.Replace(strings.Replace(base, `["id"]`, `["id","ts"]`, 1), "%s", "", 1)))
	if err := contract.CheckEvolution(prev, moved); err == nil || !strings.Contains(err.Error(), "sluice.key changes") {
		t.Errorf("key change: %v", err)
	}
}
