package access_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/access"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/zone"
)

var datasets = []string{"customers", "user_events"}

func policy(t *testing.T, files map[string]string) *access.Policy {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	p, err := access.LoadFS(fsys, "events/access", datasets)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCallerOfAssumedRole(t *testing.T) {
	got := access.CallerOf("arn:aws:sts::123456789012:assumed-role/sluice-analyst/alice@example.com")
	if got.ARN != "arn:aws:iam::123456789012:role/sluice-analyst" {
		t.Fatalf("assumed-role session: got %q", got.ARN)
	}
	if u := access.CallerOf("arn:aws:iam::123456789012:user/bob"); u.ARN != "arn:aws:iam::123456789012:user/bob" {
		t.Fatalf("user: got %q", u.ARN)
	}
}

func TestDefaultsAndGrants(t *testing.T) {
	p := policy(t, map[string]string{"a.json": `{"grants": [
		{"name": "eng", "callers": ["arn:aws:iam::*:role/eng"], "datasets": ["customers"], "zones": ["cleansed"], "pii": ["hash"]},
		{"name": "tagged", "principal_tags": {"team": "risk"}, "datasets": ["*"], "zones": ["raw"]}]}`})
	email := &contract.Field{Name: "email", PII: contract.Hash}
	phone := &contract.Field{Name: "phone", PII: contract.Mask}
	status := &contract.Field{Name: "status", PII: contract.Keep}
	anyone := access.Caller{ARN: "arn:aws:iam::1:role/other"}
	eng := access.CallerOf("arn:aws:sts::1:assumed-role/eng/s")
	risk := access.Caller{ARN: "arn:aws:iam::1:user/r", Tags: map[string]string{"team": "risk"}}

	for _, tc := range []struct {
		name   string
		caller access.Caller
		ds     string
		z      zone.Zone
		f      *contract.Field
		denied string // substring of the refusal; "" means allowed
	}{
		{"curated is open", anyone, "customers", zone.Curated, email, ""},
		{"lineage is open", anyone, "lineage", access.Lineage, status, ""},
		{"cleansed needs a grant", anyone, "customers", zone.Cleansed, status, "may not read customers in zone cleansed"},
		{"audit needs a grant", anyone, "audit", access.Audit, status, "zone audit"},
		{"granted zone, plain column", eng, "customers", zone.Cleansed, status, ""},
		{"granted PII class", eng, "customers", zone.Cleansed, email, ""},
		{"PII class not granted", eng, "customers", zone.Cleansed, phone, `column "phone"`},
		{"grant is per dataset", eng, "user_events", zone.Cleansed, status, "user_events in zone cleansed"},
		{"grant is per zone", eng, "customers", zone.Raw, status, "zone raw"},
		{"tags match", risk, "user_events", zone.Raw, status, ""},
		{"tags open no PII", risk, "customers", zone.Raw, email, "PII class hash"},
	} {
		err := p.Column(tc.caller, tc.ds, tc.z, tc.f)
		switch {
		case tc.denied == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.denied != "" && err == nil:
			t.Errorf("%s: allowed, want a refusal", tc.name)
		case tc.denied != "" && !strings.Contains(err.Error(), tc.denied):
			t.Errorf("%s: refusal %q does not say %q", tc.name, err, tc.denied)
		}
		var d *access.Denied
		if err != nil && !errors.As(err, &d) {
			t.Errorf("%s: %T is not *access.Denied", tc.name, err)
		}
	}
	var none *access.Policy
	if none.Zone(eng, "customers", zone.Cleansed) == nil {
		t.Error("a nil policy granted cleansed")
	}
}

func TestBadFilesFailWithFileAndField(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"grants": [{"name": "x", "datasets": ["customers"], "zones": ["raw"]}]}`, "grants[0].callers"},
		{`{"grants": [{"name": "x", "callers": ["arn:aws:iam::1:role/a"], "datasets": ["orders"], "zones": ["raw"]}]}`, `grants[0].datasets[0]: unknown dataset "orders"`},
		{`{"grants": [{"name": "x", "callers": ["arn:aws:iam::1:role/a"], "datasets": ["*"], "zones": ["gold"]}]}`, `grants[0].zones[0]: unknown zone "gold"`},
		{`{"grants": [{"name": "x", "callers": ["arn:aws:iam::1:role/a"], "datasets": ["*"], "zones": ["raw"], "pii": ["secret"]}]}`, `grants[0].pii[0]`},
		{`{"grants": [{"name": "x", "callers": ["role/a"], "datasets": ["*"], "zones": ["raw"]}]}`, "not an ARN"},
		{`{"grants": [{"name": "x", "callers": ["arn:aws:sts::1:assumed-role/a/b"], "datasets": ["*"], "zones": ["raw"]}]}`, "not a session"},
		{`{"grant": []}`, "unknown field"},
	} {
		_, err := access.Parse("events/access/bad.json", []byte(tc.body), datasets)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "events/access/bad.json") {
			t.Errorf("%s: got %v, want an error naming the file and %q", tc.body, err, tc.want)
		}
	}
}

// The shipped rules load against the shipped contracts.
func TestShippedRules(t *testing.T) {
	p, err := events.Access()
	if err != nil {
		t.Fatal(err)
	}
	steward := access.CallerOf("arn:aws:sts::123456789012:assumed-role/sluice-data-steward/s")
	if err := p.Column(steward, "customers", zone.Cleansed, &contract.Field{Name: "email", PII: contract.Hash}); err != nil {
		t.Fatal(err)
	}
	analyst := access.CallerOf("arn:aws:sts::123456789012:assumed-role/sluice-analyst/s")
	if p.Column(analyst, "customers", zone.Cleansed, &contract.Field{Name: "email", PII: contract.Hash}) == nil {
		t.Fatal("the analyst grant opened a PII column")
	}
}
