package infer_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/contract/infer"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/filedrop"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/record/recordtest"
)

// csvOf lays fake records out as the CSV a user would export: a header of the union of keys,
// an empty cell for null, objects as their JSON.
func csvOf(t *testing.T, recs []fake.Record) []byte {
	var rows []map[string]any
	cols := map[string]bool{}
	for _, r := range recs {
		m := map[string]any{}
		d := json.NewDecoder(bytes.NewReader(r.Data))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		delete(m, fake.DatasetField)
		for k := range m {
			cols[k] = true
		}
		rows = append(rows, m)
	}
	header := make([]string, 0, len(cols))
	for k := range cols {
		header = append(header, k)
	}
	sort.Strings(header)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(header)
	for _, m := range rows {
		cells := make([]string, len(header))
		for i, k := range header {
			switch v := m[k].(type) {
			case nil:
			case string:
				cells[i] = v
			case map[string]any:
				b, _ := json.Marshal(v)
				cells[i] = string(b)
			default:
				cells[i] = fmt.Sprint(v)
			}
		}
		w.Write(cells)
	}
	w.Flush()
	return buf.Bytes()
}

// validate drops the sample into a lake whose only contract is the inferred one, through the
// file-drop path (shared/filedrop) against an S3 stand-in, and returns the report.
func validate(t *testing.T, c *contract.Contract, file string, data []byte) *filedrop.Report {
	t.Helper()
	client, _ := s3test.StartGofakes3(t)
	store := func(name string) objectstore.Store { return s3store.New(client, s3test.CreateBucket(t, client, name)) }
	v := &filedrop.Validator{Contracts: map[string]*contract.Contract{c.Name: c}, Raw: store("raw"), Cleansed: store("cleansed"), Quarantine: store("quarantine"),
		Options: filedropOptions()}
	ctx := context.Background()
	key := "landing/" + c.Name + "/" + file
	if _, err := v.Raw.Put(ctx, key, data, objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := v.Validate(ctx, key, "")
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestInferredContractTakesItsOwnSample: for each shipped contract and each format, fake data
// made from the contract is the sample; the contract inferred from it loads, and the file-drop
// path validates the very same file against it with zero rejects.
func TestInferredContractTakesItsOwnSample(t *testing.T) {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"customers", "user_events"} {
		g, err := fake.New(reg[name], fake.Options{Seed: 11, Now: time.Now().Add(-time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		recs := g.Take(300)
		samples := map[string][]byte{
			"sample.jsonl":   fake.JSONLines(recs),
			"sample.csv":     csvOf(t, recs),
			"sample.parquet": recordtest.Parquet(t, reg, recs),
		}
		for file, data := range samples {
			t.Run(name+"/"+file, func(t *testing.T) {
				format, _ := infer.FormatOf(file)
				avsc, err := infer.Bytes(data, format, file, infer.Options{Dataset: name}) // the JSON lines name their dataset
				if err != nil {
					t.Fatal(err)
				}
				c, err := contract.Parse("inferred.avsc", avsc)
				if err != nil {
					t.Fatalf("the loader refuses the draft: %v\n%s", err, avsc)
				}
				want := reg[name]
				if got, w := c.Fields[c.EventTime].Name, want.Fields[want.EventTime].Name; got != w {
					t.Errorf("event time %q, want %q", got, w)
				}
				if got, w := c.Fields[c.Key[0]].Name, want.Fields[want.Key[0]].Name; got != w {
					t.Errorf("key %q, want %q", got, w)
				}
				for _, f := range c.Fields {
					if !strings.HasPrefix(f.Doc, "Inferred: ") {
						t.Errorf("%s: no note to check: %q", f.Name, f.Doc)
					}
				}
				rep := validate(t, c, file, data)
				if rep.RowsIn != int64(len(recs)) || rep.Valid != int64(len(recs)) || rep.Quarantined != 0 {
					t.Fatalf("%d rows in, %d valid, %d quarantined (%v); want all %d valid\n%s", rep.RowsIn, rep.Valid, rep.Quarantined, rep.Rules, len(recs), avsc)
				}
			})
		}
	}
}

// TestInferReferenceProducer: the reference producer's records (naive isoformat timestamps,
// integer phones) give a contract that reads the naive times in UTC and keeps the phone a string
// that takes numbers, and that contract takes the records.
func TestInferReferenceProducer(t *testing.T) {
	var sample bytes.Buffer
	for i := range 40 {
		fmt.Fprintf(&sample, `{"uuid": "c4885146-33f7-481d-8cc6-e894b6f33d%02x", "event_date": "2022-02-02T15:%02d:07.618098", "status": %q, "name": %q, "last_name": "Olson", "email": "rwright%d@example.net", "phone": %d}`+"\n",
			i, i, []string{"Active", "Inactive", "Canceled"}[i%3], []string{"Alicia", "Jose", "Tina"}[i%3], i, 910322509+i*1013)
	}
	avsc, err := infer.Bytes(sample.Bytes(), infer.JSONLines, "seed.jsonl", infer.Options{Dataset: "seed"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := contract.Parse("seed.avsc", avsc)
	if err != nil {
		t.Fatal(err)
	}
	field := func(n string) *contract.Field { f, _ := c.Field(n); return f }
	if f := field("event_date"); f.Kind != contract.Timestamp || f.WithoutZone != time.UTC || c.Fields[c.EventTime].Name != "event_date" {
		t.Errorf("event_date: %+v\n%s", f, avsc)
	}
	if f := field("phone"); f.Kind != contract.String || f.Coerce != contract.NumberToString || f.PII != contract.Mask || f.Rules.Pattern == nil {
		t.Errorf("phone: %+v\n%s", f, avsc)
	}
	if f := field("email"); f.PII != contract.Hash {
		t.Errorf("email: %+v", f)
	}
	if f := field("status"); f.Kind != contract.Enum || len(f.Symbols) != 3 {
		t.Errorf("status: %+v", f)
	}
	// Three first names repeat over 40 rows, as the producer picks from a short list: still
	// names, not an enum.
	if f := field("name"); f.Kind != contract.String || f.PII != contract.Mask {
		t.Errorf("name: %+v", f)
	}
	if c.Fields[c.Key[0]].Name != "uuid" {
		t.Errorf("key %v", c.Key)
	}
	rep := validate(t, c, "seed.jsonl", sample.Bytes())
	if rep.Valid != 40 || rep.Quarantined != 0 {
		t.Fatalf("%d valid %d quarantined %v", rep.Valid, rep.Quarantined, rep.Rules)
	}
}

func TestInferExplainsWhatItCannotDo(t *testing.T) {
	_, err := infer.Bytes([]byte(`{"id":"a","n":1}`+"\n"+`{"id":"b","n":2}`), infer.JSONLines, "x.jsonl", infer.Options{Dataset: "x"})
	if err == nil || !strings.Contains(err.Error(), "needs an event time") {
		t.Errorf("no timestamp: %v", err)
	}
	if _, err := infer.FormatOf("data.xlsx"); err == nil || !strings.Contains(err.Error(), ".csv") {
		t.Errorf("unknown format: %v", err)
	}
}

func filedropOptions() record.Options { return record.Options{} }

// TestInferCoercionsAndLeftOutColumns: a producer that writes some numbers as strings, some
// booleans as strings and some codes as numbers gets the coercions that take its records, and a
// column sluice cannot type is left out (and ignored) rather than failing the draft.
func TestInferCoercionsAndLeftOutColumns(t *testing.T) {
	var sample bytes.Buffer
	for i := range 20 {
		qty, paid, code := fmt.Sprint(i), "false", fmt.Sprintf("%q", fmt.Sprintf("A%d", i))
		if i%2 == 0 {
			qty, paid, code = fmt.Sprintf("%q", fmt.Sprint(i)), `"true"`, fmt.Sprint(1000+i)
		}
		fmt.Fprintf(&sample, `{"id": "r%d", "at": "2026-11-23T10:%02d:00+01:00", "qty": %s, "paid": %s, "code": %s, "tags": ["a"], "Bad Name": 1}`+"\n", i, i, qty, paid, code)
	}
	avsc, err := infer.Bytes(sample.Bytes(), infer.JSONLines, "mixed.jsonl", infer.Options{Dataset: "mixed"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := contract.Parse("mixed.avsc", avsc)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]contract.Coercion{"qty": contract.StringToNumber, "paid": contract.StringToBoolean, "code": contract.NumberToString} {
		if f, ok := c.Field(name); !ok || f.Coerce != want {
			t.Errorf("%s: %+v, want coercion %v\n%s", name, f, want, avsc)
		}
	}
	if f, _ := c.Field("qty"); f.Kind != contract.Long {
		t.Errorf("qty is %v, want long", f.Kind)
	}
	if _, ok := c.Field("tags"); ok || c.RejectUnknown || !strings.Contains(c.Doc, `"tags"`) || !strings.Contains(c.Doc, `"Bad Name"`) {
		t.Errorf("tags and Bad Name should be left out, named, and ignored: %s", c.Doc)
	}
	rep := validate(t, c, "mixed.jsonl", sample.Bytes())
	if rep.Valid != 20 || rep.Quarantined != 0 {
		t.Fatalf("%d valid %d quarantined %v\n%s", rep.Valid, rep.Quarantined, rep.Rules, avsc)
	}
}
