package lakehost_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sluicelake/sluice/localstack/lakehost"
	"github.com/sluicelake/sluice/shared/erase"
	"github.com/sluicelake/sluice/shared/erase/erasetest"
	"github.com/sluicelake/sluice/shared/piikey"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/zone"
)

// TestEraseInALocalRun runs the lake with the built ingest and promote (the stream archived by
// the local Firehose), erases one user of user_events and reads every version of every object
// in the four zone buckets: the user's id, as sent and as curated hashes it, is nowhere, and
// the other users' curated rows are all there.
func TestEraseInALocalRun(t *testing.T) {
	const key = "0011223344556677"
	t.Setenv("SLUICE_PII_KEY", key) // the key the lake gives promote, so the test can hash too
	bin := buildAll(t, "ingest", "promote")
	lake := startLake(t, lakehost.Config{BinDir: bin})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p := &produced{good: map[string][]byte{}, bad: map[string]int{}}
	produce(t, lake, 600, 31, p)
	produce(t, lake, 300, 32, p) // a second round: curated files replaced, older snapshots
	if err := lake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	rows := zoneRows(t, lake.Dir(), zone.Cleansed, "user_events")
	if len(rows) == 0 {
		t.Fatal("no cleansed user_events")
	}
	user := rows[len(rows)/2]["user_id"].(string)
	hashed := promote.HashHex(piikey.Decode([]byte(key)), []byte(user))
	others := map[string]int{}
	for _, r := range zoneRows(t, lake.Dir(), zone.Curated, "user_events") {
		if r["user_id"] != hashed {
			others[r["event_id"].(string)]++
		}
	}
	held := 0
	for _, z := range []zone.Zone{zone.Raw, zone.Cleansed, zone.Curated} {
		for _, v := range erasetest.AllVersions(t, lake.S3Client, lakehost.Buckets[z]) {
			if len(erasetest.Traces(v.Body, user, hashed)) > 0 {
				held++
			}
		}
	}
	rep, err := lake.Eraser(0).Erase(ctx, erase.Request{Dataset: "user_events", Field: "user_id", Key: user, Run: "erase-local"})
	if err != nil {
		t.Fatal(err)
	}
	// The rewritten cleansed objects are new objects to promote, as on AWS: let it run.
	if err := lake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(rep)
	if rep.RowsRemoved == 0 || rep.Versions == 0 || held == 0 {
		t.Fatalf("report %s with %d versions holding the user before: want rows and versions removed", js, held)
	}
	for _, z := range []zone.Zone{zone.Raw, zone.Cleansed, zone.Curated, zone.Quarantine} {
		for _, v := range erasetest.AllVersions(t, lake.S3Client, lakehost.Buckets[z]) {
			if w := erasetest.Traces(v.Body, user, hashed); len(w) > 0 {
				t.Errorf("s3://%s/%s version %s (latest %v) still holds the user: %v", v.Bucket, v.Key, v.ID, v.Latest, w)
			}
		}
	}
	after := map[string]int{}
	for _, r := range zoneRows(t, lake.Dir(), zone.Curated, "user_events") {
		after[r["event_id"].(string)]++
	}
	for id := range others {
		if after[id] != 1 {
			t.Errorf("another user's event %s is in curated %d times after the erasure", id, after[id])
		}
	}
	t.Logf("erased one user of %d curated events: %s", len(others), js)
}
