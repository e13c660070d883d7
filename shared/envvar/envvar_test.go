package envvar_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/envvar"
)

const module = "github.com/sluicelake/sluice"

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		fn, name string
		ok       bool
	}{
		{"ingest", envvar.CleansedBucket, true},
		{"ingest", envvar.Tracing, true},
		{"ingest", envvar.CuratedBucket, false},
		{"query", envvar.StreamName, false},
		{"query", "AWS_REGION", true}, // Lambda's own
		{"nosuch", envvar.LogLevel, false},
	} {
		if err := envvar.Check(tc.fn, tc.name); (err == nil) != tc.ok {
			t.Errorf("Check(%s, %s) = %v, want ok=%v", tc.fn, tc.name, err, tc.ok)
		}
	}
	if err := envvar.Check("query", envvar.StreamName); err == nil || !strings.Contains(err.Error(), "infra/lake/functions.go") {
		t.Errorf("the error %v does not say where to declare the variable", err)
	}
}

// constants maps envvar's constant names to their values, from its source.
func constants(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "envvar.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			for i, name := range vs.Names {
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						m[name.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
		return true
	})
	return m
}

// goFiles lists the non-test Go files of the packages pattern matches and of their
// dependencies inside the module.
func goFiles(t *testing.T, pattern string, deps bool) []string {
	t.Helper()
	args := []string{"list", "-f", `{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}} {{end}}`}
	if deps {
		args = append(args, "-deps")
	}
	cmd := exec.Command("go", append(args, pattern)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pattern, err)
	}
	var files []string
	for _, f := range strings.Fields(string(out)) {
		if rel, err := filepath.Rel(mustAbs(t, "../.."), f); err == nil && !strings.HasPrefix(rel, "..") {
			files = append(files, f)
		}
	}
	return files
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Each variable a function declares is named somewhere in the code it links: a variable the
// stack sets and nothing reads is dead configuration (SLUICE_STAGE and SLUICE_RESULTS_BUCKET were).
func TestEveryDeclaredVariableIsRead(t *testing.T) {
	byName := constants(t)
	for fn, vars := range envvar.Functions {
		used := map[string]bool{}
		for _, path := range goFiles(t, module+"/functions/"+fn, true) {
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "envvar" {
						used[byName[sel.Sel.Name]] = true
					}
				}
				return true
			})
		}
		for _, name := range slices.Concat(vars.Set, vars.Tunable) {
			if !used[name] {
				t.Errorf("%s declares %s, which nothing it links reads: remove it from envvar.Functions (and infra/lake)", fn, name)
			}
		}
	}
}

// spelledName is a literal that is a variable's name, or the "NAME=" of an environment entry;
// messages that mention a name are fine.
var spelledName = regexp.MustCompile(`^"SLUICE_[A-Z0-9_]+=?"$`)

// The names are spelled only here: the stack, the functions, the shared packages and the local
// host use the constants, so a renamed variable cannot leave one side behind.
func TestNamesAreSpelledOnlyHere(t *testing.T) {
	for _, pattern := range []string{"./functions/...", "./shared/...", "./infra/...", "./localstack/lakehost/..."} {
		for _, path := range goFiles(t, pattern, false) {
			if filepath.Base(filepath.Dir(path)) == "envvar" {
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, b, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && spelledName.MatchString(lit.Value) {
					t.Errorf("%s spells %s: use the envvar constant", path, lit.Value)
				}
				return true
			})
		}
	}
}

// Every function under functions/ declares its variables, and every declaration is a function.
func TestEveryFunctionIsDeclared(t *testing.T) {
	mains, err := filepath.Glob("../../functions/*/main.go")
	if err != nil || len(mains) == 0 {
		t.Fatalf("no functions/*/main.go found (%v)", err)
	}
	seen := map[string]bool{}
	for _, m := range mains {
		fn := filepath.Base(filepath.Dir(m))
		seen[fn] = true
		if _, ok := envvar.Functions[fn]; !ok {
			t.Errorf("functions/%s is not in envvar.Functions: declare the variables it reads (startup refuses to read any until then)", fn)
		}
	}
	for fn := range envvar.Functions {
		if !seen[fn] {
			t.Errorf("envvar.Functions declares %s, which is not a function under functions/", fn)
		}
	}
}
