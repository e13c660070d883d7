package lakehost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/lakehost"
	"github.com/sluicelake/sluice/shared/collect"
	"github.com/sluicelake/sluice/shared/fake"
)

func post(t testing.TB, url string, body []byte) (int, collect.Answer) {
	t.Helper()
	resp, err := http.Post(url, "application/x-ndjson", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a collect.Answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("answer: %v", err)
	}
	return resp.StatusCode, a
}

// TestEventsOverHTTP posts good and bad records of every dataset to the local events route (the
// built collect function, invoked as API Gateway would): good ones are answered accepted and
// reach the cleansed zone, bad ones are answered with the very code ingest would quarantine
// them under, and never reach the stream.
func TestEventsOverHTTP(t *testing.T) {
	bin := buildAll(t, "ingest", "collect")
	lake := startLake(t, lakehost.Config{BinDir: bin, ArchiveScale: -1})
	dir := lake.Dir()
	if lake.Collect == nil {
		t.Fatal("collect was built but the lake did not start it")
	}
	srv := httptest.NewServer(lake.EventsAPI())
	defer srv.Close()

	reg, _ := events.Registry()
	p := &produced{good: map[string][]byte{}, bad: map[string]int{}}
	for _, ds := range []string{"user_events", "customers"} {
		g, err := fake.New(reg[ds], fake.Options{Seed: 7, BadShare: 0.2, BadKinds: fake.LineKinds(reg[ds])})
		if err != nil {
			t.Fatal(err)
		}
		recs := g.Take(300)
		for recs[0].Bad != "" { // a JSON-lines body opens with an object
			recs = recs[1:]
		}
		status, a := post(t, srv.URL+"/events/"+ds, fake.JSONLines(recs))
		if status != 200 || len(a.Records) != len(recs) {
			t.Fatalf("POST /events/%s: %d, %d answers for %d records: %s", ds, status, len(a.Records), len(recs), a.Error)
		}
		bad := 0
		for i, r := range recs {
			got := a.Records[i]
			if r.Bad == "" {
				if got.SequenceNumber == "" || got.ShardId == "" {
					t.Errorf("%s record %d: good, answered %+v", ds, i, got)
				}
				p.good[recordKey(t, reg[ds], r.Data)] = r.Data
				p.sent++
				continue
			}
			bad++
			if got.ErrorCode != string(r.Bad) || got.SequenceNumber != "" {
				t.Errorf("%s record %d: bad as %s (field %q), answered %+v", ds, i, r.Bad, r.Field, got)
			}
		}
		if a.FailedRecordCount != bad {
			t.Errorf("%s: FailedRecordCount %d, want %d", ds, a.FailedRecordCount, bad)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := lake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	verify(t, dir, p) // every good record once in cleansed with its values; nothing quarantined

	if status, a := post(t, srv.URL+"/events/orders", []byte(`{}`)); status != 404 || a.Error == "" {
		t.Errorf("unknown dataset: %d %+v", status, a)
	}
}

// BenchmarkEventsOverHTTP measures records/s through the local events route: HTTP, the API
// Gateway event, the built collect function through the Runtime API, validation and PutRecords
// to kinesis-local, in calls of 500 records.
func BenchmarkEventsOverHTTP(b *testing.B) {
	bin := buildAll(b, "ingest", "collect")
	lake, err := lakehost.Start(context.Background(), lakehost.Config{Dir: filepath.Join(b.TempDir(), "lake"), BinDir: bin, ArchiveScale: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer lake.Close()
	srv := httptest.NewServer(lake.EventsAPI())
	defer srv.Close()
	reg, _ := events.Registry()
	g, err := fake.New(reg["user_events"], fake.Options{Seed: 3})
	if err != nil {
		b.Fatal(err)
	}
	body := fake.JSONLines(g.Take(collect.MaxRecords))
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if status, a := post(b, srv.URL+"/events/user_events", body); status != 200 || a.FailedRecordCount != 0 {
			b.Fatalf("%d %d failed: %s", status, a.FailedRecordCount, a.Error)
		}
	}
	b.ReportMetric(float64(b.N*collect.MaxRecords)/b.Elapsed().Seconds(), "records/s")
}
