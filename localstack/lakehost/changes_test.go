package lakehost_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/localstack/lakehost"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/zone"
)

// The simulated source database of `make local`, through the Kafka stand-in, the Kafka event
// source mapping, the built ingest and the built promote: the curated change stream is the
// source table, row for row, though a tenth of the records arrive twice; the tombstones are
// quarantined; and the local query engine reads the table (unpartitioned, unlike the others).
func TestSimulatedSourceDatabase(t *testing.T) {
	bin := buildAll(t, "ingest", "promote")
	lake := startLake(t, lakehost.Config{BinDir: bin, KafkaTopics: map[string]string{"dbserver1.public.customers": "customers_changes"}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	changed, err := lake.ProduceChanges(ctx, 1500, 11)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 {
		t.Fatalf("changes written to %d topics, want the one change stream's", len(changed))
	}
	ch := changed[0]
	if ch.Dataset != "customers_changes" || ch.Tombstones == 0 || ch.Replayed == 0 || len(ch.Model) == 0 || ch.Records < ch.Changes+ch.Tombstones {
		t.Fatalf("changes %+v", ch)
	}
	if err := lake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	rows, diffs, err := lake.CheckChanges(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) > 0 || rows != len(ch.Model) {
		t.Fatalf("curated customers_changes has %d rows, the source table %d:\n%s", rows, len(ch.Model), strings.Join(diffs, "\n"))
	}
	counts, err := lake.Summary()
	if err != nil {
		t.Fatal(err)
	}
	byZone := map[zone.Zone]int64{}
	for _, c := range counts {
		if c.Dataset == "customers_changes" {
			byZone[c.Zone] += c.Rows
		}
	}
	// Every record is accounted for: tombstones quarantined, every change (replays included:
	// cleansed keeps what arrived) cleansed.
	if byZone[zone.Quarantine] != int64(ch.Tombstones) || byZone[zone.Cleansed] != int64(ch.Records-ch.Tombstones) {
		t.Errorf("cleansed %d, quarantined %d; want %d changes and %d tombstones", byZone[zone.Cleansed], byZone[zone.Quarantine], ch.Records-ch.Tombstones, ch.Tombstones)
	}

	eng, err := duckengine.Open(duckengine.Options{LakeDir: lake.Dir(), Buckets: lakehost.Buckets})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	c := &query.Compiler{Contracts: reg, HasData: eng.HasData}
	q, err := c.Compile(&query.Request{Dataset: "customers_changes", Zone: "curated", Aggregates: []query.Aggregate{{Func: "count"}}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := eng.Start(ctx, q)
	if err == nil {
		err = eng.Wait(ctx, id)
	}
	if err != nil {
		t.Fatal(err)
	}
	if st, err := eng.Status(ctx, id); err != nil || st.State != query.Succeeded {
		t.Fatalf("count of curated customers_changes: %v %+v\n%s", err, st, q.SQL)
	}
	page, err := eng.Results(ctx, id, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Rows) != 1 || fmt.Sprint(page.Rows[0][0]) != fmt.Sprint(len(ch.Model)) {
		t.Errorf("the query engine counts %v rows in curated customers_changes, the source table has %d", page.Rows, len(ch.Model))
	}
}
