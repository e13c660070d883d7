package ingest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/ingest"
	"github.com/sluicelake/sluice/shared/parquetfile"
)

// TestReferenceProducerRecordsLand sends records exactly as ../shared/reference/seed-producer.py
// writes them (json.dumps of a dict: no _dataset, event_date from datetime.now().isoformat() with
// no zone and microseconds, phone a JSON integer, one PutRecord each under one partition key)
// through ingest with customers as the default dataset, and reads the cleansed Parquet back.
func TestReferenceProducerRecordsLand(t *testing.T) {
	l := newLake(t)
	p := l.processor(t)
	p.Options.DefaultDataset = "customers"
	type want struct {
		phone string
		at    time.Time
	}
	wants := map[string]want{}
	var recs []ingest.Record
	for i := range 10 {
		// datetime.now() on a host whose clock zone is UTC, with microseconds.
		at := now.Add(-time.Duration(i*7) * time.Minute).Add(-time.Duration(123456+i*1111) * time.Microsecond)
		id := fmt.Sprintf("c4885146-33f7-481d-8cc6-e894b6f33d%02d", i)
		phone := 900000000 + i*9876543
		data := fmt.Sprintf(`{"uuid": %q, "event_date": %q, "status": "Inactive", "name": "Alicia", "last_name": "Olson", "email": "alicia%d@example.com", "phone": %d}`,
			id, at.Format("2006-01-02T15:04:05.000000"), i, phone)
		recs = append(recs, ingest.Record{Data: []byte(data), Stream: "kinesis-rd-stream", Shard: "shardId-000000000000",
			Sequence: fmt.Sprintf("4959%020d", i), PartitionKey: "partitionkey", Arrival: now})
		wants[id] = want{phone: fmt.Sprint(phone), at: at.Truncate(time.Millisecond)}
	}
	res, err := p.Process(runCtx, recs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != len(recs) || res.Quarantined != 0 || len(res.Failed) != 0 {
		t.Fatalf("written %d quarantined %d (%v) failed %d; want all %d written", res.Written, res.Quarantined, res.Reasons, len(res.Failed), len(recs))
	}
	if q := contents(t, l.quarantine); len(q) != 0 {
		t.Errorf("quarantine holds %d objects", len(q))
	}
	seen := 0
	for key, body := range contents(t, l.cleansed) {
		rows, err := parquetfile.ReadBytes(body) // parquet-go's generic reader
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		for _, row := range rows {
			id := row["uuid"].(string)
			w, ok := wants[id]
			if !ok {
				t.Fatalf("unexpected row %v", row)
			}
			seen++
			if row["phone"] != w.phone {
				t.Errorf("%s: phone %#v, want the integer's digits %q", id, row["phone"], w.phone)
			}
			if got := time.UnixMilli(row["event_date"].(int64)).UTC(); !got.Equal(w.at) {
				t.Errorf("%s: event_date %v, want %v (naive time read in UTC, to the ms)", id, got, w.at)
			}
			if part := w.at.Format("customers/dt=2006-01-02/hr=15/"); !strings.HasPrefix(key, part) {
				t.Errorf("%s in %s, want under %s", id, key, part)
			}
		}
	}
	if seen != len(recs) {
		t.Errorf("%d rows in cleansed, want %d", seen, len(recs))
	}
}
