package cost_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"

	"github.com/sluicelake/sluice/infra/cost"
)

// The default scenario prices the stack as infra/lake builds it. This package cannot import
// infra/lake (the CDK would make it minutes to build), so the test reads the values from its
// source: when a default there changes, the scenario's must follow.
func TestDefaultScenarioMatchesTheStack(t *testing.T) {
	s := cost.Default()
	settings := literalFields(t, "../lake/settings.go", "Defaults")
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
	specs := literalFields(t, "../lake/functions.go", "Specs")
	for fn, mb := range s.Memory {
		if got := specs[fn+".MemoryMB"]; got != float64(mb) {
			t.Errorf("lake.Specs[%q].MemoryMB is %v, cost.Default has %d", fn, got, mb)
		}
	}
	if got := literalFields(t, "../../shared/promote/promote.go", "DefaultTargetBytes")[""]; got != s.CompactTargetBytes {
		t.Errorf("promote.DefaultTargetBytes is %v, cost.Default has %v", got, s.CompactTargetBytes)
	}
}

// literalFields evaluates the integer fields of the package-level var or const name in a Go
// file: "Field" for a struct literal, "key.Field" for a map of struct literals, "" for a
// constant.
func literalFields(t *testing.T, path, name string) map[string]float64 {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
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
		if v, ok := intValue(e); ok {
			out[prefix] = v
		}
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
					fields("", vs.Values[i])
					return out
				}
			}
		}
	}
	t.Fatalf("%s: no %s", path, name)
	return nil
}

// intValue evaluates an integer literal, or two joined by << or *.
func intValue(e ast.Expr) (float64, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		v, err := strconv.ParseInt(e.Value, 0, 64)
		return float64(v), err == nil
	case *ast.BinaryExpr:
		x, okx := intValue(e.X)
		y, oky := intValue(e.Y)
		switch {
		case !okx || !oky:
			return 0, false
		case e.Op == token.SHL:
			return float64(int64(x) << int64(y)), true
		case e.Op == token.MUL:
			return x * y, true
		}
	}
	return 0, false
}
