// Package obs is the lake's observability: structured JSON logs and CloudWatch metrics in
// Embedded Metric Format (EMF), both written as lines to a writer (stdout in Lambda, where
// CloudWatch Logs picks them up and turns EMF lines into metrics without any API call).
package obs

import (
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/sluicelake/sluice/shared/envvar"
)

// EnvLogLevel names the variable that sets the minimum level: debug, info, warn or error.
const EnvLogLevel = envvar.LogLevel

// NewLogger returns a JSON logger that tags every record with the function's name. The level
// comes from SLUICE_LOG_LEVEL (default info); an unknown value logs at info and says so once,
// rather than silently hiding or flooding records.
func NewLogger(w io.Writer, function string) *slog.Logger {
	level, known := parseLevel(os.Getenv(EnvLogLevel))
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: lambdaKeys})
	logger := slog.New(h).With("function", function)
	if !known {
		logger.Warn("unknown log level, using info; set "+EnvLogLevel+" to debug, info, warn or error",
			"value", os.Getenv(EnvLogLevel))
	}
	return logger
}

// Lambda's log-level filtering (LoggingConfig with ApplicationLogLevel, JSON format) reads a
// line's "level" and "timestamp" members; a line whose timestamp it cannot find is given
// level INFO, so slog's "time" key would turn every WARN and ERROR into INFO and have it
// dropped under an ApplicationLogLevel of WARN. The time is RFC 3339, as Lambda requires.
const (
	keyLevel     = "level"
	keyTimestamp = "timestamp"
)

// lambdaKeys renames slog's built-in time key to the one Lambda reads. slog's level names
// (DEBUG, INFO, WARN, ERROR) are ones Lambda recognises, in any case.
func lambdaKeys(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		a.Key = keyTimestamp
	}
	return a
}

func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return slog.LevelInfo, true
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn", "warning":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}
