package contract_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
)

func TestZoneAndCoercionAttributes(t *testing.T) {
	rec := strings.Replace(base, `"sluice.key"`, `"sluice.timestampWithoutZone":"Europe/Berlin","sluice.key"`, 1)
	c, err := contract.Parse("orders.avsc", []byte(strings.Replace(rec, "%s", `,
	 {"name":"utc_ts","type":{"type":"long","logicalType":"timestamp-millis"},"sluice.timestampWithoutZone":"UTC"},
	 {"name":"strict_ts","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null,"sluice.timestampWithoutZone":"reject"},
	 {"name":"phone","type":"string","sluice.coerce":"number_to_string"},
	 {"name":"qty","type":"int","sluice.coerce":"string_to_number"},
	 {"name":"ok","type":"boolean","sluice.coerce":"string_to_boolean"},
	 {"name":"note","type":"string"}`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	field := func(n string) *contract.Field { f, _ := c.Field(n); return f }
	if c.WithoutZone == nil || c.WithoutZone.String() != "Europe/Berlin" || field("ts").WithoutZone != c.WithoutZone {
		t.Errorf("record-level zone not inherited: %v %v", c.WithoutZone, field("ts").WithoutZone)
	}
	if field("utc_ts").WithoutZone != time.UTC {
		t.Errorf("utc_ts zone %v", field("utc_ts").WithoutZone)
	}
	if field("strict_ts").WithoutZone != nil {
		t.Errorf("strict_ts should reject naive timestamps")
	}
	if field("note").WithoutZone != nil || field("note").Coerce != contract.NoCoercion {
		t.Errorf("note: %+v", field("note"))
	}
	for name, want := range map[string]contract.Coercion{"phone": contract.NumberToString, "qty": contract.StringToNumber, "ok": contract.StringToBoolean} {
		if field(name).Coerce != want {
			t.Errorf("%s: coerce %v, want %v", name, field(name).Coerce, want)
		}
	}
	if n := len(field("utc_ts").TimestampForms()); n != 3*10*4 {
		t.Errorf("utc_ts: %d forms, want 120 (3 separators x 10 fraction lengths x 4 zone forms)", n)
	}
	if n := len(field("strict_ts").TimestampForms()); n != 3*10*3 {
		t.Errorf("strict_ts: %d forms, want 90", n)
	}
}

func TestBadZoneAndCoercionAttributesNameFileFieldAndProblem(t *testing.T) {
	cases := []struct{ name, field, want string }{
		{"unknown zone", `{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"},"sluice.timestampWithoutZone":"Mars/Olympus"}`, `names "Mars/Olympus", which is not an IANA time zone`},
		{"machine-local zone", `{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"},"sluice.timestampWithoutZone":"Local"}`, `must name a zone`},
		{"zone not a string", `{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"},"sluice.timestampWithoutZone":1}`, `must be "reject" or an IANA zone`},
		{"zone on a string", `{"name":"s","type":"string","sluice.timestampWithoutZone":"UTC"}`, `applies to timestamps, not string`},
		{"coercion against the type", `{"name":"s","type":"string","sluice.coerce":"string_to_number"}`, `on a string field can only be "number_to_string"`},
		{"unknown coercion", `{"name":"n","type":"long","sluice.coerce":"anything"}`, `can only be "string_to_number"`},
		{"coercion on an enum", `{"name":"e","type":{"type":"enum","name":"e","symbols":["a"]},"sluice.coerce":"number_to_string"}`, `applies to string, number and boolean fields, not enum`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse("," + tc.field)
			var ce *contract.Error
			if !errors.As(err, &ce) || ce.File != "orders.avsc" || ce.Field == "" || !strings.Contains(ce.Problem, tc.want) {
				t.Fatalf("got %v, want a contract.Error on a field with %q", err, tc.want)
			}
		})
	}
	rec := strings.Replace(base, `"sluice.key"`, `"sluice.timestampWithoutZone":"Europe/Nowhere","sluice.key"`, 1)
	_, err := contract.Parse("orders.avsc", []byte(strings.Replace(rec, "%s", "", 1)))
	if err == nil || !strings.HasPrefix(err.Error(), "orders.avsc: ") || !strings.Contains(err.Error(), `"Europe/Nowhere"`) {
		t.Errorf("record-level unknown zone: %v", err)
	}
}

func TestTimestampFormLayoutsParseTheirExamples(t *testing.T) {
	for _, f := range contract.TimestampForms(true) {
		if _, err := time.Parse(f.Layout(), f.Example()); err != nil {
			t.Errorf("%+v: %v", f, err)
		}
	}
}
