package table

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
)

func ptr(n int64) *int64 { return &n }

func sample() []Row {
	at := time.Date(2026, 11, 23, 9, 15, 30, 123_000_000, time.UTC)
	stream := Row{EventTime: at, EventType: "COMPLETE", RunID: "run-1", JobNamespace: "sluice", JobName: "ingest",
		OutputNamespace: "s3://cleansed", OutputName: "user_events/dt=2026-11-23/hr=09/shard-0001-42.parquet",
		OutputZone: "cleansed", OutputDataset: "user_events", OutputVersion: `"etag1"`, OutputRows: ptr(98),
		InputNamespace: "kinesis://eu-west-1", InputName: "sluice-events", InputShard: "shardId-000000000001",
		InputFirstSequence: "42", InputLastSequence: "141", InputRows: ptr(100), Event: `{"eventType":"COMPLETE"}`}
	root := Row{EventTime: at.Add(time.Hour), EventType: "COMPLETE", RunID: "run-2", JobNamespace: "sluice", JobName: "upload",
		OutputNamespace: "s3://raw", OutputName: "landing/user_events/a.csv", OutputZone: "raw", OutputDataset: "user_events"}
	return []Row{stream, root}
}

func TestRoundTrip(t *testing.T) {
	rows := sample()
	data, err := Encode(rows)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("round trip changed the rows:\n got %+v\nwant %+v", got, rows)
	}
	again, _ := Encode(got)
	if !bytes.Equal(again, data) {
		t.Fatal("encoding the same rows twice gave different bytes")
	}
}

func TestEncodeTruncatesToMillis(t *testing.T) {
	rows := sample()[:1]
	rows[0].EventTime = rows[0].EventTime.Add(456 * time.Microsecond).In(time.FixedZone("x", 3600))
	data, _ := Encode(rows)
	got, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 23, 9, 15, 30, 123_000_000, time.UTC)
	if !got[0].EventTime.Equal(want) || got[0].EventTime.Location() != time.UTC {
		t.Fatalf("event time %v, want %v UTC", got[0].EventTime, want)
	}
}

// The lines are what Athena's JSON SerDe and DuckDB read: the time without a zone, key columns
// always present, optional ones left out.
func TestWireShape(t *testing.T) {
	data, _ := Encode(sample()[1:])
	zr, _ := gzip.NewReader(bytes.NewReader(data))
	var buf bytes.Buffer
	buf.ReadFrom(zr)
	line := strings.TrimSpace(buf.String())
	if !strings.HasPrefix(line, `{"event_time":"2026-11-23 10:15:30.123","event_type":"COMPLETE"`) {
		t.Fatalf("line starts %.80s", line)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range Contract().Key {
		name := Contract().Fields[k].Name
		if v, ok := m[name]; !ok || v != "" && name != "output_namespace" && name != "output_name" {
			t.Errorf("key column %s = %v, %v: want it present (empty for a root)", name, v, ok)
		}
	}
	for _, absent := range []string{"input_rows", "output_rows", "event", "input_zone", "input_first_sequence"} {
		if _, ok := m[absent]; ok {
			t.Errorf("%s is written for a root row; want it left out", absent)
		}
	}
}

// The contract and the row agree column for column: a JSON name the contract lacks would be
// invisible to queries, a nullable column must be an omitempty field and the reverse.
func TestContractMatchesRow(t *testing.T) {
	c := Contract()
	if c.Name != Dataset || c.Fields[c.EventTime].Name != "event_time" {
		t.Fatalf("contract %s, event time %s", c.Name, c.Fields[c.EventTime].Name)
	}
	typ := reflect.TypeFor[Row]()
	if typ.NumField() != len(c.Fields) {
		t.Fatalf("Row has %d fields, the contract %d", typ.NumField(), len(c.Fields))
	}
	for i := range typ.NumField() {
		sf := typ.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		f := c.Fields[i]
		if f.Name != name {
			t.Errorf("field %d: Row writes %q, the contract names %q", i, name, f.Name)
		}
		if omit := opts == "omitempty"; omit != f.Nullable {
			t.Errorf("%s: omitempty %v but nullable %v", name, omit, f.Nullable)
		}
		if f.PII != contract.Keep {
			t.Errorf("%s: PII %s; lineage holds no personal data", name, f.PII)
		}
		wantKind := map[reflect.Type]contract.Kind{reflect.TypeFor[string](): contract.String, reflect.TypeFor[*int64](): contract.Long,
			reflect.TypeFor[time.Time](): contract.Timestamp}[sf.Type]
		if name == "event_type" {
			wantKind = contract.Enum
		}
		if f.Kind != wantKind {
			t.Errorf("%s: contract kind %s, want %s", name, f.Kind, wantKind)
		}
	}
	var keys []string
	for _, k := range c.Key {
		keys = append(keys, c.Fields[k].Name)
	}
	if got := strings.Join(keys, "+"); got != "output_namespace+output_name+output_version+input_namespace+input_name+input_shard" {
		t.Errorf("key %s", got)
	}
}

func TestKey(t *testing.T) {
	at := time.Date(2026, 11, 23, 23, 59, 59, 0, time.FixedZone("CET", 3600))
	if got, want := Key(at, "abc"), "lineage/dt=2026-11-23/hr=22/abc.json.gz"; got != want {
		t.Fatalf("Key = %s, want %s (partitioned on UTC)", got, want)
	}
}

func TestEncodeRefusesIncompleteRows(t *testing.T) {
	for name, edit := range map[string]func(*Row){
		"run_id":          func(r *Row) { r.RunID = "" },
		"event_time":      func(r *Row) { r.EventTime = time.Time{} },
		"event_type":      func(r *Row) { r.EventType = "DONE" },
		"input_namespace": func(r *Row) { r.InputNamespace = "" },
	} {
		rows := sample()
		edit(&rows[0])
		if _, err := Encode(rows); err == nil || !strings.Contains(err.Error(), strings.Split(name, "_")[0]) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if _, err := Encode(nil); err == nil {
		t.Error("no rows encoded without error")
	}
}

func TestDecodeErrors(t *testing.T) {
	if _, err := Decode([]byte("{}")); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("plain JSON: %v", err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("{\"event_time\":\"2026-11-23 09:00:00.000\"}\n\n{\"event_time\":\"yesterday\"}\n"))
	zw.Close()
	if _, err := Decode(buf.Bytes()); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("bad time on line 3: %v", err)
	}
}
