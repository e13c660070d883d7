package duckengine_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/query/api"
	"github.com/sluicelake/sluice/shared/query/querytest"
)

// TestHTTPAPI drives the query API over HTTP, as the local host serves it, on the local engine.
func TestHTTPAPI(t *testing.T) {
	dir := t.TempDir()
	writeLake(t, dir, "curated", querytest.Generate(1000, 2))
	eng := open(t, dir)
	var err error
	c := compiler(t, eng)
	if c.Access, err = events.Access(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&api.Service{Compiler: c, Engine: eng, Identify: api.HeaderCaller})
	t.Cleanup(srv.Close)

	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set(api.CallerHeader, "arn:aws:iam::123456789012:role/sluice-data-steward")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %s: not JSON: %s", method, path, resp.Status, b)
		}
		return resp.StatusCode, m
	}

	// wait: the rows come back in the answer to the POST.
	code, m := call("POST", "/queries?wait=20&page_size=2", `{"dataset":"user_events","group_by":["event_type"],"aggregates":[{"fn":"count","as":"n"}],"order_by":[{"column":"n","desc":true},{"column":"event_type"}]}`)
	if code != 200 || m["state"] != "SUCCEEDED" {
		t.Fatalf("POST with wait: %d %v", code, m)
	}
	res := m["results"].(map[string]any)
	if rows := res["rows"].([]any); len(rows) != 2 || res["next_token"] != "2" {
		t.Fatalf("first page %v", res)
	}
	if first := res["rows"].([]any)[0].([]any); first[0] != "add_to_cart" || first[1] != float64(143) {
		t.Errorf("top group %v, want add_to_cart 143 (six types tie; ordered by name)", first)
	}
	id := m["id"].(string)

	code, m = call("GET", "/queries/"+id+"/results?page_size=5&page_token=2", "")
	if code != 200 || len(m["rows"].([]any)) != 5 || m["next_token"] != nil {
		t.Errorf("second page: %d %v", code, m)
	}
	code, m = call("GET", "/queries/"+id, "")
	if code != 200 || m["state"] != "SUCCEEDED" || m["bytes_scanned"].(float64) <= 0 {
		t.Errorf("status: %d %v", code, m)
	}

	// Without wait: 202 and an id to poll.
	code, m = call("POST", "/queries", `{"dataset":"user_events","columns":["event_id"],"limit":3}`)
	if code != 202 || m["id"] == "" || m["status_url"] != "/queries/"+m["id"].(string) {
		t.Errorf("POST: %d %v", code, m)
	}

	bad := []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/queries", `{"dataset":"orders"}`, 400, `dataset: unknown dataset "orders"`},
		{"POST", "/queries", `{"dataset":"user_events","columns":["emial"]}`, 400, `has no column "emial"`},
		{"POST", "/queries", `{"dataset":`, 400, "not a valid query object"},
		{"POST", "/queries", `{"sql":"SELECT 1"}`, 400, "raw SQL is disabled"},
		{"POST", "/queries?wait=soon", `{"dataset":"user_events"}`, 400, "wait: give seconds"},
		{"POST", "/queries?page_size=0", `{"dataset":"user_events"}`, 400, "page_size: give a whole number from 1 to 1000"},
		{"GET", "/queries/" + id + "/results?page_token=xyz", "", 400, "page_token"},
		{"GET", "/queries/nope", "", 404, `no query with id "nope"`},
		{"GET", "/queries/nope/results", "", 404, `no query with id "nope"`},
		{"DELETE", "/queries/" + id, "", 405, "use GET /queries/{id}"},
		{"GET", "/tables", "", 404, "no route GET /tables"},
	}
	for _, tc := range bad {
		code, m := call(tc.method, tc.path, tc.body)
		if code != tc.code || !strings.Contains(m["error"].(string), tc.want) {
			t.Errorf("%s %s %s: %d %v, want %d %q", tc.method, tc.path, tc.body, code, m["error"], tc.code, tc.want)
		}
	}

	// A failed query: 409 on its results, with the reason.
	_, m = call("POST", "/queries?wait=20", `{"dataset":"user_events","zone":"raw"}`)
	if m["state"] != "FAILED" {
		t.Fatalf("query of an empty zone: %v", m)
	}
	code, m = call("GET", "/queries/"+m["id"].(string)+"/results", "")
	if code != 409 || !strings.Contains(m["error"].(string), "holds no data") {
		t.Errorf("results of a failed query: %d %v", code, m)
	}
}

// TestClient runs queries through the API client, as `make query` would: pages are followed to
// the end, and the rows print as a table.
func TestClient(t *testing.T) {
	dir := t.TempDir()
	writeLake(t, dir, "curated", querytest.Generate(3000, 2))
	eng := open(t, dir)
	srv := httptest.NewServer(&api.Service{Compiler: compiler(t, eng), Engine: eng})
	t.Cleanup(srv.Close)
	c := &api.Client{BaseURL: srv.URL}
	ctx := t.Context()

	res, err := c.Run(ctx, &query.Request{Dataset: "user_events", Columns: []string{"event_id"}, Limit: 2500,
		OrderBy: []query.Order{{Column: "event_id"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2500 || res.Rows[2499][0] != querytest.Generate(3000, 2)[2499].ID {
		t.Fatalf("%d rows, last %v", len(res.Rows), res.Rows[len(res.Rows)-1])
	}

	res, err = c.Run(ctx, &query.Request{Dataset: "user_events", GroupBy: []string{"device"},
		Aggregates: []query.Aggregate{{Func: "count", As: "n"}}, OrderBy: []query.Order{{Column: "device"}}})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := api.WriteTable(&out, res.Columns, res.Rows); err != nil {
		t.Fatal(err)
	}
	want := "device   n\ndesktop  1000\nmobile   1000\ntablet   500\nNULL     500\n"
	if out.String() != want {
		t.Errorf("table\n%s\nwant\n%s", out.String(), want)
	}

	_, err = c.Run(ctx, &query.Request{Dataset: "user_events", Columns: []string{"nope"}})
	var ae *api.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, `has no column "nope"`) {
		t.Errorf("bad request: %v", err)
	}
}

func TestServe(t *testing.T) {
	dir := t.TempDir()
	writeLake(t, dir, "curated", querytest.Generate(700, 1))
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := duckengine.Serve(duckengine.ServeOptions{Engine: duckengine.Options{LakeDir: dir}, Contracts: reg, Addr: "0.0.0.0:0"}); err == nil {
		t.Fatal("served on all interfaces")
	}
	// A further route (the local host's POST /events) shares the address; the rest is the query API.
	events := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv, err := duckengine.Serve(duckengine.ServeOptions{Engine: duckengine.Options{LakeDir: dir}, Contracts: reg,
		Routes: map[string]http.Handler{"/events/": events}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	if resp, err := http.Post(srv.URL+"/events/user_events", "application/json", strings.NewReader("{}")); err != nil || resp.StatusCode != http.StatusTeapot {
		t.Errorf("extra route: %v %v", resp, err)
	}
	if !strings.Contains(srv.SampleCurl(), srv.URL+"/queries?wait=10") {
		t.Errorf("sample curl %s", srv.SampleCurl())
	}
	res, err := (&api.Client{BaseURL: srv.URL}).Run(t.Context(), &query.Request{Dataset: "user_events", Aggregates: []query.Aggregate{{Func: "count"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0][0] != float64(700) {
		t.Errorf("rows %v", res.Rows)
	}
}

// TestCommand runs the query command (make query) against the local API.
func TestCommand(t *testing.T) {
	dir := t.TempDir()
	writeLake(t, dir, "curated", querytest.Generate(300, 1))
	eng := open(t, dir)
	srv := httptest.NewServer(&api.Service{Compiler: compiler(t, eng), Engine: eng})
	t.Cleanup(srv.Close)

	var out, errOut strings.Builder
	code := api.Main([]string{"-url", srv.URL, "-q", `{"dataset":"user_events","group_by":["country"],"aggregates":[{"fn":"count","as":"n"}],"order_by":[{"column":"country"}]}`},
		nil, &out, &errOut)
	want := "country  n\nDE       75\nFR       75\nUS       75\nNULL     75\n"
	if code != 0 || out.String() != want || !strings.Contains(errOut.String(), "4 rows") {
		t.Errorf("exit %d\n%s\nwant\n%s\nstderr %s", code, out.String(), want, errOut.String())
	}

	path := filepath.Join(t.TempDir(), "q.json")
	os.WriteFile(path, []byte(`{"dataset":"user_events","aggregates":[{"fn":"max","column":"quantity","as":"most"}]}`), 0o644)
	out.Reset()
	if code := api.Main([]string{"-url", srv.URL, "-f", path, "-json"}, nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), `"rows": [`) {
		t.Errorf("exit %d: %s", code, out.String())
	}

	errOut.Reset()
	if code := api.Main([]string{"-url", srv.URL, "-q", `{"dataset":"user_events","columns":["nope"]}`}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), `400: columns[0]: dataset user_events has no column "nope"`) {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
	errOut.Reset()
	if code := api.Main([]string{"-q", "{}"}, nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "SLUICE_QUERY_URL") {
		t.Errorf("no URL: exit %d: %s", code, errOut.String())
	}
}
