package partition_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/archive"
	"github.com/sluicelake/sluice/shared/archive/partition"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/tooltest"
)

// Firehose runs the query with jq 1.6, the local archive with gojq: where jq is installed, both
// must give the same partition, or both fail, on every record kind the fake producer makes.
func TestGojqAgreesWithJq(t *testing.T) {
	jq := tooltest.Path(t, "jq")
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	c := reg["user_events"]
	prog, err := partition.Compile(c)
	if err != nil {
		t.Fatal(err)
	}
	g, err := fake.New(c, fake.Options{Seed: 11, Now: time.Date(2026, 11, 23, 1, 30, 0, 0, time.UTC), BadShare: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	var want []string
	for i := 0; i < 600; i++ {
		v, err := partition.Decode(g.Next().Data)
		if err != nil {
			continue // Firehose's parser rejects it before any query runs
		}
		line, _ := json.Marshal(v)
		in.Write(append(line, '\n'))
		keys, err := prog.Keys(context.Background(), v)
		if err != nil {
			want = append(want, "ERROR")
		} else {
			want = append(want, keys["dt"]+"/"+keys["hr"])
		}
	}
	cmd := exec.Command(jq, "-r", `try ((`+archive.PartitionQuery(c)+`) | .dt + "/" + .hr) catch "ERROR"`)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jq: %v", err)
	}
	var got []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		got = append(got, strings.TrimSpace(sc.Text()))
	}
	if len(got) != len(want) {
		t.Fatalf("jq gave %d results for %d records", len(got), len(want))
	}
	errors := 0
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d: jq %s, gojq %s", i, got[i], want[i])
		}
		if want[i] == "ERROR" {
			errors++
		}
	}
	if errors == 0 || errors == len(want) {
		t.Errorf("%d of %d records failed the query: the sample does not test both outcomes", errors, len(want))
	}
}
