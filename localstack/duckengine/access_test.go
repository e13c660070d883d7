package duckengine_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/localstack/s3local"
	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/query/api"
	"github.com/sluicelake/sluice/shared/query/querytest"
)

// TestAccessEveryRoute serves the query API as the local host does, with the shipped access
// rules, over a lake whose cleansed zone holds user ids in the clear, and tries every route the
// API offers to read them: a structured query, a default select list, raw SQL, the lineage
// table, and another caller's query results. A caller without a grant gets a 403 that names
// what was refused (or, for another's results, a 404), never a value; the steward reads them.
func TestAccessEveryRoute(t *testing.T) {
	dir := t.TempDir()
	es := querytest.Generate(200, 3)
	writeLake(t, dir, "cleansed", es)
	policy, err := events.Access()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	// The audit trail goes through the local S3 stand-in into the lake directory, where the
	// engine reads it back as the audit table.
	s3srv, err := s3local.Start(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s3srv.Close() })
	if err := s3srv.CreateBucket(context.Background(), "audit"); err != nil {
		t.Fatal(err)
	}
	trail := audit.Store{Objects: s3store.New(s3srv.Client(), "audit")}
	srv, err := duckengine.Serve(duckengine.ServeOptions{Engine: duckengine.Options{LakeDir: dir}, Contracts: reg, Access: policy, RawSQL: true, Audit: trail})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	requests := map[string]int{} // outcome → requests made

	const (
		steward  = "arn:aws:sts::123456789012:assumed-role/sluice-data-steward/alice"
		analyst  = "arn:aws:sts::123456789012:assumed-role/sluice-analyst/bob"
		stranger = "arn:aws:iam::123456789012:user/mallory"
	)
	secret := es[0].User // a value only the cleansed zone holds in the clear
	call := func(caller, method, path, body string) (int, map[string]any, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if caller != "" {
			req.Header.Set(api.CallerHeader, caller)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		requests[outcomeOf(resp.StatusCode)]++
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		return resp.StatusCode, m, string(b)
	}

	for _, tc := range []struct {
		name, caller, body string
		code               int
		want               string // in the answer
	}{
		{"PII column, no grant", stranger, `{"dataset":"user_events","zone":"cleansed","columns":["user_id"]}`, 403, "may not read user_events in zone cleansed"},
		{"anonymous", "", `{"dataset":"user_events","zone":"cleansed","columns":["event_type"]}`, 403, "an anonymous caller may not read"},
		{"PII in a where clause", analyst, `{"dataset":"user_events","zone":"cleansed","columns":["event_type"],"where":[{"column":"user_id","op":"=","value":"` + secret + `"}]}`, 403, `"column":"user_id"`},
		{"PII in an aggregate", analyst, `{"dataset":"user_events","zone":"cleansed","aggregates":[{"fn":"max","column":"user_id"}]}`, 403, `"column":"user_id"`},
		{"raw SQL over a PII table", analyst, `{"sql":"SELECT event_type FROM cleansed_user_events"}`, 403, "PII policy is hash"},
		{"raw SQL, no grant", stranger, `{"sql":"SELECT count(*) FROM cleansed_user_events"}`, 403, "zone cleansed"},
		{"analyst, plain columns", analyst, `{"dataset":"user_events","zone":"cleansed","columns":["event_type"],"limit":1}`, 200, "event_type"},
		{"steward, PII", steward, `{"dataset":"user_events","zone":"cleansed","columns":["user_id"],"where":[{"column":"user_id","op":"=","value":"` + secret + `"}]}`, 200, secret},
		{"steward, raw SQL", steward, `{"sql":"SELECT user_id FROM cleansed_user_events WHERE user_id = '` + secret + `' LIMIT 1"}`, 200, secret},
	} {
		code, _, body := call(tc.caller, "POST", "/queries?wait=20", tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, code, body, tc.code, tc.want)
		}
		if tc.code == 403 && strings.Contains(body, secret) {
			t.Errorf("%s: a refusal carries the value", tc.name)
		}
	}

	// A default select list leaves out what the caller may not read.
	code, m, body := call(analyst, "POST", "/queries?wait=20", `{"dataset":"user_events","zone":"cleansed","limit":5}`)
	if code != 200 || strings.Contains(body, `"user_id"`) || strings.Contains(body, `"ip_address"`) || !strings.Contains(body, `"event_type"`) {
		t.Errorf("analyst's default columns: %d %s", code, body)
	}

	// The steward's query is the steward's: its id reads nothing for anyone else.
	code, m, _ = call(steward, "POST", "/queries?wait=20", `{"dataset":"user_events","zone":"cleansed","columns":["user_id"],"limit":10}`)
	if code != 200 {
		t.Fatalf("steward: %d %v", code, m)
	}
	id := m["id"].(string)
	for _, path := range []string{"/queries/" + id, "/queries/" + id + "/results"} {
		if code, _, body := call(stranger, "GET", path, ""); code != 404 || strings.Contains(body, secret) {
			t.Errorf("stranger GET %s: %d %s", path, code, body)
		}
		if code, _, _ := call(steward, "GET", path, ""); code != 200 {
			t.Errorf("steward GET %s: %d", path, code)
		}
	}

	// The lineage table is everyone's; it holds object names, not values.
	if code, _, body := call(stranger, "POST", "/queries?wait=20", `{"dataset":"lineage","limit":5}`); code != 200 || strings.Contains(body, secret) {
		t.Errorf("lineage table: %d %s", code, body)
	}
	// Curated is everyone's too: a zone that holds nothing yet answers with no rows.
	if code, _, body := call(stranger, "POST", "/queries?wait=20", `{"dataset":"user_events","columns":["user_id"]}`); code != 200 || strings.Contains(body, secret) {
		t.Errorf("default zone for a caller without cleansed: %d %s", code, body)
	}

	// The audit trail: only a grant opens it, and its records add up to the requests made.
	if code, _, body := call(analyst, "POST", "/queries?wait=20", `{"dataset":"audit"}`); code != 403 || !strings.Contains(body, "zone audit") {
		t.Errorf("analyst reads the audit trail: %d %s", code, body)
	}
	made := map[string]int{}
	for k, v := range requests {
		made[k] = v
	}
	code, m, body = call(steward, "POST", "/queries?wait=20", `{"dataset":"audit","group_by":["outcome"],"aggregates":[{"fn":"count","as":"n"},{"fn":"sum","column":"bytes_scanned","as":"bytes"}]}`)
	if code != 200 {
		t.Fatalf("steward reads the audit trail: %d %s", code, body)
	}
	got := map[string]int{}
	for _, row := range m["results"].(map[string]any)["rows"].([]any) {
		r := row.([]any)
		got[r[0].(string)] = int(r[1].(float64))
	}
	// (The steward's read of the trail is recorded once answered: it is not in its own result.)
	for k, v := range made {
		if got[k] != v {
			t.Errorf("audit: %d %s records, %d such requests made (all: %v vs %v)", got[k], k, v, got, made)
		}
	}
	// A denied read names the caller, what was refused and why.
	code, m, body = call(steward, "POST", "/queries?wait=20", `{"dataset":"audit","columns":["caller","datasets","zones","columns","reason"],"where":[{"column":"outcome","op":"=","value":"denied"},{"column":"columns","op":"=","value":"user_id"}],"limit":1}`)
	if code != 200 || !strings.Contains(body, "sluice-analyst") || !strings.Contains(body, "PII policy is hash") {
		t.Errorf("a denied record: %d %s", code, body)
	}
}

func outcomeOf(status int) string {
	switch {
	case status < 300:
		return audit.OK
	case status == 403:
		return audit.Denied
	case status == 404:
		return audit.NotFound
	case status < 500:
		return audit.Invalid
	}
	return audit.Error
}
