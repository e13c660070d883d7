// Package bundletest checks what a function's package links and reports its built size, for
// the functions' TestSize tests.
package bundletest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/infra/bundle"
)

// Size fails t if the package in the working directory links any of banned (matched against
// its dependencies' import paths), then builds it as the stack does and logs the stripped
// bootstrap's size under name.
func Size(t *testing.T, name string, banned ...string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range banned {
		if strings.Contains(string(out), bad) {
			t.Errorf("the function links %s", bad)
		}
	}
	exe := filepath.Join(t.TempDir(), "bootstrap")
	if err := bundle.Build(context.Background(), "", bundle.Arch, exe, "."); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s bootstrap, linux/%s stripped: %.1f MB", name, bundle.Arch, float64(st.Size())/1e6)
}
