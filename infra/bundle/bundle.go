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

// Function builds functions/<name> for Lambda's provided.al2023 runtime on arm64 into
// <out>/<name>/bootstrap. root is the module root (the folder holding go.mod).
func Function(ctx context.Context, root, out, name string) (Result, error) {
	pkg := "./functions/" + name
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
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w", "-o", filepath.Join(r.Dir, "bootstrap"), r.Package)
	cmd.Dir = root
	// -buildvcs=false and -trimpath make the binary, and so the asset hash, depend on the source
	// only: an unchanged function is not redeployed after an unrelated commit.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return r, fmt.Errorf("building function %s (%s) for Lambda failed; fix the build, the stack will not ship without it:\n%s", name, r.Package, strings.TrimSpace(stderr.String()))
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
