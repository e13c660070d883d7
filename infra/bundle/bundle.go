// Package bundle compiles the lake's functions into Lambda deployment folders at synth time, so
// that what `cdk deploy` ships is always built from the source in the checkout.
package bundle

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// PlaceholderPackage is built for a function folder that has no Go files yet.
const PlaceholderPackage = "./infra/_placeholder"

// Result is one built function.
type Result struct {
	Dir         string // holds only "bootstrap": the asset folder for the function
	Package     string // the package built, relative to the module root
	Placeholder bool   // the function has no code yet: the placeholder was built in its place
}

// Arch is the architecture the stack's functions run on.
const Arch = "arm64"

// flags are the go build flags of every Lambda binary, wherever it is built (the Makefile through
// cmd/build, the CDK app, the tests that run built bootstraps): the norpc runtime, since
// provided.al2023 has no RPC server; -trimpath and -buildvcs=false so that the binary, and so the
// asset hash, depend on the source only and an unchanged function is not redeployed after an
// unrelated commit; -s -w strip the symbol table and DWARF.
var flags = []string{"-tags", "lambda.norpc", "-trimpath", "-buildvcs=false", "-ldflags=-s -w"}

// Build compiles the main packages pkgs (import paths, or paths relative to dir; "" is the
// working directory) for Lambda's provided.al2023 runtime on goarch: static (cgo off), linux.
// out is as for go build -o: the binary when building one package, a folder ending in a path
// separator for several. The error holds the compiler's output.
func Build(ctx context.Context, dir, goarch, out string, pkgs ...string) error {
	args := append(append([]string{"build"}, flags...), "-o", out)
	cmd := exec.CommandContext(ctx, "go", append(args, pkgs...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for linux/%s: %v\n%s", strings.Join(pkgs, " "), goarch, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Function builds functions/<name> for Lambda's provided.al2023 runtime on goarch into
// <out>/<name>/bootstrap. root is the module root (the folder holding go.mod).
func Function(ctx context.Context, root, out, name, goarch string) (Result, error) {
	pkg := "./functions/" + name
	// go build runs in root: a relative out must not move there with it.
	out, err := filepath.Abs(out)
	if err != nil {
		return Result{}, err
	}
	has, err := hasGoFiles(filepath.Join(root, "functions", name))
	if err != nil {
		return Result{}, err
	}
	r := Result{Dir: filepath.Join(out, name), Package: pkg}
	if !has {
		r.Package, r.Placeholder = PlaceholderPackage, true
	}
	// A stale binary must never be what ships: remove it before building.
	if err := os.RemoveAll(r.Dir); err != nil {
		return r, err
	}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return r, err
	}
	if err := Build(ctx, root, goarch, filepath.Join(r.Dir, "bootstrap"), r.Package); err != nil {
		return r, fmt.Errorf("building function %s (%s) for Lambda failed; fix the build, the stack will not ship without it: %w", name, r.Package, err)
	}
	return r, nil
}

// ModuleRoot finds the folder holding go.mod, starting at dir and walking up.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod in %s or above it: run the CDK app from inside the sluice checkout", dir)
		}
	}
}

func hasGoFiles(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			return true, nil
		}
	}
	return false, nil
}
