package bundle_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/infra/bundle"
)

const module = "github.com/sluicelake/sluice"

// deps maps each package matching pattern to its transitive non-test dependencies.
func deps(t *testing.T, pattern string) map[string][]string {
	t.Helper()
	root, err := bundle.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", pattern)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pattern, err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		m[f[0]] = f[1:]
	}
	if len(m) == 0 {
		t.Fatalf("go list %s listed no packages", pattern)
	}
	return m
}

// What ships in a Lambda links neither the testing package nor the local stand-ins, nor the
// embedded query engine (70 MB of C++), nor the Kafka client and broker stand-in (Lambda
// reads Kafka for the function: ingest gets events, not connections).
func TestFunctionsLinkNoTestCode(t *testing.T) {
	for fn, ds := range deps(t, "./functions/...") {
		for _, d := range ds {
			if d == "testing" || strings.HasPrefix(d, module+"/localstack/") || strings.Contains(d, "duckdb") || strings.Contains(d, "franz-go") {
				t.Errorf("%s links %s: move what it needs out of test helpers and localstack/", fn, d)
			}
		}
	}
}

// shared/ is what functions are made of: none of it may depend on localstack/, whose test
// helpers start stand-ins (put such a helper in a ...test package under localstack/).
func TestSharedDoesNotDependOnLocalstack(t *testing.T) {
	for pkg, ds := range deps(t, "./shared/...") {
		for _, d := range ds {
			if strings.HasPrefix(d, module+"/localstack/") {
				t.Errorf("%s depends on %s: shared packages may not import localstack/", pkg, d)
			}
		}
	}
}
