package erase_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/erase"
	"github.com/sluicelake/sluice/shared/erase/erasetest"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/query/api"
)

// TestEraseThroughTheAPI: POST /erase needs a grant with manage, says what is wrong with a
// bad request, answers the report, and the audit trail records the request without the key.
func TestEraseThroughTheAPI(t *testing.T) {
	l := newLake(t)
	l.produce(t, 120, 21, time.Now().UTC().Truncate(time.Hour).Add(-time.Minute))
	reg, _ := events.Registry()
	policy, err := events.Access()
	if err != nil {
		t.Fatal(err)
	}
	auditBucket := s3test.CreateBucket(t, l.client, "audit")
	svc := &api.Service{Compiler: &query.Compiler{Contracts: reg, Access: policy}, Identify: api.HeaderCaller,
		Audit: audit.Store{Objects: s3store.New(l.client, auditBucket)},
		Erase: &erase.Eraser{Contracts: reg, Stores: l.stores, PIIKey: piiKey}}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	const (
		steward = "arn:aws:iam::123456789012:role/sluice-data-steward"
		analyst = "arn:aws:iam::123456789012:role/sluice-analyst"
	)
	call := func(caller, method, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/erase", strings.NewReader(body))
		req.Header.Set(api.CallerHeader, caller)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	body := `{"dataset":"user_events","field":"user_id","key":"` + gone + `"}`
	cases := []struct {
		caller, method, body string
		status               int
		says                 string
	}{
		{analyst, "POST", body, 403, "manage"},
		{steward, "GET", "", 405, "POST /erase"},
		{steward, "POST", `{"dataset":"user_events","user":"x"}`, 400, `give {\"dataset\"`},
		{steward, "POST", `{"dataset":"nope","key":"x"}`, 404, "no dataset"},
		{steward, "POST", `{"dataset":"user_events","field":"ip_address","key":"x"}`, 400, "masked in curated"},
		// An integer key, as digits or as a JSON number: the field's type decides.
		{steward, "POST", `{"dataset":"customers_changes","key":1.5}`, 400, `give the key as its digits, not \"1.5\"`},
		{steward, "POST", `{"dataset":"customers_changes","key":[1]}`, 400, "want a string, or an integer's digits"},
		{steward, "POST", `{"dataset":"user_events","field":"user_id","key":42}`, 200, `"dataset":"user_events"`},
		{steward, "POST", `{"dataset":"customers_changes","key":42}`, 200, `"field":"id"`},
		{steward, "POST", `{"dataset":"customers_changes","key":"42"}`, 200, `"field":"id"`},
	}
	for _, tc := range cases {
		if code, b := call(tc.caller, tc.method, tc.body); code != tc.status || !bytes.Contains(b, []byte(tc.says)) {
			t.Errorf("%s %s as %s: %d %s; want %d saying %q", tc.method, tc.body, tc.caller, code, b, tc.status, tc.says)
		}
	}
	code, b := call(steward, "POST", body)
	if code != 200 {
		t.Fatalf("erase as a steward: %d %s", code, b)
	}
	var rep erase.Report
	if err := json.Unmarshal(b, &rep); err != nil || rep.RowsRemoved == 0 || rep.Snapshot == 0 || !strings.HasPrefix(rep.Run, "erase-") {
		t.Errorf("report %s (%v): want rows removed, a snapshot and the request's run", b, err)
	}
	// `make erase` is querycmd -erase: the same request, the report printed.
	var out, errs bytes.Buffer
	if rc := api.Main([]string{"-url", srv.URL, "-as", steward, "-erase", "user_events", "-field", "user_id", "-key", users[2]}, nil, &out, &errs); rc != 0 {
		t.Fatalf("query -erase: exit %d: %s", rc, errs.String())
	}
	var cliRep erase.Report
	if err := json.Unmarshal(out.Bytes(), &cliRep); err != nil || cliRep.RowsRemoved == 0 || cliRep.Field != "user_id" {
		t.Errorf("query -erase printed %s (%v), want a report of rows removed", out.String(), err)
	}
	if rc := api.Main([]string{"-url", srv.URL, "-erase", "user_events"}, nil, &out, &errs); rc != 2 || !strings.Contains(errs.String(), "-erase needs -key") {
		t.Errorf("query -erase without -key: exit %d, %s", rc, errs.String())
	}
	// The audit trail holds every request, and never the key (as sent or hashed).
	records, err := s3store.New(l.client, auditBucket).List(t.Context(), "")
	if want := len(cases) + 2; err != nil || len(records) != want {
		t.Fatalf("%d audit records (%v), want one per request (%d)", len(records), err, want)
	}
	hashed := promote.HashHex(piiKey, []byte(gone))
	for _, v := range erasetest.AllVersions(t, l.client, auditBucket) {
		if w := erasetest.Traces(v.Body, gone, hashed); len(w) > 0 {
			t.Errorf("audit record %s holds the key: %v", v.Key, w)
		}
	}
}
