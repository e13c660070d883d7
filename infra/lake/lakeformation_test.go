package lake_test

import (
	"strings"
	"testing"

	"github.com/sluicelake/sluice/infra/lake"
)

func TestLFPrincipal(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"arn:aws:iam::*:role/sluice-data-steward", "arn:aws:iam::123:role/sluice-data-steward", true},
		{"arn:aws:iam::999:role/analyst", "arn:aws:iam::999:role/analyst", true},
		{"arn:aws:iam::*:role/team-*", "", false},
		{"arn:aws:iam::999:user/*", "", false},
	} {
		got, ok := lake.LFPrincipal(tc.in, "123")
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("%s: %s %v, want %s %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestLakeFormation: off by default; with lakeFormation, every table is tagged with its dataset
// and zone and every column with its PII class from the contract, and the access files become
// grants: the steward's cleansed grant opens every PII class there, the analyst's opens keep
// columns only, and everyone the API serves reads curated. cdk-nag and cfn-lint stay clean.
func TestLakeFormation(t *testing.T) {
	if n := len(defaultSynth(t).resources("AWS::LakeFormation::Tag")); n != 0 {
		t.Errorf("%d LF-tags by default, want none", n)
	}
	s := synth(t, shipped(t), map[string]interface{}{"lakeFormation": "true"})
	if len(s.nag) > 0 {
		t.Errorf("cdk-nag: %s", strings.Join(s.nag, "\n"))
	}
	if n := len(s.resources("AWS::LakeFormation::Tag")); n != 3 {
		t.Errorf("%d LF-tags, want dataset, zone and PII class", n)
	}
	// customers' email is hash, phone drop, last_name mask: each class tags its columns.
	found := map[string]string{}
	for id, a := range s.resources("AWS::LakeFormation::TagAssociation") {
		if strings.HasPrefix(id, "LFTagscleansedcustomershash") || strings.Contains(toJSON(prop(a, "Resource")), `"Name":"cleansed_customers"`) {
			if cols := prop(a, "Resource", "TableWithColumns", "ColumnNames"); cols != nil {
				found[toJSON(prop(a, "LFTags"))] = toJSON(cols)
			}
		}
	}
	var hash string
	for tags, cols := range found {
		if strings.Contains(tags, `"hash"`) {
			hash = cols
		}
	}
	if !strings.Contains(hash, "email") || strings.Contains(hash, "phone") {
		t.Errorf("cleansed_customers' hash columns %s (all: %v)", hash, found)
	}

	grants := map[string]string{}
	for _, p := range s.resources("AWS::LakeFormation::PrincipalPermissions") {
		grants[toJSON(prop(p, "Principal"))] += toJSON(prop(p, "Resource", "LFTagPolicy", "Expression")) + " "
	}
	var steward, analyst string
	for principal, exprs := range grants {
		switch {
		case strings.Contains(principal, "sluice-data-steward"):
			steward = exprs
		case strings.Contains(principal, "sluice-analyst"):
			analyst = exprs
		}
	}
	if !strings.Contains(steward, `"cleansed"`) || !strings.Contains(steward, `"hash"`) || !strings.Contains(steward, `"audit"`) {
		t.Errorf("steward's grants %s", steward)
	}
	if !strings.Contains(analyst, `"cleansed"`) || strings.Contains(analyst, `"hash"`) || !strings.Contains(analyst, `"keep"`) || !strings.Contains(analyst, `"curated"`) {
		t.Errorf("analyst's grants %s", analyst)
	}
	lint(t, s)
}
