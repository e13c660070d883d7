package lake_test

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/infra/lake"
)

// Firehose runs the partition query with jq 1.6; so does this test, when jq is installed.
func TestPartitionQueryRunsInJq(t *testing.T) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		t.Skip("jq not installed; Firehose runs the query with jq 1.6")
	}
	var ue = shipped(t)[0]
	for _, c := range shipped(t) {
		if c.Name == "user_events" {
			ue = c
		}
	}
	query := lake.PartitionQuery(ue)
	base := `"event_id":"0b4e7a0e-5d2c-4c2a-9b1e-3f1f6f0c9a11","user_id":"u_42","event_type":"click"`
	cases := []struct{ record, want string }{
		{`{` + base + `,"timestamp":"2026-11-23T14:05:09Z"}`, `{"dt":"2026-11-23","hr":"14"}`},
		{`{` + base + `,"timestamp":"2026-11-23T14:05:09.123456789Z"}`, `{"dt":"2026-11-23","hr":"14"}`},
		// A zone offset moves the event to its UTC day and hour.
		{`{` + base + `,"timestamp":"2026-11-23T23:30:00-05:00"}`, `{"dt":"2026-11-24","hr":"04"}`},
		{`{` + base + `,"timestamp":"2026-11-24T01:15:00+02:00"}`, `{"dt":"2026-11-23","hr":"23"}`},
		// Not this dataset, or not a time: jq fails, so Firehose writes the record to the error prefix.
		{`{"uuid":"x","event_date":"2026-11-23","status":"Active","timestamp":"2026-11-23T14:05:09Z"}`, "error"},
		{`{` + base + `,"timestamp":"yesterday"}`, "error"},
		{`{` + base + `,"timestamp":1732370709000}`, "error"},
	}
	for _, c := range cases {
		cmd := exec.Command(jq, "-c", query)
		cmd.Stdin = strings.NewReader(c.record)
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		err := cmd.Run()
		got := strings.TrimSpace(out.String())
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("%s: got %s (%s), want %s", c.record, got, strings.TrimSpace(stderr.String()), c.want)
		}
	}
}
