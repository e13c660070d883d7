package duckengine_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/shared/erase"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/query/api"
	"github.com/sluicelake/sluice/shared/query/querytest"
)

// TestTimeTravelHistoryRollback serves the API over a curated Iceberg table with two snapshots
// (240 rows, then an overwrite to 100): the history lists both, as_of reads the earlier rows by
// snapshot id and by time, a caller without "manage" cannot roll back, a steward can, and the
// rollback is a new snapshot whose rows are the first one's, history kept.
func TestTimeTravelHistoryRollback(t *testing.T) {
	dir := t.TempDir()
	writeLake(t, dir, "curated", querytest.Generate(240, 1))
	eng := open(t, dir)
	first, err := eng.CuratedFiles(t.Context(), "user_events", iceberg.At{})
	if err != nil {
		t.Fatal(err)
	}
	var replace []string
	for _, f := range first {
		rel, _ := filepath.Rel(filepath.Join(dir, "curated"), f)
		replace = append(replace, "s3://curated/"+filepath.ToSlash(rel))
	}
	writeLake(t, dir, "curated", querytest.Generate(100, 1), replace...)

	policy, err := events.Access()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := duckengine.Serve(duckengine.ServeOptions{Engine: duckengine.Options{LakeDir: dir}, Contracts: reg, Access: policy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	const (
		steward = "arn:aws:iam::123456789012:role/sluice-data-steward"
		analyst = "arn:aws:iam::123456789012:role/sluice-analyst"
	)
	call := func(caller, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set(api.CallerHeader, caller)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	type snapshot struct {
		ID           int64  `json:"snapshot_id"`
		Time         string `json:"time"`
		Operation    string `json:"operation"`
		AddedRows    int64  `json:"added_rows"`
		DeletedRows  int64  `json:"deleted_rows"`
		Current      bool   `json:"current"`
		RolledBackTo *int64 `json:"rolled_back_to"`
	}
	history := func() []snapshot {
		t.Helper()
		code, body := call(analyst, "GET", "/tables/user_events/history", "")
		var h struct{ Snapshots []snapshot }
		if code != 200 || json.Unmarshal([]byte(body), &h) != nil {
			t.Fatalf("history: %d %s", code, body)
		}
		return h.Snapshots
	}
	count := func(asOf string) int {
		t.Helper()
		q := `{"dataset":"user_events","aggregates":[{"fn":"count","as":"n"}]`
		if asOf != "" {
			q += `,"as_of":` + asOf
		}
		code, body := call(analyst, "POST", "/queries?wait=20", q+"}")
		var m struct {
			SQL     string
			Results struct{ Rows [][]float64 }
		}
		if code != 200 || json.Unmarshal([]byte(body), &m) != nil || len(m.Results.Rows) != 1 {
			t.Fatalf("count as of %s: %d %s", asOf, code, body)
		}
		if asOf != "" && !strings.Contains(m.SQL, "AS OF") {
			t.Errorf("the SQL carries no AS OF clause for Athena: %s", m.SQL)
		}
		return int(m.Results.Rows[0][0])
	}

	h := history()
	if len(h) != 2 || h[0].Operation != "append" || h[0].AddedRows != 240 || h[1].Operation != "overwrite" || h[1].DeletedRows != 240 || !h[1].Current {
		t.Fatalf("history %+v", h)
	}
	if n := count(""); n != 100 {
		t.Errorf("current: %d rows, want 100", n)
	}
	if n := count(fmt.Sprint(h[0].ID)); n != 240 {
		t.Errorf("as of snapshot %d: %d rows, want 240", h[0].ID, n)
	}
	if n := count(`"` + h[0].Time + `"`); n != 240 {
		t.Errorf("as of %s: %d rows, want 240", h[0].Time, n)
	}
	for body, want := range map[string]string{
		`{"dataset":"user_events","zone":"cleansed","as_of":1}`: "keeps no snapshots",
		`{"dataset":"user_events","as_of":"yesterday"}`:         "RFC 3339",
		`{"dataset":"user_events","as_of":42}`:                  "no snapshot 42",
	} {
		code, got := call(steward, "POST", "/queries?wait=20", body)
		if (code != 400 && code != 200) || !strings.Contains(got, want) {
			t.Errorf("%s: %d %s, want %q", body, code, got, want)
		}
	}

	rollback := fmt.Sprintf(`{"snapshot_id":%d}`, h[0].ID)
	if code, body := call(analyst, "POST", "/tables/user_events/rollback", rollback); code != 403 || !strings.Contains(body, `\"manage\": true`) {
		t.Errorf("analyst rolls back: %d %s", code, body)
	}
	if code, body := call(steward, "POST", "/tables/user_events/rollback", `{"snapshot_id":42}`); code != 400 || !strings.Contains(body, "no snapshot 42") {
		t.Errorf("rollback to a snapshot the table never had: %d %s", code, body)
	}
	code, body := call(steward, "POST", "/tables/user_events/rollback", rollback)
	if code != 200 {
		t.Fatalf("steward rolls back: %d %s", code, body)
	}
	h = history()
	if len(h) != 3 || !h[2].Current || h[2].RolledBackTo == nil || *h[2].RolledBackTo != h[0].ID {
		t.Fatalf("history after the rollback %+v: want the two snapshots kept and a third restoring the first", h)
	}
	if n := count(""); n != 240 {
		t.Errorf("after the rollback: %d rows, want the first snapshot's 240", n)
	}
	if n := count(fmt.Sprint(h[1].ID)); n != 100 {
		t.Errorf("the overwritten state is still readable as of %d: %d rows, want 100", h[1].ID, n)
	}

	// An erasure kept the second snapshot for its grace period (it still holds erased rows): a
	// rollback to it would make the erased rows current again, and is refused.
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	record := fmt.Sprintf(`{"dataset":"user_events","snapshots":[{"snapshot_id":%d,"expire_after":%q}]}`, h[1].ID, until.Format(time.RFC3339))
	path := filepath.Join(dir, "curated", erase.PendingPrefix, "user_events", "pending.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(record), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body = call(steward, "POST", "/tables/user_events/rollback", fmt.Sprintf(`{"snapshot_id":%d}`, h[1].ID))
	if code != 409 || !strings.Contains(body, "still holds rows an erasure removed") || !strings.Contains(body, until.Format(time.RFC3339)) {
		t.Errorf("rollback to a snapshot an erasure keeps for its grace: %d %s", code, body)
	}
	if h = history(); len(h) != 3 || !h[2].Current {
		t.Errorf("the refused rollback changed the table: %+v", h)
	}
}
