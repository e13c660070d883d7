// Package archive holds what the deployed Firehose archive and the local one must agree on:
// where objects go (prefixes, error prefix, object names), how a record finds its partition (the
// jq program), how the deserializer reads event times (timestamp formats generated from the
// contract's forms), and what a record Firehose could not deliver looks like.
//
// The CDK stack (infra/lake) configures the delivery stream from these definitions and the local
// Firehose (localstack/firehose) runs them, so the two cannot drift apart.
package archive

import (
	"fmt"
	"strings"
	"time"
)

const (
	// Root is the raw-zone prefix the archive writes converted records under, one folder per dataset.
	Root = "archive/"
	// ErrorRoot is the raw-zone prefix of records Firehose could not partition or convert.
	ErrorRoot = "archive-errors/"

	// ErrorOutputPrefix is the delivery stream's error prefix: by error type, then by the UTC
	// day and hour the records arrived (an unparsable record has no event time of its own).
	ErrorOutputPrefix = ErrorRoot + "!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/hr=!{timestamp:HH}/"

	// ParquetExtension ends the name of every converted object.
	ParquetExtension = ".parquet"
)

// The values of !{firehose:error-output-type} this archive can produce.
const (
	// ProcessingFailed: the partition query failed (not JSON, a required field missing, an event
	// time it cannot read).
	ProcessingFailed = "processing-failed"
	// FormatConversionFailed: the deserializer could not read the record into the table's schema.
	FormatConversionFailed = "format-conversion-failed"
)

// Buffering hints of the deployed stream by default. Parquet conversion needs at least 64 MB.
const (
	DefaultBufferSeconds = 300
	DefaultBufferMB      = 128
)

// DataPrefix is where a dataset's converted records go.
func DataPrefix(dataset string) string { return Root + dataset + "/" }

// Prefix is the delivery stream's Prefix for a dataset: Hive-style dt and hr partitions taken
// from the partition query's output.
func Prefix(dataset string) string {
	return DataPrefix(dataset) + "dt=!{partitionKeyFromQuery:dt}/hr=!{partitionKeyFromQuery:hr}/"
}

// Values are what a prefix expression is evaluated against.
type Values struct {
	// Keys are the partition query's output (partitionKeyFromQuery).
	Keys map[string]string
	// ErrorOutputType fills !{firehose:error-output-type}.
	ErrorOutputType string
	// Arrival is the approximate arrival time of the oldest record in the object (timestamp).
	Arrival time.Time
}

// Evaluate expands a Prefix or ErrorOutputPrefix expression as Firehose does: the
// partitionKeyFromQuery, firehose and timestamp namespaces (timestamp patterns in Java
// DateTimeFormatter syntax, letters y M d H m s and quoted literals, in UTC).
func Evaluate(expr string, v Values) (string, error) {
	var b strings.Builder
	rest := expr
	for {
		i := strings.Index(rest, "!{")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("archive: %q: unterminated !{ expression", expr)
		}
		ns, val, ok := strings.Cut(rest[i+2:i+j], ":")
		if !ok {
			return "", fmt.Errorf("archive: %q: expression %q lacks namespace:value", expr, rest[i:i+j+1])
		}
		switch ns {
		case "partitionKeyFromQuery":
			k, ok := v.Keys[val]
			if !ok {
				return "", fmt.Errorf("archive: %q: the partition query gave no key %q", expr, val)
			}
			b.WriteString(k)
		case "firehose":
			if val != "error-output-type" || v.ErrorOutputType == "" {
				return "", fmt.Errorf("archive: %q: cannot evaluate firehose:%s here", expr, val)
			}
			b.WriteString(v.ErrorOutputType)
		case "timestamp":
			s, err := javaTime(val, v.Arrival.UTC())
			if err != nil {
				return "", fmt.Errorf("archive: %q: %w", expr, err)
			}
			b.WriteString(s)
		default:
			return "", fmt.Errorf("archive: %q: unknown namespace %q", expr, ns)
		}
		rest = rest[i+j+1:]
	}
}

// javaTime formats t with the subset of Java DateTimeFormatter patterns prefixes use.
func javaTime(pattern string, t time.Time) (string, error) {
	var b strings.Builder
	for i := 0; i < len(pattern); {
		c := pattern[i]
		if c == '\'' {
			end := strings.IndexByte(pattern[i+1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("unterminated quote in timestamp pattern %q", pattern)
			}
			b.WriteString(pattern[i+1 : i+1+end])
			i += end + 2
			continue
		}
		n := 1
		for i+n < len(pattern) && pattern[i+n] == c {
			n++
		}
		var field int
		switch c {
		case 'y':
			field = t.Year()
		case 'M':
			field = int(t.Month())
		case 'd':
			field = t.Day()
		case 'H':
			field = t.Hour()
		case 'm':
			field = t.Minute()
		case 's':
			field = t.Second()
		default:
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
				return "", fmt.Errorf("timestamp pattern letter %q is not supported here (use y M d H m s)", c)
			}
			b.WriteString(pattern[i : i+n])
			i += n
			continue
		}
		fmt.Fprintf(&b, "%0*d", n, field)
		i += n
	}
	return b.String(), nil
}

// ObjectName is the name Firehose gives a delivered object after its prefix:
// <stream>-<version>-<yyyy>-<MM>-<dd>-<HH>-<mm>-<ss>-<uuid><extension>.
func ObjectName(stream string, version int, at time.Time, uuid, extension string) string {
	return fmt.Sprintf("%s-%d-%s-%s%s", stream, version, at.UTC().Format("2006-01-02-15-04-05"), uuid, extension)
}
