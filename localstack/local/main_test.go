package main

import (
	"context"
	"fmt"
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
		"--dir", "lake", "--bin-dir", bin, "--logs", "functions.log", "--query-addr", "127.0.0.1:0")
	cmd.Dir = tmp // relative paths, as `make local` gives them
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
	// The simulated source database: 400 changes (half of --amount) of its customers table as
	// Debezium events, tombstones after deletes, the last tenth of the records written twice.
	c := regexp.MustCompile(`simulated source database: 400 changes of its customers table \((\d+) rows left\) as Debezium events to dbserver1\.public\.customers: (\d+) records, (\d+) of them tombstones, the last (\d+) written twice`).FindSubmatch(out)
	if c == nil {
		t.Fatalf("no simulated source database in:\n%s", out)
	}
	num := func(b []byte) int { v, _ := strconv.Atoi(string(b)); return v }
	left, records, tombstones, replayed := num(c[1]), num(c[2]), num(c[3]), num(c[4])
	if left == 0 || tombstones == 0 || records < 400+tombstones || replayed != records/11 {
		t.Errorf("simulated changes: %s", c[0])
	}
	m := regexp.MustCompile(`accounted: (\d+) sent = (\d+) cleansed \+ (\d+) quarantined \((\d+) produced bad, (\d+) tombstones among them\): OK`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no accounting line in:\n%s", out)
	}
	n := func(i int) int { return num(m[i]) }
	// 800 stream events, two sample files of 200 rows each, 160 Kafka records (a fifth of the
	// stream's, over two topics), 10% bad throughout, and the change events, whose tombstones
	// are quarantined.
	if in := 1360 + records; n(1) != in || n(2)+n(3) != in || n(3) != n(4) || n(4) != 136+tombstones || n(5) != tombstones {
		t.Fatalf("accounting %s", m[0])
	}
	if !regexp.MustCompile(fmt.Sprintf(`Kafka event source mapping: \d+ invocations, %d records, \d+ retries, 0 to the failure folder`, 160+records)).Match(out) {
		t.Errorf("the Kafka mapping did not take the %d Kafka records:\n%s", 160+records, out)
	}
	// Replays and all, the curated change stream is the source table, row for row.
	if !regexp.MustCompile(fmt.Sprintf(`change data capture: curated customers_changes has %d rows, the source table %d, row for row the same: OK`, left, left)).Match(out) {
		t.Errorf("curated customers_changes is not the source table:\n%s", out)
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
	// The curated tables' snapshots, each table's history (the lake's directory was given
	// relative, as `make local` gives it, though the S3 stand-in changes the working directory).
	for _, ds := range []string{"customers", "customers_changes", "user_events"} {
		if !regexp.MustCompile(`curated table ` + ds + `: \d+ snapshots\n  SNAPSHOT`).Match(out) {
			t.Errorf("no snapshots of curated %s in:\n%s", ds, out)
		}
	}
	// Table maintenance ran once over each curated table, and recorded the run.
	for _, ds := range []string{"customers", "customers_changes", "user_events"} {
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
