package events_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/contract"
)

// TestContractsEvolveCompatibly checks each contract in the working tree against every earlier
// version of its file in git history, newest first: a contract change that could not read data
// written under an earlier version fails here, before it can be deployed.
func TestContractsEvolveCompatibly(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: contract history cannot be read")
	}
	current, err := events.Contracts()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, next := range current {
		path := "events/" + filepath.Base(next.Path)
		out, err := exec.Command("git", "-C", "..", "log", "--format=%H", "--", path).Output()
		if err != nil {
			t.Skipf("no git history here (%v): nothing to compare with", err)
		}
		for _, rev := range strings.Fields(string(out)) {
			old, err := exec.Command("git", "-C", "..", "show", rev+":"+path).Output()
			if err != nil {
				continue // the file was deleted in that commit
			}
			prev, err := contract.Parse(path+"@"+rev[:8], old)
			if err != nil {
				continue // an earlier version that never loaded was never deployed
			}
			if prev.Version == next.Version {
				continue
			}
			if err := contract.CheckEvolution(prev, next); err != nil {
				t.Errorf("%s is not compatible with its version in %s: %v", path, rev[:8], err)
			}
			checked++
		}
	}
	t.Logf("checked against %d earlier contract versions", checked)
}
