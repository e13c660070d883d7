// Package tooltest finds the command-line tools that integration tests run (moto_server, jq,
// git, ...). A missing tool fails the test under CI=true, so that a CI run can never pass by
// running fewer tests than it claims; on a developer's machine the test is skipped instead, with
// the command that installs the tool.
package tooltest

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// Install tells how to get each tool a test may need. The Python pins are the Makefile's
// PY_PKGS, which `make tools` installs into .tools/python when they are missing.
var Install = map[string]string{
	"moto_server": "pip install 'moto[server]==5.2.1' (or `make tools`, which installs it into .tools/python)",
	"cfn-lint":    "pip install 'cfn-lint==1.51.0' (or `make tools`, which installs it into .tools/python)",
	"jq":          "apt-get install jq (Firehose runs jq 1.6)",
	"git":         "apt-get install git",
	"go":          "install Go 1.26 from https://go.dev/dl and put it on PATH",
	"node":        "install Node.js 20 and put it on PATH",
	"chromium":    "apt-get install chromium (`make test-tools` installs it when /usr/bin/chromium is missing)",
}

// InCI reports whether the environment says this is a CI run (CI=true, as CI services set it).
func InCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}

// Path returns the path of the named tool on PATH. When it is missing the test fails under
// CI=true and is skipped otherwise; either way the message says how to install it.
func Path(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s is not on PATH (%v); install it: %s", name, err, installHint(name))
	missing(tb, msg)
	return ""
}

// File returns path when it exists. A missing input file (a synthesized template, say) is
// treated as a missing tool: the test fails under CI=true and is skipped otherwise, the message
// saying how to make it.
func File(tb testing.TB, path, howToMake string) string {
	tb.Helper()
	if _, err := os.Stat(path); err != nil {
		missing(tb, fmt.Sprintf("%s is missing (%v); make it: %s", path, err, howToMake))
	}
	return path
}

// missing fails the test under CI=true and skips it otherwise.
func missing(tb testing.TB, msg string) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("%s. CI=true: a missing tool or input fails the run rather than skipping tests", msg)
	}
	// go test hides a passing package's output without -v; stderr of the test binary is shown
	// by `go test -v` and by the Makefile's tools check, which names the same tools.
	fmt.Fprintf(os.Stderr, "SKIP %s: %s\n", tb.Name(), msg)
	tb.Skipf("%s. Skipped here; under CI=true this fails", msg)
}

func installHint(name string) string {
	if h, ok := Install[name]; ok {
		return h
	}
	return "see the README's requirements"
}
