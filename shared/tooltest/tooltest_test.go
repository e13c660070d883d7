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

// The install hints name the versions the Makefile pins (PY_PKGS), which is what `make test`
// installs when a Python tool is missing.
func TestHintsMatchTheMakefilePins(t *testing.T) {
	b, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var pins []string
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "PY_PKGS"); ok {
			_, list, _ := strings.Cut(rest, ":=")
			pins = strings.Fields(list)
		}
	}
	if len(pins) == 0 {
		t.Fatal("no PY_PKGS := line in the Makefile")
	}
	hints := strings.Join([]string{tooltest.Install["moto_server"], tooltest.Install["cfn-lint"]}, " ")
	for _, pin := range pins {
		if !strings.Contains(hints, pin) {
			t.Errorf("the Makefile pins %s; tooltest.Install says %q", pin, hints)
		}
	}
}

// TestHelperNeedsFile is run by TestMissingFile in a child process.
func TestHelperNeedsFile(t *testing.T) {
	if os.Getenv("TOOLTEST_CHILD") != "1" {
		return
	}
	tooltest.File(t, "no/such/template.json", "run `make synth`")
	t.Log("file found")
}

// A missing input fails the test under CI=true and skips it otherwise, saying how to make it.
func TestMissingFile(t *testing.T) {
	for _, tc := range []struct {
		ci   string
		want string
	}{
		{ci: "true", want: "--- FAIL: TestHelperNeedsFile"},
		{ci: "", want: "--- SKIP: TestHelperNeedsFile"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNeedsFile$", "-test.v")
		cmd.Env = []string{"TOOLTEST_CHILD=1", "CI=" + tc.ci}
		out, _ := cmd.CombinedOutput()
		for _, w := range []string{tc.want, "run `make synth`"} {
			if !strings.Contains(string(out), w) {
				t.Errorf("CI=%q: output lacks %q:\n%s", tc.ci, w, out)
			}
		}
	}
}
