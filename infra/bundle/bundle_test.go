package bundle_test

import (
	"context"
	"debug/buildinfo"
	"debug/elf"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
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
	r, err := bundle.Function(context.Background(), root, out, "not-a-function", bundle.Arch)
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
	// What the Go toolchain recorded in the binary: the flags every Lambda binary is built with.
	info, err := buildinfo.ReadFile(filepath.Join(r.Dir, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range info.Settings {
		got[s.Key] = s.Value
		if strings.HasPrefix(s.Key, "vcs") {
			t.Errorf("the binary records %s=%s: a commit would change the asset hash", s.Key, s.Value)
		}
	}
	// -trimpath keeps -ldflags out of the record; -s shows as the missing symbol table.
	for k, v := range map[string]string{"-tags": "lambda.norpc", "-trimpath": "true", "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "arm64"} {
		if got[k] != v {
			t.Errorf("built with %s=%q, want %q", k, got[k], v)
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("bootstrap has a symbol table: it was built without -ldflags=-s")
	}
}

// Every Lambda binary is built by bundle.Build: no Go file elsewhere and no Makefile spells out
// its own go build of a function (eight such copies had drifted apart in their flags).
func TestOneBuildCommand(t *testing.T) {
	root, err := bundle.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		name := d.Name()
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "cdk.out" || rel == filepath.Join("infra", "bundle")) {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(name, ".go"):
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && strings.Contains(lit.Value, "lambda.norpc") {
					t.Errorf("%s builds a Lambda binary itself: call bundle.Build (or runtimeapi.Build in a test)", rel)
				}
				return true
			})
		case name == "Makefile" || strings.HasSuffix(name, ".mk"):
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i, line := range strings.Split(string(b), "\n") {
				if !strings.HasPrefix(strings.TrimSpace(line), "#") && strings.Contains(line, "go build") {
					t.Errorf("%s:%d runs go build: build functions with go run ./infra/bundle/cmd/build", rel, i+1)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
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
	_, err := bundle.Function(context.Background(), root, t.TempDir(), "ingest", bundle.Arch)
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
