package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/contract/infer"
)

// The command writes a contract the loader takes, and never writes over one.
func TestRunWritesOnceAndLoads(t *testing.T) {
	dir := t.TempDir()
	sample := filepath.Join(dir, "Seed Orders.jsonl")
	rows := `{"id": "a1", "at": "2026-11-23T10:00:00.123456", "total": 3}` + "\n" + `{"id": "a2", "at": "2026-11-23T10:05:00.5", "total": 4}` + "\n"
	if err := os.WriteFile(sample, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "draft.avsc")
	if err := run(sample, "", out, infer.Options{}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	c, err := contract.Parse(out, data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "seed_orders" || c.Fields[c.EventTime].Name != "at" {
		t.Errorf("dataset %q, event time %q", c.Name, c.Fields[c.EventTime].Name)
	}
	if err := run(sample, "", out, infer.Options{}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second run over the same file: %v", err)
	}
}
