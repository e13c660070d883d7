package filedrop_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/filedrop"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/record/recordtest"
)

// lake is a validator over three buckets of an S3 stand-in.
type lake struct {
	v                          *filedrop.Validator
	raw, cleansed, quarantined objectstore.Store
}

func newLake(tb testing.TB) *lake {
	tb.Helper()
	client, _ := s3test.StartGofakes3(tb)
	reg, err := events.Registry()
	if err != nil {
		tb.Fatal(err)
	}
	l := &lake{
		raw:         s3store.New(client, s3test.CreateBucket(tb, client, "raw")),
		cleansed:    s3store.New(client, s3test.CreateBucket(tb, client, "cleansed")),
		quarantined: s3store.New(client, s3test.CreateBucket(tb, client, "quarantine")),
	}
	l.v = &filedrop.Validator{Contracts: reg, Raw: l.raw, Cleansed: l.cleansed, Quarantine: l.quarantined, ChunkRows: 400}
	return l
}

func (l *lake) drop(tb testing.TB, key string, body []byte) *filedrop.Report {
	tb.Helper()
	ctx := context.Background()
	if _, err := l.raw.Put(ctx, key, body, objectstore.PutOptions{}); err != nil {
		tb.Fatal(err)
	}
	rep, err := l.v.Validate(ctx, key, "")
	if err != nil {
		tb.Fatalf("validate %s: %v", key, err)
	}
	return rep
}

// contents reads back every cleansed row and quarantine entry of one report's objects.
type contents struct {
	rows    []map[string]any
	entries []quarantine.Entry
}

func (l *lake) contents(t *testing.T, rep *filedrop.Report) contents {
	t.Helper()
	ctx := context.Background()
	var c contents
	for _, key := range rep.CleansedObjects {
		b := get(t, l.cleansed, key)
		rows, err := parquetfile.ReadBytes(b)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		c.rows = append(c.rows, rows...)
		l.provenanceSays(t, l.cleansed, key, rep, len(rows))
	}
	for _, key := range rep.QuarantineObjects {
		e, err := quarantine.Decode(bytes.NewReader(get(t, l.quarantined, key)))
		if err != nil {
			t.Fatal(err)
		}
		c.entries = append(c.entries, e...)
		l.provenanceSays(t, l.quarantined, key, rep, len(e))
	}
	// Nothing else was written for this file: what the report lists is all there is.
	all, err := l.cleansed.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range all {
		if !strings.HasPrefix(o.Key, filedrop.ReportPrefix) {
			n++
		}
	}
	if n != len(rep.CleansedObjects) {
		t.Fatalf("%d cleansed objects in the bucket, report lists %d", n, len(rep.CleansedObjects))
	}
	var stored filedrop.Report
	if err := json.Unmarshal(get(t, l.cleansed, rep.ReportKey), &stored); err != nil {
		t.Fatalf("report %s: %v", rep.ReportKey, err)
	}
	if stored.RowsIn != rep.RowsIn || stored.Valid != rep.Valid {
		t.Fatalf("stored report differs: %+v", stored)
	}
	return c
}

// provenanceSays checks that an output names the dropped file as its one input, the report,
// and the rows it really holds.
func (l *lake) provenanceSays(t *testing.T, s objectstore.Store, key string, rep *filedrop.Report, rows int) {
	t.Helper()
	ctx := context.Background()
	info, err := s.Head(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := provenance.Of(ctx, s, key, info.Metadata)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	if p.Job != "validate" || p.Rows != int64(rows) || p.Report != rep.ReportKey || len(p.Inputs) != 1 ||
		p.Inputs[0].Bucket != l.raw.Bucket() || p.Inputs[0].Key != rep.Key || p.Inputs[0].ETag != rep.ETag || p.Inputs[0].Rows != int64(rows) {
		t.Fatalf("%s: provenance %+v, want validate of %s (%d rows, report %s)", key, p, rep.Key, rows, rep.ReportKey)
	}
}

func get(t *testing.T, s objectstore.Store, key string) []byte {
	t.Helper()
	rc, _, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// accounted checks that every row is in exactly one place and the counts add up.
func accounted(t *testing.T, rep *filedrop.Report, c contents, wantIn int) {
	t.Helper()
	if err := rep.Check(); err != nil {
		t.Fatal(err)
	}
	if rep.RowsIn != int64(wantIn) || int64(len(c.rows)) != rep.Valid || int64(len(c.entries)) != rep.Quarantined {
		t.Fatalf("rows in %d (want %d), valid %d (stored %d), quarantined %d (stored %d)",
			rep.RowsIn, wantIn, rep.Valid, len(c.rows), rep.Quarantined, len(c.entries))
	}
	for _, e := range c.entries {
		if e.Source.Kind != "s3" || e.Source.Key != rep.Key || e.Source.Line <= 0 || len(e.Original) == 0 || e.Reason == "" {
			t.Fatalf("entry without its source, line, original or reason: %+v", e)
		}
	}
}

func generate(tb testing.TB, dataset string, n int, badShare float64) []fake.Record {
	reg, _ := events.Registry()
	g, err := fake.New(reg[dataset], fake.Options{Seed: 7, Now: time.Now().Add(-time.Minute), BadShare: badShare, BadKinds: fake.LineKinds(reg[dataset])})
	if err != nil {
		tb.Fatal(err)
	}
	return g.Take(n)
}

var jsonLines = fake.JSONLines

// Files are encoded by the helpers every path into the lake tests with.
var (
	gz        = recordtest.Gzip
	parquetOf = recordtest.Parquet
)

// csvOf writes good records as CSV with the contract's fields as header.
func csvOf(tb testing.TB, c *contract.Contract, recs []fake.Record) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(c.FieldNames())
	for _, r := range recs {
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(r.Data))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			tb.Fatal(err)
		}
		row := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			switch v := m[f.Name].(type) {
			case nil:
			case string:
				row[i] = v
			case json.Number:
				row[i] = v.String()
			case bool:
				row[i] = fmt.Sprint(v)
			default:
				j, _ := json.Marshal(v)
				row[i] = string(j)
			}
		}
		w.Write(row)
	}
	w.Flush()
	return b.Bytes()
}

func sortRows(rows []map[string]any, key string) {
	sort.Slice(rows, func(i, j int) bool { return fmt.Sprint(rows[i][key]) < fmt.Sprint(rows[j][key]) })
}

// TestJSONLines: good and bad records, several chunks; every record accounted for, each bad one
// quarantined for the reason the generator put in, and a replay rewrites the same objects.
func TestJSONLines(t *testing.T) {
	l := newLake(t)
	recs := generate(t, "user_events", 1000, 0.1)
	rep := l.drop(t, "landing/user_events/2026/batch-1.jsonl", jsonLines(recs))
	c := l.contents(t, rep)
	accounted(t, rep, c, len(recs))
	if rep.Quarantined != 100 || rep.Chunks != 3 {
		t.Fatalf("quarantined %d of 1000 at a bad share of 0.1, in %d chunks", rep.Quarantined, rep.Chunks)
	}
	for _, e := range c.entries {
		want := recs[e.Source.Line-1]
		if string(want.Bad) != e.Reason || !bytes.Equal(want.Data, e.Original) {
			t.Fatalf("line %d: quarantined as %s, generated as %s", e.Source.Line, e.Reason, want.Bad)
		}
	}
	if len(rep.Reasons) < 10 || len(rep.Rules) == 0 {
		t.Fatalf("failures by reason %v, by rule %v", rep.Reasons, rep.Rules)
	}

	again, err := l.v.Validate(context.Background(), rep.Key, "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.CleansedObjects, rep.CleansedObjects) || again.ReportKey != rep.ReportKey {
		t.Fatalf("a replay wrote other objects:\n%v\n%v", again.CleansedObjects, rep.CleansedObjects)
	}
	accounted(t, again, l.contents(t, again), len(recs))
}

// TestCSVMatchesJSONLines: the same records as CSV, gzip'd CSV, JSON lines and gzip'd JSON lines
// give the same cleansed rows.
func TestCSVMatchesJSONLines(t *testing.T) {
	reg, _ := events.Registry()
	for _, ds := range []string{"user_events", "customers"} {
		recs := generate(t, ds, 500, 0)
		var want []map[string]any
		for _, f := range []struct {
			name string
			body []byte
		}{
			{"f.jsonl", jsonLines(recs)},
			{"f.csv", csvOf(t, reg[ds], recs)},
			{"f.ndjson.gz", gz(jsonLines(recs))},
			{"f.CSV.GZ", gz(csvOf(t, reg[ds], recs))},
		} {
			l := newLake(t)
			rep := l.drop(t, "landing/"+ds+"/"+f.name, f.body)
			c := l.contents(t, rep)
			accounted(t, rep, c, len(recs))
			if rep.Quarantined != 0 {
				t.Fatalf("%s %s: %d quarantined: %v %+v", ds, f.name, rep.Quarantined, rep.Reasons, c.entries[0])
			}
			sortRows(c.rows, reg[ds].Fields[reg[ds].Key[0]].Name)
			if want == nil {
				want = c.rows
			} else if !reflect.DeepEqual(c.rows, want) {
				t.Fatalf("%s %s: rows differ from JSON lines'\n%v\n%v", ds, f.name, c.rows[0], want[0])
			}
		}
	}
}

// TestParquetInput: a Parquet file of the contract's schema, read at random through ranged gets.
func TestParquetInput(t *testing.T) {
	reg, _ := events.Registry()
	recs := generate(t, "user_events", 700, 0)
	body := parquetOf(t, reg, recs)
	l := newLake(t)
	rep := l.drop(t, "landing/user_events/in.parquet", body)
	c := l.contents(t, rep)
	accounted(t, rep, c, len(recs))
	if rep.Valid != 700 {
		t.Fatalf("%d valid: %v", rep.Valid, rep.Reasons)
	}
	want, _ := parquetfile.ReadBytes(body)
	sortRows(want, "event_id")
	sortRows(c.rows, "event_id")
	if !reflect.DeepEqual(c.rows, want) {
		t.Fatalf("rows differ\n%v\n%v", c.rows[0], want[0])
	}
}

// TestReport: nulls, min and max per column, failures by rule.
func TestReport(t *testing.T) {
	l := newLake(t)
	body := "uuid,event_date,status,name,last_name,email,phone\n" +
		"0f8fad5b-d9cb-469f-a165-70867728950e,2026-01-02T03:04:05Z,Inactive,Ann,Lee,ann@example.com,\n" +
		"7c9e6679-7425-40de-944b-e07fc1f90ae7,2026-01-01T00:00:00.5Z,Active,Bob,Ray,bob@example.com,555-1234\n" +
		"7c9e6679-7425-40de-944b-e07fc1f90ae8,2026-01-01T00:00:00Z,Active,Cy,Ode,not-an-email,\n"
	rep := l.drop(t, "landing/customers/r.csv", []byte(body))
	accounted(t, rep, l.contents(t, rep), 3)
	cols := rep.Columns
	if cols["phone"].Nulls != 1 || cols["phone"].Min != "555-1234" ||
		cols["event_date"].Min != "2026-01-01T00:00:00.500Z" || cols["event_date"].Max != "2026-01-02T03:04:05.000Z" ||
		cols["status"].Min != "Active" || cols["status"].Max != "Inactive" || cols["name"].Min != "Ann" || cols["name"].Max != "Bob" {
		t.Fatalf("columns: %+v %+v %+v %+v", *cols["phone"], *cols["event_date"], *cols["status"], *cols["name"])
	}
	if rep.Rules["pattern_mismatch:email"] != 1 || rep.Reasons["pattern_mismatch"] != 1 {
		t.Fatalf("failures: %v %v", rep.Reasons, rep.Rules)
	}
}
