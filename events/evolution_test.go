package events_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/tooltest"
)

// TestContractsEvolveCompatibly checks each contract in the working tree against every earlier
// version of its file in git history, newest first: a contract change that could not read data
// written under an earlier version fails here, before it can be deployed.
func TestContractsEvolveCompatibly(t *testing.T) {
	git := tooltest.Path(t, "git")
	current, err := events.Contracts()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, next := range current {
		path := "events/" + filepath.Base(next.Path)
		revs, err := history(git, "..", path)
		if err != nil {
			t.Fatal(err)
		}
		for _, rev := range revs {
			old, err := exec.Command(git, "-C", "..", "show", rev+":"+path).Output()
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

// history lists the commits that touched path in the repository at dir, newest first. A
// checkout without its full history (not a git repository, or a shallow clone such as CI
// services make by default) is an error: the gate would pass having compared nothing.
func history(git, dir, path string) ([]string, error) {
	out, err := exec.Command(git, "-C", dir, "rev-parse", "--is-shallow-repository").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("the contract-evolution gate needs the git history of this checkout, and %s is not a git repository (%v: %s): test from a git clone", dir, err, strings.TrimSpace(string(out)))
	}
	if strings.TrimSpace(string(out)) == "true" {
		return nil, fmt.Errorf("the contract-evolution gate needs the full git history, and this clone is shallow: run `git fetch --unshallow` (or clone with fetch-depth 0 in CI)")
	}
	out, err = exec.Command(git, "-C", dir, "log", "--format=%H", "--", path).Output()
	if err != nil {
		return nil, fmt.Errorf("git log %s: %v", path, err)
	}
	return strings.Fields(string(out)), nil
}
