// Package oltest checks OpenLineage events in tests: against the core
// OpenLineage schema and against each facet's own schema, named by the
// facet's _schemaURL. The schemas are the spec files shipped in
// shared/openlineage/testdata/spec; no network is used.
package oltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// CoreURL is the schema every event is checked against.
const CoreURL = "https://openlineage.io/spec/2-0-2/OpenLineage.json"

const specPrefix = "https://openlineage.io/spec/"

// Validate fails t with the validator's message when event is not a valid
// OpenLineage event or one of its facets breaks its own schema.
func Validate(t testing.TB, event []byte) {
	t.Helper()
	if err := Check(event); err != nil {
		t.Fatalf("invalid OpenLineage event: %v\nevent: %s", err, event)
	}
}

// Check is Validate returning the failure instead of failing a test.
func Check(event []byte) error {
	v, err := get()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := v.core.Validate(inst); err != nil {
		return fmt.Errorf("against %s: %w", CoreURL, err)
	}
	var errs []error
	for _, f := range facetsOf(inst) {
		sch, err := v.facetSchema(f.schemaURL)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.path, err))
			continue
		}
		if sch == nil {
			continue // a custom facet: the core schema's BaseFacet check is all there is
		}
		if err := sch.Validate(f.value); err != nil {
			errs = append(errs, fmt.Errorf("%s against %s: %w", f.path, f.schemaURL, err))
		}
	}
	return errors.Join(errs...)
}

// SpecDir is where the shipped schemas are.
func SpecDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "spec")
}

type validator struct {
	dir  string
	core *jsonschema.Schema

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	facets   map[string]*jsonschema.Schema
}

var (
	once   sync.Once
	shared *validator
	setup  error
)

// get compiles the core schema once per test binary; facet schemas are
// compiled on first use and kept.
func get() (*validator, error) {
	once.Do(func() {
		dir := SpecDir()
		if _, err := os.Stat(filepath.Join(dir, "OpenLineage.json")); err != nil {
			setup = fmt.Errorf("oltest: OpenLineage schemas not found at %s (run the tests from a checkout): %w", dir, err)
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat() // runId's uuid and eventTime's date-time are format-only constraints
		c.UseLoader(specLoader{dir: dir})
		core, err := c.Compile(CoreURL)
		if err != nil {
			setup = fmt.Errorf("oltest: compiling %s: %w", CoreURL, err)
			return
		}
		shared = &validator{dir: dir, core: core, compiler: c, facets: map[string]*jsonschema.Schema{}}
	})
	return shared, setup
}

// facetSchema returns the compiled schema a facet's _schemaURL names, nil
// for a URL outside the OpenLineage spec, and an error for an OpenLineage
// facet schema that is not shipped.
func (v *validator) facetSchema(url string) (*jsonschema.Schema, error) {
	if !strings.HasPrefix(url, specPrefix+"facets/") {
		return nil, nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.facets[url]; ok {
		return s, nil
	}
	s, err := v.compiler.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("facet schema %s: %w (ship the file under %s)", url, err, v.dir)
	}
	v.facets[url] = s
	return s, nil
}

// specLoader maps https://openlineage.io/spec/... to the shipped files.
type specLoader struct{ dir string }

func (l specLoader) Load(url string) (any, error) {
	rest, ok := strings.CutPrefix(url, specPrefix)
	if !ok {
		return nil, fmt.Errorf("oltest loads only %s URLs, not %s", specPrefix, url)
	}
	var file string
	core := false
	switch {
	case strings.HasPrefix(rest, "facets/"):
		file = filepath.FromSlash(rest)
	case strings.HasSuffix(rest, "/OpenLineage.json"):
		core = true
		version := strings.TrimSuffix(rest, "/OpenLineage.json")
		// Facet files point at the core version current when they were
		// written; every 1-x and 2-x core defines the facet bases the same way.
		switch {
		case strings.HasPrefix(version, "2-"):
			file = "OpenLineage.json"
		case strings.HasPrefix(version, "1-"):
			file = filepath.Join("1-0-2", "OpenLineage.json")
		default:
			return nil, fmt.Errorf("no shipped core schema for version %s", version)
		}
	default:
		return nil, fmt.Errorf("no shipped schema for %s", url)
	}
	b, err := os.ReadFile(filepath.Join(l.dir, file))
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if m, ok := doc.(map[string]any); ok && core {
		// A shipped core file stands in for the version requested; dropping its
		// own $id lets it take the URL it was loaded for.
		delete(m, "$id")
	}
	return doc, nil
}

type facetRef struct {
	path      string
	schemaURL string
	value     any
}

// facetsOf lists every facet object of a RunEvent with its JSON path.
func facetsOf(inst any) []facetRef {
	ev, _ := inst.(map[string]any)
	var out []facetRef
	add := func(path string, v any) {
		m, _ := v.(map[string]any)
		for k, f := range m {
			fm, _ := f.(map[string]any)
			u, _ := fm["_schemaURL"].(string)
			out = append(out, facetRef{path: path + "." + k, schemaURL: u, value: f})
		}
	}
	if run, ok := ev["run"].(map[string]any); ok {
		add("run.facets", run["facets"])
	}
	if job, ok := ev["job"].(map[string]any); ok {
		add("job.facets", job["facets"])
	}
	for _, side := range []struct{ key, extra string }{{"inputs", "inputFacets"}, {"outputs", "outputFacets"}} {
		list, _ := ev[side.key].([]any)
		for i, d := range list {
			dm, _ := d.(map[string]any)
			add(fmt.Sprintf("%s[%d].facets", side.key, i), dm["facets"])
			add(fmt.Sprintf("%s[%d].%s", side.key, i, side.extra), dm[side.extra])
		}
	}
	return out
}

// Pretty indents an event for a failure message.
func Pretty(event []byte) string {
	var b bytes.Buffer
	if json.Indent(&b, event, "", "  ") != nil {
		return string(event)
	}
	return b.String()
}
