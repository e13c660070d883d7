package obs_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/obs"
)

func decodeLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestLoggerWritesJSONWithFunction(t *testing.T) {
	t.Setenv(obs.EnvLogLevel, "")
	var buf bytes.Buffer
	log := obs.NewLogger(&buf, "ingest")
	log.Debug("hidden at info")
	log.Info("batch done", "records", 10)
	lines := decodeLines(t, buf.Bytes())
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want only the info one: %s", len(lines), buf.String())
	}
	l := lines[0]
	if l["function"] != "ingest" || l["msg"] != "batch done" || l["level"] != "INFO" || l["records"] != float64(10) {
		t.Fatalf("unexpected record %v", l)
	}
}

func TestLoggerLevelFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env        string
		wantLevels []string
	}{
		{"debug", []string{"DEBUG", "INFO", "WARN", "ERROR"}},
		{"WARN", []string{"WARN", "ERROR"}},
		{"error", []string{"ERROR"}},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(obs.EnvLogLevel, tc.env)
			var buf bytes.Buffer
			log := obs.NewLogger(&buf, "f")
			log.Debug("d")
			log.Info("i")
			log.Warn("w")
			log.Error("e")
			var got []string
			for _, l := range decodeLines(t, buf.Bytes()) {
				got = append(got, l["level"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tc.wantLevels, ",") {
				t.Fatalf("levels %v, want %v", got, tc.wantLevels)
			}
		})
	}
}

func TestLoggerUnknownLevelSaysSo(t *testing.T) {
	t.Setenv(obs.EnvLogLevel, "loud")
	var buf bytes.Buffer
	obs.NewLogger(&buf, "f").Info("i")
	lines := decodeLines(t, buf.Bytes())
	if len(lines) != 2 || lines[0]["level"] != "WARN" || lines[0]["value"] != "loud" || lines[1]["msg"] != "i" {
		t.Fatalf("want a warning naming the bad value, then the info record; got %s", buf.String())
	}
}
