package audit_test

import (
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/contract"
)

// The embedded contract parses, and a record round-trips through Encode/Decode with every field
// the contract declares.
func TestRecordRoundTrip(t *testing.T) {
	c := audit.Contract()
	if c.Name != audit.Dataset || c.Fields[c.EventTime].Kind != contract.Timestamp {
		t.Fatalf("contract %s, event time %v", c.Name, c.Fields[c.EventTime].Kind)
	}
	in := audit.Record{Time: time.Date(2026, 12, 5, 8, 0, 1, 234e6, time.UTC), RequestID: "r1", Caller: "arn:aws:iam::1:role/x",
		Method: "POST", Path: "/queries", SQLHash: audit.HashSQL("SELECT 1"), Datasets: "customers", Zones: "cleansed",
		Columns: "email", Status: 403, Outcome: audit.Denied, Reason: "no grant"}
	body, err := audit.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := audit.Decode(body)
	if err != nil || len(out) != 1 || out[0] != in {
		t.Fatalf("round trip: %v %+v", err, out)
	}
	if k := audit.Key(&in); k != "audit/dt=2026-12-05/hr=08/20261205T080001.234Z-r1.json.gz" {
		t.Errorf("key %s", k)
	}
}
