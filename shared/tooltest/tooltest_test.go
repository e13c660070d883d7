package tooltest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/tooltest"
)

// TestHelperNeedsMoto is run by TestMissingTool in a child process with an empty PATH.
func TestHelperNeedsMoto(t *testing.T) {
	if os.Getenv("TOOLTEST_CHILD") != "1" {
		return
	}
	tooltest.Path(t, "moto_server")
	t.Log("moto_server found")
}

// A missing tool fails the test under CI=true and skips it otherwise, naming the install command
// either way. It runs this test binary again with no PATH, so the tool truly cannot be found.
func TestMissingTool(t *testing.T) {
	for _, tc := range []struct {
		ci       string
		wantFail bool
		want     string
	}{
		{ci: "true", wantFail: true, want: "--- FAIL: TestHelperNeedsMoto"},
		{ci: "", wantFail: false, want: "--- SKIP: TestHelperNeedsMoto"},
		{ci: "false", wantFail: false, want: "--- SKIP: TestHelperNeedsMoto"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNeedsMoto$", "-test.v")
		cmd.Env = []string{"PATH=" + t.TempDir(), "TOOLTEST_CHILD=1", "CI=" + tc.ci}
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tc.wantFail {
			t.Errorf("CI=%q: failed=%v, want %v:\n%s", tc.ci, failed, tc.wantFail, out)
		}
		for _, w := range []string{tc.want, "pip install 'moto[server]==5.2.1'"} {
			if !strings.Contains(string(out), w) {
				t.Errorf("CI=%q: output lacks %q:\n%s", tc.ci, w, out)
			}
		}
	}
}

// A tool that is installed is found, CI or not.
func TestInstalledTool(t *testing.T) {
	t.Setenv("CI", "true")
	if p := tooltest.Path(t, "go"); p == "" {
		t.Fatal("go is running this test but was not found")
	}
}
