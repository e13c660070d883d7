package obs_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/obs"
)

// lambdaLevels are the application log levels of Lambda's advanced logging controls, least
// severe first.
var lambdaLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}

// lambdaKeeps applies the rules AWS documents for log-level filtering of JSON lines from a
// custom runtime ("Log-level filtering", Lambda developer guide): the level is read from the
// "level" member, and a line whose level is missing or invalid, or whose timestamp is not a
// valid RFC 3339 time, is treated as INFO. It reports whether a line survives an
// ApplicationLogLevel of min, and the level Lambda reads.
func lambdaKeeps(t *testing.T, line []byte, min string) (bool, string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("line is not JSON: %q", line)
	}
	rank := func(l string) int {
		for i, k := range lambdaLevels {
			if strings.EqualFold(k, l) {
				return i
			}
		}
		return -1
	}
	level, _ := m["level"].(string)
	ts, _ := m["timestamp"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || rank(level) < 0 {
		level = "INFO"
	}
	return rank(level) >= rank(min), strings.ToUpper(level)
}

func TestMetricLinesSurviveEveryApplicationLogLevel(t *testing.T) {
	m := obs.NewMetrics("promote")
	m.Add("", "FilesPromoted", obs.Count, 1)
	m.Add("customers", "RowsWritten", obs.Count, 10)
	var buf bytes.Buffer
	if err := m.Flush(&buf); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("want 2 EMF lines, got %q", buf.String())
	}
	for _, l := range lines {
		for _, min := range lambdaLevels {
			if keep, got := lambdaKeeps(t, l, min); !keep {
				t.Errorf("ApplicationLogLevel %s drops the metric line (read as %s): %s", min, got, l)
			}
		}
	}
}

func TestLogLevelsReadAsWritten(t *testing.T) {
	t.Setenv(obs.EnvLogLevel, "debug")
	var buf bytes.Buffer
	log := obs.NewLogger(&buf, "lineage")
	log.Debug("d")
	log.Info("i")
	log.Warn("w")
	log.Error("e")
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	want := []string{"DEBUG", "INFO", "WARN", "ERROR"}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d: %s", len(lines), len(want), buf.String())
	}
	for i, l := range lines {
		if _, got := lambdaKeeps(t, l, "TRACE"); got != want[i] {
			t.Errorf("Lambda reads line %d as %s, want %s: %s", i, got, want[i], l)
		}
		// Under an ApplicationLogLevel of WARN only WARN and ERROR stay.
		if keep, _ := lambdaKeeps(t, l, "WARN"); keep != (i >= 2) {
			t.Errorf("ApplicationLogLevel WARN keeps line %d = %v: %s", i, keep, l)
		}
	}
}
