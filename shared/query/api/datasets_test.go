package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/access"
	"github.com/sluicelake/sluice/shared/catalog"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/query/api"
	"github.com/sluicelake/sluice/shared/zone"
)

// TestDatasetRoutes: GET /datasets and /datasets/{name} answer from the catalog (over a real
// S3-protocol server), under any stage prefix; other methods, unknown names and a service
// without a catalog get errors that say what to do.
func TestDatasetRoutes(t *testing.T) {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	client, _ := s3test.StartGofakes3(t)
	stores := map[zone.Zone]objectstore.Store{}
	for _, z := range zone.All {
		stores[z] = s3store.New(client, s3test.CreateBucket(t, client, string(z)))
	}
	if _, err := stores[zone.Quarantine].Put(context.Background(), "customers/dt=2026-12-01/hr=00/x.txt", []byte("x"), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	policy, err := events.Access()
	if err != nil {
		t.Fatal(err)
	}
	svc := &api.Service{Catalog: &catalog.Catalog{Contracts: reg, Stores: stores}, Compiler: &query.Compiler{Contracts: reg, Access: policy}}
	caller := access.CallerOf("arn:aws:iam::123456789012:role/sluice-data-steward")
	call := func(method, path string) (int, map[string]any) {
		resp := svc.Serve(context.Background(), api.Request{Method: method, Path: path, Caller: caller})
		var m map[string]any
		if err := json.Unmarshal(resp.Body, &m); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, resp.Body)
		}
		return resp.Status, m
	}
	status, body := call(http.MethodGet, "/datasets")
	if status != 200 || len(body["datasets"].([]any)) != len(reg) {
		t.Fatalf("GET /datasets: %d %v", status, body)
	}
	status, body = call(http.MethodGet, "/prod/datasets/customers/")
	if status != 200 || body["name"] != "customers" || len(body["columns"].([]any)) != len(reg["customers"].Fields) {
		t.Fatalf("GET /datasets/customers: %d %v", status, body)
	}
	zones := body["zones"].([]any)
	if q := zones[3].(map[string]any); q["zone"] != "quarantine" || q["objects"].(float64) != 1 {
		t.Errorf("quarantine zone: %v", q)
	}
	// A caller without grants sees curated only: no zone or column it may not read.
	caller = access.CallerOf("arn:aws:iam::123456789012:user/someone")
	status, body = call(http.MethodGet, "/datasets/customers")
	if zs := body["zones"].([]any); status != 200 || len(zs) != 1 || zs[0].(map[string]any)["zone"] != "curated" {
		t.Errorf("no grant: %d zones %v", status, body["zones"])
	}
	for _, c := range body["columns"].([]any) {
		if c.(map[string]any)["name"] == "phone" {
			t.Errorf("no grant: sees phone, which curated drops")
		}
	}
	caller = access.CallerOf("arn:aws:iam::123456789012:role/sluice-data-steward")
	if status, body = call(http.MethodGet, "/datasets/nope"); status != 404 || !strings.Contains(body["error"].(string), "GET /datasets") {
		t.Errorf("unknown dataset: %d %v", status, body)
	}
	if status, _ = call(http.MethodPost, "/datasets"); status != 405 {
		t.Errorf("POST /datasets: %d", status)
	}
	if status, _ = call(http.MethodGet, "/datasets/a/b"); status != 404 {
		t.Errorf("GET /datasets/a/b: %d", status)
	}
	bare := &api.Service{}
	if resp := bare.Serve(context.Background(), api.Request{Method: http.MethodGet, Path: "/datasets"}); resp.Status != 404 || !strings.Contains(string(resp.Body), "catalog") {
		t.Errorf("no catalog: %d %s", resp.Status, resp.Body)
	}
}
