package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/s3fault"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/ingest"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/record/recordtest"
	"github.com/sluicelake/sluice/shared/streammap"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// goodRecord i spreads events over three hours and sets every optional field on some records.
func goodRecord(i int) (string, map[string]any) {
	ts := now.Add(-time.Duration(i%3) * time.Hour).Add(-time.Duration(i) * time.Second)
	want := map[string]any{
		"event_id":   fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		"user_id":    fmt.Sprintf("u_%d", i%17),
		"event_type": []string{"page_view", "click", "purchase"}[i%3],
		"timestamp":  ts.UnixMilli(),
	}
	rec := fmt.Sprintf(`{"_dataset":"user_events","event_id":%q,"user_id":%q,"event_type":%q,"timestamp":%q`,
		want["event_id"], want["user_id"], want["event_type"], ts.Format(time.RFC3339Nano))
	if i%2 == 0 {
		want["amount"] = float64(i) + 0.25
		want["page"] = fmt.Sprintf("/p/%d", i)
		want["properties"] = map[string]any{"n": fmt.Sprint(i)}
		rec += fmt.Sprintf(`,"amount":%v,"page":%q,"properties":{"n":"%d"}`, want["amount"], want["page"], i)
	}
	return rec + "}", want
}

type fixture struct {
	recs []ingest.Record
	want map[string]map[string]any // by event_id
	hour []int                     // event hour of each record, -1 for bad ones
	bad  int
}

func makeBatch(nGood int) fixture {
	f := fixture{want: map[string]map[string]any{}}
	bad := recordtest.BadRecords(64 << 10)
	seq := 1000
	add := func(data []byte) {
		seq++
		f.recs = append(f.recs, ingest.Record{Data: data, Stream: "events", Shard: "shardId-000000000000",
			Sequence: fmt.Sprintf("4959%020d", seq), PartitionKey: "pk", Arrival: now})
	}
	for i := 0; i < nGood; i++ {
		rec, want := goodRecord(i)
		add([]byte(rec))
		f.hour = append(f.hour, time.UnixMilli(want["timestamp"].(int64)).UTC().Hour())
		f.want[want["event_id"].(string)] = want
		if i%4 == 1 && f.bad < len(bad) {
			add(bad[f.bad].Data)
			f.hour = append(f.hour, -1)
			f.bad++
		}
	}
	return f
}

type lake struct {
	cleansed, quarantine objectstore.Store
	proxy                *s3fault.Proxy
}

func newLake(t *testing.T) lake {
	_, endpoint := s3test.StartGofakes3(t)
	proxy, err := s3fault.Start(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	client := s3test.NewClient(proxy.URL, s3test.AccessKey, s3test.SecretKey)
	return lake{
		cleansed:   s3store.New(client, s3test.CreateBucket(t, client, "cleansed")),
		quarantine: s3store.New(client, s3test.CreateBucket(t, client, "quarantine")),
		proxy:      proxy,
	}
}

func (l lake) processor(t *testing.T) *ingest.Processor {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	return &ingest.Processor{Contracts: reg, Cleansed: l.cleansed, Quarantine: l.quarantine,
		Options: record.Options{MaxRecordBytes: 64 << 10, Now: func() time.Time { return now }}}
}

// contents reads every object of a store: key → bytes.
func contents(t *testing.T, s objectstore.Store) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	infos, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, in := range infos {
		rc, _, err := s.Get(ctx, in.Key)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		out[in.Key] = b
	}
	return out
}

// check verifies the lake holds every good record exactly once with every field as produced,
// and every bad record exactly once in quarantine with its original bytes.
func check(t *testing.T, l lake, f fixture) {
	t.Helper()
	seen := map[string]int{}
	for key, body := range contents(t, l.cleansed) {
		if !strings.HasPrefix(key, "user_events/dt=2026-11-23/hr=") || !strings.HasSuffix(key, ".parquet") {
			t.Errorf("unexpected key %s", key)
		}
		rows, err := parquetfile.ReadBytes(body)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		for _, row := range rows {
			id := row["event_id"].(string)
			seen[id]++
			want := f.want[id]
			for k, v := range want {
				if fmt.Sprint(row[k]) != fmt.Sprint(v) {
					t.Errorf("%s: %s = %v, want %v", id, k, row[k], v)
				}
			}
			for _, k := range []string{"amount", "page", "properties"} {
				if _, set := want[k]; !set && row[k] != nil {
					t.Errorf("%s: %s = %v, want null", id, k, row[k])
				}
			}
			hr := fmt.Sprintf("hr=%02d", time.UnixMilli(want["timestamp"].(int64)).UTC().Hour())
			if !strings.Contains(key, hr) {
				t.Errorf("%s is in %s, want %s", id, key, hr)
			}
		}
	}
	for id := range f.want {
		if seen[id] != 1 {
			t.Errorf("record %s is in the cleansed zone %d times", id, seen[id])
		}
	}
	originals := map[string]int{}
	for _, body := range contents(t, l.quarantine) {
		entries, err := quarantine.Decode(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			originals[e.Source.Sequence]++
			if e.Reason == "" || e.Detail == "" || e.Source.Shard == "" {
				t.Errorf("entry without reason or source: %+v", e)
			}
		}
	}
	nq := 0
	for _, r := range f.recs {
		if _, rej := record.NewBatch(mustRegistry(t), record.Options{MaxRecordBytes: 64 << 10, Now: func() time.Time { return now }}).Add(r.Data, 0); rej != nil {
			nq++
			if originals[r.Sequence] != 1 {
				t.Errorf("bad record %s is in quarantine %d times", r.Sequence, originals[r.Sequence])
			}
		}
	}
	if nq != f.bad {
		t.Errorf("%d bad records, want %d", nq, f.bad)
	}
	checkProvenance(t, l, f)
}

// checkProvenance verifies every object says which stream range it holds and how many rows,
// and that the rows of all objects add up to the batch.
func checkProvenance(t *testing.T, l lake, f fixture) {
	t.Helper()
	ctx := context.Background()
	total := int64(0)
	for _, s := range []objectstore.Store{l.cleansed, l.quarantine} {
		infos, err := s.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range infos {
			head, err := s.Head(ctx, in.Key)
			if err != nil {
				t.Fatal(err)
			}
			p, err := provenance.Of(ctx, s, in.Key, head.Metadata)
			if err != nil {
				t.Fatalf("%s: %v", in.Key, err)
			}
			rows := int64(countRows(t, s, in.Key))
			if p.Job != "ingest" || p.Run != "run-1" || p.Rows != rows || len(p.Inputs) != 1 || p.Inputs[0].Rows != rows {
				t.Errorf("%s: provenance %+v, want job ingest, run run-1, %d rows from one input", in.Key, p, rows)
				continue
			}
			in0 := p.Inputs[0]
			if in0.Stream != "events" || in0.Shard != "shardId-000000000000" || in0.First > in0.Last || !strings.Contains(in.Key, in0.First) {
				t.Errorf("%s: input %+v is not the object's stream range", in.Key, in0)
			}
			total += rows
		}
	}
	if total != int64(len(f.recs)) {
		t.Errorf("objects account for %d rows, the batch had %d", total, len(f.recs))
	}
}

func countRows(t *testing.T, s objectstore.Store, key string) int {
	body := contents(t, s)[key]
	if strings.HasSuffix(key, ".parquet") {
		rows, err := parquetfile.ReadBytes(body)
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}
	entries, err := quarantine.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func mustRegistry(t *testing.T) map[string]*contract.Contract {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestBatchLandsEveryRecordOnce(t *testing.T) {
	l := newLake(t)
	f := makeBatch(300)
	res, err := l.processor(t).Process(runCtx, f.recs)
	if err != nil {
		t.Fatal(err)
	}
	if res.In != len(f.recs) || res.Written != len(f.want) || res.Quarantined != f.bad || len(res.Failed) != 0 {
		t.Fatalf("in %d written %d quarantined %d failed %d; want %d %d %d 0", res.In, res.Written, res.Quarantined, len(res.Failed), len(f.recs), len(f.want), f.bad)
	}
	if f.bad < 25 {
		t.Fatalf("only %d bad records in the batch", f.bad)
	}
	check(t, l, f)
}

func TestReplayChangesNothing(t *testing.T) {
	l := newLake(t)
	f := makeBatch(120)
	p := l.processor(t)
	if _, err := p.Process(runCtx, f.recs); err != nil {
		t.Fatal(err)
	}
	before := contents(t, l.cleansed)
	beforeQ := contents(t, l.quarantine)
	if _, err := p.Process(runCtx, f.recs); err != nil {
		t.Fatal(err)
	}
	after := contents(t, l.cleansed)
	if len(after) != len(before) || len(contents(t, l.quarantine)) != len(beforeQ) {
		t.Fatalf("replay changed the object count: %d → %d", len(before), len(after))
	}
	for k, b := range before {
		if !bytes.Equal(after[k], b) {
			t.Errorf("%s changed on replay", k)
		}
	}
	check(t, l, f)
}

// A write that fails makes the batch commit only the records before the failed object's first
// record; the redelivery from there (as Lambda does) completes the lake without duplicates.
func TestFailedWriteReportsUncommittedRecordsAndRetryCompletes(t *testing.T) {
	l := newLake(t)
	f := makeBatch(200)
	p := l.processor(t)
	// Fail every write to the hr=11 partition.
	l.proxy.FailWhen(func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/hr=11/")
	})
	res, err := p.Process(runCtx, f.recs)
	if err != nil {
		t.Fatal(err)
	}
	if l.proxy.Fails == 0 || len(res.Failed) == 0 {
		t.Fatalf("no failure injected (%d) or reported (%d)", l.proxy.Fails, len(res.Failed))
	}
	firstFailed := -1
	for i, r := range f.recs {
		if r.Sequence == res.Failed[0] {
			firstFailed = i
		}
	}
	firstOf11 := 0
	for f.hour[firstOf11] != 11 {
		firstOf11++
	}
	if firstOf11 == 0 || firstFailed != firstOf11 {
		t.Fatalf("first failed record is #%d, want #%d (the first of hr=11)", firstFailed, firstOf11)
	}
	for i, seq := range res.Failed {
		if seq != f.recs[firstFailed+i].Sequence {
			t.Fatalf("failed list is not the uncommitted suffix at %d", i)
		}
	}
	if res.In != res.Written+res.Quarantined+len(res.Failed) {
		t.Fatalf("unaccounted: %+v", res)
	}
	l.proxy.FailWhen(nil)
	retry, err := p.Process(runCtx, f.recs[firstFailed:])
	if err != nil || len(retry.Failed) != 0 {
		t.Fatalf("retry: %v, %d failed", err, len(retry.Failed))
	}
	if res.Written+retry.Written != len(f.want) || res.Quarantined+retry.Quarantined != f.bad {
		t.Fatalf("written %d+%d quarantined %d+%d", res.Written, retry.Written, res.Quarantined, retry.Quarantined)
	}
	check(t, l, f)
}

// runCtx names the run, as the function's handler does with the Lambda request id.
var runCtx = provenance.WithRun(context.Background(), "run-1")

// A dataset's own stream routes records without _dataset to that dataset, whatever the shared
// stream's default; provenance names the stream they came on; a record naming another dataset
// is quarantined under the stream's dataset with its reason.
func TestRecordsAreRoutedByTheirStream(t *testing.T) {
	l := newLake(t)
	p := l.processor(t)
	p.Options.DefaultDataset = "user_events"
	streams, err := streammap.Parse(`{"customers":"sluice-customers"}`, "sluice-events")
	if err != nil {
		t.Fatal(err)
	}
	p.Streams = streams
	customer := `"uuid":"0b6f7c1e-9c55-4d8e-8f0e-2f1d1c7a9b1%d","event_date":"2026-11-23T09:00:00Z","status":"Active","name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone":"+44 20 7946 0958"}`
	var recs []ingest.Record
	for i, data := range []string{
		"{" + fmt.Sprintf(customer, 0),
		`{"_dataset":"customers",` + fmt.Sprintf(customer, 1),
		`{"_dataset":"user_events",` + fmt.Sprintf(customer, 2),
	} {
		recs = append(recs, ingest.Record{Data: []byte(data), Stream: "sluice-customers", Shard: "shardId-000000000000",
			Sequence: fmt.Sprintf("4959%020d", i), PartitionKey: "pk", Arrival: now})
	}
	res, err := p.Process(runCtx, recs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 2 || res.Datasets["customers"] != 2 || res.Quarantined != 1 || res.Reasons[string(record.WrongStream)] != 1 {
		t.Fatalf("result %+v: want 2 customers written, 1 quarantined as %s", res, record.WrongStream)
	}
	ctx := context.Background()
	for _, s := range []objectstore.Store{l.cleansed, l.quarantine} {
		infos, err := s.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range infos {
			if strings.HasPrefix(in.Key, provenance.SidecarPrefix) {
				continue
			}
			if !strings.HasPrefix(in.Key, "customers/") {
				t.Errorf("%s/%s: want it under customers/", s.Bucket(), in.Key)
			}
			head, err := s.Head(ctx, in.Key)
			if err != nil {
				t.Fatal(err)
			}
			prov, err := provenance.Of(ctx, s, in.Key, head.Metadata)
			if err != nil {
				t.Fatal(err)
			}
			if prov.Dataset != "customers" || prov.Inputs[0].Stream != "sluice-customers" {
				t.Errorf("%s: provenance names dataset %q, stream %q; want customers from sluice-customers", in.Key, prov.Dataset, prov.Inputs[0].Stream)
			}
		}
	}
}
