package cost_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/infra/cost"
)

// The default scenario prices the stack as infra/lake builds it. This package cannot import
// infra/lake (the CDK would make it minutes to build), so the test reads the values from its
// source: when a default there changes, the scenario's must follow.
func TestDefaultScenarioMatchesTheStack(t *testing.T) {
	s := cost.Default()
	settings := literalFields(t, "../lake", "Defaults")
	for key, want := range map[string]float64{
		"NoncurrentExpireDays":     s.NoncurrentDays,
		"IngestBatchSize":          float64(s.IngestBatchSize),
		"IngestBatchWindowSeconds": s.IngestWindowSeconds,
		"FirehoseBufferSeconds":    s.FirehoseBufferSeconds,
		"FirehoseBufferMB":         s.FirehoseBufferMB,
		"LogRetentionDays":         s.LogRetentionDays,
		"AccessLogsExpireDays":     s.AccessLogsDays,
		"RawInfrequentAccessDays":  s.RawIADays,
		"RawGlacierDays":           s.RawGlacierDays,
	} {
		if got, ok := settings[key]; !ok || got != want {
			t.Errorf("lake.Defaults.%s is %v (found %v), cost.Default has %v", key, got, ok, want)
		}
	}
	specs := literalFields(t, "../lake", "Specs")
	for fn, mb := range s.Memory {
		if got := specs[fn+".MemoryMB"]; got != float64(mb) {
			t.Errorf("lake.Specs[%q].MemoryMB is %v, cost.Default has %d", fn, got, mb)
		}
	}
	if got := literalFields(t, "../../shared/promote", "DefaultTargetBytes")[""]; got != s.CompactTargetBytes {
		t.Errorf("promote.DefaultTargetBytes is %v, cost.Default has %v", got, s.CompactTargetBytes)
	}
}

// literalFields evaluates the integer fields of the package-level var or const name of the
// package in dir: "Field" for a struct literal, "key.Field" for a map of struct literals, "" for a
// constant. Values may be literals, expressions of them with << and *, or constants of the same
// package or of another package of this module (as lake.Defaults takes archive's buffering).
func literalFields(t *testing.T, dir, name string) map[string]float64 {
	t.Helper()
	value, file := declaration(t, dir, name)
	if value == nil {
		t.Fatalf("%s: no %s", dir, name)
	}
	out := map[string]float64{}
	var fields func(prefix string, e ast.Expr)
	fields = func(prefix string, e ast.Expr) {
		if lit, ok := e.(*ast.CompositeLit); ok {
			for _, el := range lit.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key := ""
				switch k := kv.Key.(type) {
				case *ast.Ident:
					key = k.Name
				case *ast.BasicLit:
					key, _ = strconv.Unquote(k.Value)
				}
				if prefix != "" {
					key = prefix + "." + key
				}
				fields(key, kv.Value)
			}
			return
		}
		if v, ok := intValue(t, dir, file, e); ok {
			out[prefix] = v
		}
	}
	fields("", value)
	return out
}

// declaration finds the value of the package-level var or const name among the Go files of dir,
// and the file declaring it.
func declaration(t *testing.T, dir, name string) (ast.Expr, *ast.File) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range g.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, n := range vs.Names {
					if n.Name == name && i < len(vs.Values) {
						return vs.Values[i], f
					}
				}
			}
		}
	}
	return nil, nil
}

// module is this repository's module path: imports under it are read from the tree.
const module = "github.com/sluicelake/sluice/"

// intValue evaluates an integer literal, an expression of them with << or *, or a named
// constant of dir's package or of a package file imports from this module.
func intValue(t *testing.T, dir string, file *ast.File, e ast.Expr) (float64, bool) {
	t.Helper()
	switch e := e.(type) {
	case *ast.BasicLit:
		v, err := strconv.ParseInt(e.Value, 0, 64)
		return float64(v), err == nil
	case *ast.BinaryExpr:
		x, okx := intValue(t, dir, file, e.X)
		y, oky := intValue(t, dir, file, e.Y)
		switch {
		case !okx || !oky:
			return 0, false
		case e.Op == token.SHL:
			return float64(int64(x) << int64(y)), true
		case e.Op == token.MUL:
			return x * y, true
		}
	case *ast.Ident:
		if v, f := declaration(t, dir, e.Name); v != nil {
			return intValue(t, dir, f, v)
		}
	case *ast.SelectorExpr:
		pkg, ok := e.X.(*ast.Ident)
		if !ok {
			return 0, false
		}
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if (imp.Name != nil && imp.Name.Name == pkg.Name || imp.Name == nil && filepath.Base(path) == pkg.Name) && strings.HasPrefix(path, module) {
				other := filepath.Join(repoRoot, strings.TrimPrefix(path, module))
				if v, f := declaration(t, other, e.Sel.Name); v != nil {
					return intValue(t, other, f, v)
				}
			}
		}
	}
	return 0, false
}

// repoRoot is the module's root, from this package's directory.
const repoRoot = "../.."
