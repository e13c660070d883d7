package events_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/tooltest"
)

// The gate refuses a shallow clone, as CI services make by default, instead of passing after
// comparing nothing, and says how to get the history.
func TestHistoryRefusesAShallowClone(t *testing.T) {
	git := tooltest.Path(t, "git")
	src := t.TempDir()
	run := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(git, append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run(src, "init", "-q")
	for _, v := range []string{"1", "2"} {
		if err := os.WriteFile(filepath.Join(src, "c.yaml"), []byte("version: "+v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		run(src, "add", "c.yaml")
		run(src, "commit", "-q", "-m", "v"+v)
	}
	full, err := history(git, src, "c.yaml")
	if err != nil || len(full) != 2 {
		t.Fatalf("full clone: %d commits, %v; want 2", len(full), err)
	}

	shallow := filepath.Join(t.TempDir(), "shallow")
	run(src, "clone", "-q", "--depth", "1", "file://"+src, shallow)
	if revs, err := history(git, shallow, "c.yaml"); err == nil || !strings.Contains(err.Error(), "git fetch --unshallow") {
		t.Errorf("shallow clone: %d commits, error %v; want an error saying git fetch --unshallow", len(revs), err)
	}
	if _, err := history(git, t.TempDir(), "c.yaml"); err == nil || !strings.Contains(err.Error(), "not a git repository") {
		t.Errorf("no repository: error %v; want one saying it is not a git repository", err)
	}
}
