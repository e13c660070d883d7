package lake_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/tooltest"
)

// lint runs cfn-lint on a synthesized template, as `make infra-lint` does on the default one.
func lint(t *testing.T, s *synthesized) {
	t.Helper()
	cfnLint := tooltest.Path(t, "cfn-lint")
	b, err := json.Marshal(s.json)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "template.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(cfnLint, "--ignore-checks", "W3005", "--", path).CombinedOutput(); err != nil {
		t.Errorf("cfn-lint: %v\n%s", err, out)
	}
}

// TestDataEventsTrail: off by default; with cloudTrailDataEvents, one trail records every object
// read and write of the zone buckets and the audit bucket, and nothing else, with cdk-nag and
// cfn-lint clean.
func TestDataEventsTrail(t *testing.T) {
	if n := len(defaultSynth(t).resources("AWS::CloudTrail::Trail")); n != 0 {
		t.Errorf("%d trails by default, want none (data events cost per event)", n)
	}
	s := synth(t, shipped(t), map[string]interface{}{"cloudTrailDataEvents": "true"})
	if len(s.nag) > 0 {
		t.Errorf("cdk-nag: %s", strings.Join(s.nag, "\n"))
	}
	trails := s.resources("AWS::CloudTrail::Trail")
	if len(trails) != 1 {
		t.Fatalf("%d trails, want 1", len(trails))
	}
	for _, tr := range trails {
		if prop(tr, "EnableLogFileValidation") != true {
			t.Error("log file validation is off")
		}
		sel := toJSON(prop(tr, "EventSelectors"))
		for _, b := range []string{"RawBucket", "CleansedBucket", "CuratedBucket", "QuarantineBucket", "AuditBucket"} {
			if !strings.Contains(sel, b) {
				t.Errorf("no data events for %s: %s", b, sel)
			}
		}
		if strings.Contains(sel, "AthenaResultsBucket") || !strings.Contains(sel, `"ReadWriteType":"All"`) {
			t.Errorf("selectors %s", sel)
		}
	}
	lint(t, s)
}
