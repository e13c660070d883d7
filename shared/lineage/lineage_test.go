package lineage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/lineage"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/openlineage"
	"github.com/sluicelake/sluice/shared/openlineage/oltest"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/zone"
)

type lake struct {
	raw, cleansed, curated, quarantine, lineage objectstore.Store
	rec                                         *lineage.Recorder
}

func newLake(t *testing.T, sink lineage.Emitter) *lake {
	client, _ := s3test.StartGofakes3(t)
	mk := func(name string) objectstore.Store { return s3store.New(client, s3test.CreateBucket(t, client, name)) }
	l := &lake{raw: mk("raw"), cleansed: mk("cleansed"), curated: mk("curated"), quarantine: mk("quarantine"), lineage: mk("lineage")}
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	l.rec = &lineage.Recorder{Store: l.lineage, Contracts: reg, Stream: "sluice-events", Region: "eu-west-1", Sink: sink,
		Zones: map[string]lineage.Zone{
			l.raw.Bucket(): {zone.Raw, l.raw}, l.cleansed.Bucket(): {zone.Cleansed, l.cleansed},
			l.curated.Bucket(): {zone.Curated, l.curated}, l.quarantine.Bucket(): {zone.Quarantine, l.quarantine}}}
	return l
}

func put(t *testing.T, s objectstore.Store, key string, rec *provenance.Record) objectstore.Info {
	t.Helper()
	ctx := context.Background()
	var err error
	if rec == nil {
		_, err = s.Put(ctx, key, []byte("a,b\n1,2\n"), objectstore.PutOptions{})
	} else {
		_, err = provenance.Put(ctx, s, key, []byte("PAR1…PAR1"), objectstore.PutOptions{}, rec)
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Head(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestRecordsEveryHop(t *testing.T) {
	l := newLake(t, nil)
	ctx := context.Background()
	run := "0d4c3a2b-1e0f-4a9b-8c7d-6e5f4a3b2c1d"

	// The Firehose archive carries no provenance: its source is the stream.
	archive := put(t, l.raw, "archive/user_events/dt=2026-11-23/hr=09/sluice-archive-1.parquet", nil)
	// A file drop (no provenance: a root) validated into cleansed, with its report.
	drop := put(t, l.raw, "landing/customers/2026/11/23/batch.csv", nil)
	report, _ := json.Marshal(map[string]any{"key": drop.Key, "bytes": drop.Size, "rows_in": 3, "valid": 2, "quarantined": 1,
		"columns": map[string]any{"uuid": map[string]any{"nulls": 0}, "amount": map[string]any{"nulls": 1, "min": "1.5", "max": "9"}}})
	if _, err := l.cleansed.Put(ctx, "_reports/customers/r1.json", report, objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	put(t, l.cleansed, "customers/dt=2026-11-23/hr=09/r1-0.parquet", &provenance.Record{Job: "validate", Run: run, Dataset: "customers",
		Kind: provenance.Data, Rows: 2, Report: "_reports/customers/r1.json",
		Inputs: []provenance.Input{{Bucket: l.raw.Bucket(), Key: drop.Key, ETag: drop.ETag, Rows: 2}}})
	// Stream records ingested into cleansed.
	put(t, l.cleansed, "user_events/dt=2026-11-23/hr=09/shardId-000000000000-4959.parquet", &provenance.Record{Job: "ingest", Run: "not-a-uuid",
		Dataset: "user_events", Kind: provenance.Data, Rows: 5,
		Inputs: []provenance.Input{{Stream: "sluice-events", Shard: "shardId-000000000000", First: "4959", Last: "4970", Rows: 5}}})
	// Promote merges two cleansed files, dropping a duplicate.
	put(t, l.curated, "user_events/dt=2026-11-23/hr=09/part-00000.parquet", &provenance.Record{Job: "promote", Dataset: "user_events",
		Kind: provenance.Data, Rows: 7, Dropped: map[string]int64{"duplicate": 1},
		Inputs: []provenance.Input{{Bucket: l.cleansed.Bucket(), Key: "user_events/dt=2026-11-23/hr=09/shardId-000000000000-4959.parquet", Rows: 5},
			{Bucket: l.cleansed.Bucket(), Key: "user_events/dt=2026-11-23/hr=09/shardId-000000000000-4971.parquet", Rows: 3}}})

	cases := []struct {
		s               objectstore.Store
		key, job, ds    string
		inputs          int
		inputNamespace  string
		outputRows      int64
		wantRunPreserve bool
	}{
		{l.raw, drop.Key, "upload", "customers", 0, "", -1, false},
		{l.raw, archive.Key, "firehose", "user_events", 1, "kinesis://eu-west-1", -1, false},
		{l.cleansed, "customers/dt=2026-11-23/hr=09/r1-0.parquet", "validate", "customers", 1, "s3://" + l.raw.Bucket(), 2, true},
		{l.cleansed, "user_events/dt=2026-11-23/hr=09/shardId-000000000000-4959.parquet", "ingest", "user_events", 1, "kinesis://eu-west-1", 5, false},
		{l.curated, "user_events/dt=2026-11-23/hr=09/part-00000.parquet", "promote", "user_events", 2, "s3://" + l.cleansed.Bucket(), 7, false},
	}
	for _, c := range cases {
		t.Run(c.job, func(t *testing.T) {
			res, err := l.rec.Record(ctx, c.s.Bucket(), c.key, objectstore.ReadOptions{})
			if err != nil || res.Outcome != lineage.Recorded {
				t.Fatalf("%v %v", res.Outcome, err)
			}
			oltest.Validate(t, res.Event)
			stored := readRows(t, l.lineage, res.Key)
			if len(stored) != max(c.inputs, 1) || stored[0].Event == "" {
				t.Fatalf("%d rows stored, want %d with the event on the first", len(stored), max(c.inputs, 1))
			}
			for _, row := range stored {
				if row.JobName != c.job || row.OutputName != c.key || row.OutputDataset != c.ds || row.OutputNamespace != "s3://"+c.s.Bucket() {
					t.Errorf("row %+v", row)
				}
				if c.inputs > 0 && row.InputNamespace != c.inputNamespace {
					t.Errorf("input namespace %s, want %s", row.InputNamespace, c.inputNamespace)
				}
				if (c.outputRows < 0) != (row.OutputRows == nil) || (row.OutputRows != nil && *row.OutputRows != c.outputRows) {
					t.Errorf("output rows %v, want %d", row.OutputRows, c.outputRows)
				}
				if c.wantRunPreserve && row.RunID != run {
					t.Errorf("run %s, want the writer's %s", row.RunID, run)
				}
				if !openlineage.IsUUID(row.RunID) {
					t.Errorf("run id %q is not a UUID", row.RunID)
				}
			}
			var ev map[string]any
			json.Unmarshal(res.Event, &ev)
			switch c.job {
			case "validate":
				if !strings.Contains(string(res.Event), `"dataQualityMetrics"`) || !strings.Contains(string(res.Event), `"rowCount":3`) {
					t.Errorf("validate's input lacks the report's data-quality metrics: %s", oltest.Pretty(res.Event))
				}
			case "ingest":
				if stored[0].InputShard != "shardId-000000000000" || stored[0].InputFirstSequence != "4959" || stored[0].InputLastSequence != "4970" {
					t.Errorf("stream range %+v", stored[0])
				}
			case "promote":
				if !strings.Contains(string(res.Event), `"duplicate":1`) || !strings.Contains(string(res.Event), `"columnLineage"`) {
					t.Errorf("promote's event lacks its dropped duplicates or column lineage: %s", oltest.Pretty(res.Event))
				}
				if !strings.Contains(string(res.Event), `"masking":true`) {
					t.Errorf("user_events hashes or masks a field in curated, but no column lineage says so")
				}
			}
		})
	}
}

func readRows(t *testing.T, s objectstore.Store, key string) []table.Row {
	t.Helper()
	rc, _, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	rows, err := table.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// A duplicated event stores and forwards nothing twice; a failed forward is retried whole.
func TestDuplicatesAndForwarding(t *testing.T) {
	var posts, fail atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if fail.Load() > 0 {
			fail.Add(-1)
			http.Error(w, "bad gateway", http.StatusBadRequest)
			return
		}
		if err := oltest.Check(b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		posts.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	sink, err := lineage.SinkFromEnv(func(k string) string {
		return map[string]string{"SLUICE_OPENLINEAGE_URL": srv.URL}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	l := newLake(t, sink)
	ctx := context.Background()
	key := "user_events/dt=2026-11-23/hr=09/a.parquet"
	put(t, l.cleansed, key, &provenance.Record{Job: "ingest", Dataset: "user_events", Kind: provenance.Data, Rows: 1,
		Inputs: []provenance.Input{{Stream: "s", Shard: "shardId-000000000001", First: "1", Last: "1", Rows: 1}}})

	fail.Store(1)
	if _, err := l.rec.Record(ctx, l.cleansed.Bucket(), key, objectstore.ReadOptions{}); err == nil {
		t.Fatal("a refused forward was not an error: the event would not be retried")
	}
	for i, want := range []lineage.Outcome{lineage.Recorded, lineage.Duplicate, lineage.Duplicate} {
		res, err := l.rec.Record(ctx, l.cleansed.Bucket(), key, objectstore.ReadOptions{})
		if err != nil || res.Outcome != want {
			t.Fatalf("delivery %d: %v %v, want %s", i, res.Outcome, err, want)
		}
	}
	if posts.Load() != 1 {
		t.Fatalf("%d events forwarded, want 1", posts.Load())
	}
	all, _ := l.lineage.List(ctx, "")
	if len(all) != 1 {
		t.Fatalf("%d lineage objects, want 1", len(all))
	}
}

func TestSkipsWhatIsNotAnOutput(t *testing.T) {
	l := newLake(t, nil)
	ctx := context.Background()
	for _, key := range []string{"_locks/user_events/dt=2026-11-23/hr=09", "_lineage/x.parquet.json", "_reports/customers/r.json"} {
		if res, err := l.rec.Record(ctx, l.curated.Bucket(), key, objectstore.ReadOptions{}); err != nil || res.Outcome != lineage.Skipped {
			t.Errorf("%s: %v %v, want skipped", key, res.Outcome, err)
		}
	}
	// Bookkeeping that exists is skipped too, unless it carries provenance (a promote marker).
	if _, err := l.curated.Put(ctx, "_manifests/user_events/dt=2026-11-23/hr=09/promote.json", []byte("{}"), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if res, err := l.rec.Record(ctx, l.curated.Bucket(), "_manifests/user_events/dt=2026-11-23/hr=09/promote.json", objectstore.ReadOptions{}); err != nil || res.Outcome != lineage.Skipped {
		t.Errorf("manifest: %v %v, want skipped", res.Outcome, err)
	}
	marker := "_absorbed/user_events/dt=2026-11-23/hr=09/0f.json"
	put(t, l.curated, marker, &provenance.Record{Job: "promote", Dataset: "user_events", Kind: provenance.Marker,
		Dropped: map[string]int64{"duplicate": 3}, Inputs: []provenance.Input{{Bucket: l.cleansed.Bucket(), Key: "user_events/dt=2026-11-23/hr=09/replay.parquet"}}})
	res, err := l.rec.Record(ctx, l.curated.Bucket(), marker, objectstore.ReadOptions{})
	if err != nil || res.Outcome != lineage.Recorded || len(res.Rows) != 1 || *res.Rows[0].OutputRows != 0 || !strings.Contains(string(res.Event), `"duplicate":3`) {
		t.Fatalf("marker: %v %v %+v", res.Outcome, err, res.Rows)
	}
	oltest.Validate(t, res.Event)
	if res, err := l.rec.Record(ctx, l.curated.Bucket(), "user_events/dt=2026-11-23/hr=09/gone.parquet", objectstore.ReadOptions{}); err != nil || res.Outcome != lineage.Gone {
		t.Errorf("deleted object: %v %v, want gone", res.Outcome, err)
	}
	if _, err := l.rec.Record(ctx, "elsewhere", "k", objectstore.ReadOptions{}); err == nil || !strings.Contains(err.Error(), "not a zone") {
		t.Errorf("foreign bucket: %v", err)
	}
}

// The Firehose archive's Parquet objects carry no provenance: their rows are read from the
// footer, and are the rows taken from the stream.
func TestArchiveRowsFromTheFooter(t *testing.T) {
	l := newLake(t, nil)
	ctx := context.Background()
	var b bytes.Buffer
	w := parquet.NewGenericWriter[struct {
		EventID string `parquet:"event_id"`
	}](&b)
	for i := 0; i < 1234; i++ {
		w.Write([]struct {
			EventID string `parquet:"event_id"`
		}{{fmt.Sprint(i)}})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	key := "archive/user_events/dt=2026-11-23/hr=09/sluice-archive-2-2026-11-23-09-00-00-abc"
	if _, err := l.raw.Put(ctx, key, b.Bytes(), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := l.rec.Record(ctx, l.raw.Bucket(), key, objectstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	oltest.Validate(t, res.Event)
	r := res.Rows[0]
	if r.JobName != "firehose" || r.OutputRows == nil || *r.OutputRows != 1234 || r.InputRows == nil || *r.InputRows != 1234 || r.InputName != "sluice-events" {
		t.Fatalf("row %+v (output rows %v, input rows %v)", r, r.OutputRows, r.InputRows)
	}
	if !strings.Contains(string(res.Event), `"rowCount":1234`) {
		t.Errorf("event without output statistics: %s", oltest.Pretty(res.Event))
	}
}
