package bundle_test

import (
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/infra/bundle"
)

// A function folder without Go files gets the placeholder, built for Lambda on arm64.
func TestEmptyFunctionGetsThePlaceholder(t *testing.T) {
	root, err := bundle.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	stale := filepath.Join(out, "not-a-function", "stale")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("left from an earlier build"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := bundle.Function(context.Background(), root, out, "not-a-function")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Placeholder || r.Package != bundle.PlaceholderPackage {
		t.Errorf("result %+v, want the placeholder", r)
	}
	entries, _ := os.ReadDir(r.Dir)
	if len(entries) != 1 || entries[0].Name() != "bootstrap" {
		t.Errorf("asset folder holds %v, want only bootstrap (stale files must not ship)", entries)
	}
	f, err := elf.Open(filepath.Join(r.Dir, "bootstrap"))
	if err != nil {
		t.Fatalf("bootstrap is not an ELF binary: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("bootstrap is built for %v, want arm64", f.Machine)
	}
}

// A function that does not compile stops the synth with the compiler's message.
func TestBrokenFunctionFailsTheBuild(t *testing.T) {
	root := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/broken\n\ngo 1.26\n")
	write("functions/ingest/main.go", "package main\n\nfunc main() { undefinedCall() }\n")
	_, err := bundle.Function(context.Background(), root, t.TempDir(), "ingest")
	if err == nil || !strings.Contains(err.Error(), "function ingest") || !strings.Contains(err.Error(), "undefinedCall") {
		t.Errorf("error %v, want one naming the function and the compiler's complaint", err)
	}
}

func TestModuleRootFindsGoMod(t *testing.T) {
	root, err := bundle.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Errorf("%s has no go.mod", root)
	}
	if _, err := bundle.ModuleRoot(t.TempDir()); err == nil {
		t.Error("a folder outside any module got a root")
	}
}
