package main

import (
	"context"
	"github.com/sluicelake/sluice/infra/bundle"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
)

// TestOnceRunAccountsForEveryRecord runs the command as `make local-run` does and checks the
// closing accounting line it prints: sent = cleansed + quarantined, and quarantined = bad.
func TestOnceRunAccountsForEveryRecord(t *testing.T) {
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	root, err := bundle.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"ingest", "validate", "promote", "lineage", "collect", "maintain"} {
		if _, err := bundle.Function(context.Background(), root, bin, fn, runtime.GOARCH); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := exec.Command("go", "build", "-o", filepath.Join(tmp, "local"), ".").CombinedOutput(); err != nil {
		t.Fatalf("build the local host: %v\n%s", err, b)
	}

	cmd := exec.Command(filepath.Join(tmp, "local"), "--once", "--amount", "800", "--bad", "0.1", "--seed", "3",
		"--dir", filepath.Join(tmp, "lake"), "--bin-dir", bin, "--logs", filepath.Join(tmp, "functions.log"),
		"--query-addr", "127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("local --once: %v\n%s", err, out)
	}
	// The banner names each dataset's stream, the one a producer without _dataset writes to.
	for _, ds := range []string{"customers", "user_events"} {
		if !regexp.MustCompile(`stream sluice-` + ds + ` +for ` + ds).Match(out) {
			t.Errorf("the banner names no stream for %s:\n%s", ds, out)
		}
	}
	if !regexp.MustCompile(`web console \(datasets, quality, lineage, queries\): http://127\.0\.0\.1:\d+/console/`).Match(out) {
		t.Errorf("the banner names no console:\n%s", out)
	}
	m := regexp.MustCompile(`accounted: (\d+) sent = (\d+) cleansed \+ (\d+) quarantined \((\d+) produced bad\): OK`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no accounting line in:\n%s", out)
	}
	n := func(i int) int { v, _ := strconv.Atoi(string(m[i])); return v }
	// 800 stream events, two sample files of 200 rows each and 160 Kafka records (a fifth of
	// the stream's, over two topics), 10% bad throughout.
	if n(1) != 1360 || n(2)+n(3) != 1360 || n(3) != n(4) || n(4) != 136 {
		t.Fatalf("accounting %s", m[0])
	}
	if !regexp.MustCompile(`Kafka event source mapping: \d+ invocations, 160 records, \d+ retries, 0 to the failure folder`).Match(out) {
		t.Errorf("the Kafka mapping did not take the 160 Kafka records:\n%s", out)
	}
	// The sample has no duplicate keys, so the curated zone holds what the cleansed zone does.
	for _, ds := range []string{"customers", "user_events"} {
		rows := func(zone string) string {
			m := regexp.MustCompile(zone + `\s+` + ds + `\s+\d+\s+(\d+)`).FindSubmatch(out)
			if m == nil {
				return "none"
			}
			return string(m[1])
		}
		if rows("cleansed") == "none" || rows("curated") != rows("cleansed") {
			t.Errorf("%s: cleansed %s rows, curated %s", ds, rows("cleansed"), rows("curated"))
		}
	}
	// Table maintenance ran once over each curated table, and recorded the run.
	for _, ds := range []string{"customers", "user_events"} {
		if !regexp.MustCompile(`table maintenance of ` + ds + `: \d+ partitions compacted .* record s3://curated/_maintenance/` + ds + `/`).Match(out) {
			t.Errorf("no table maintenance of %s in:\n%s", ds, out)
		}
	}
	if !regexp.MustCompile(`query API .*: http://127\.0\.0\.1:\d+`).Match(out) {
		t.Errorf("no query API URL in:\n%s", out)
	}
	if !regexp.MustCompile(`events API .*\n  curl -s -X POST http://127\.0\.0\.1:\d+/events/user_events`).Match(out) {
		t.Errorf("no events API in the banner:\n%s", out)
	}
	// The run ends with each dataset's lineage graph: the stream and the dropped file flowing
	// through cleansed (and quarantine) to curated.
	for _, ds := range []string{"customers", "user_events"} {
		m := regexp.MustCompile(`lineage of ` + ds + ` \((\d+) nodes, (\d+) edges[^\n]*\n(flowchart LR\n(?:.+\n)+)`).FindSubmatch(out)
		if m == nil {
			t.Errorf("no lineage graph of %s in:\n%s", ds, out)
			continue
		}
		nodes, _ := strconv.Atoi(string(m[1]))
		mermaid := string(m[3])
		if nodes < 4 || !regexp.MustCompile(`curated/`+ds).MatchString(mermaid) || !regexp.MustCompile(`landing|raw/`+ds).MatchString(mermaid) {
			t.Errorf("lineage of %s: %d nodes\n%s", ds, nodes, mermaid)
		}
	}
	if !regexp.MustCompile(`cleansed\s+user_events\s+\d+\s+\d+`).Match(out) || !regexp.MustCompile(`cleansed\s+customers\s+\d+\s+\d+`).Match(out) {
		t.Errorf("summary lacks per-dataset rows:\n%s", out)
	}
}
