package collect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Format is how a body lays out its records.
type Format string

const (
	// Array is one JSON array whose elements are the records.
	Array Format = "array"
	// Lines is JSON lines: one record per line, blank lines ignored.
	Lines Format = "lines"
)

// BodyError says why a body cannot be read as records at all. The caller answers 400.
type BodyError struct{ Problem string }

func (e *BodyError) Error() string { return "collect: " + e.Problem }

// SplitBody cuts a body into its records without judging them: a body whose first character
// is '[' is a JSON array and must be one, whole (its elements are the records, each as it was
// written); anything else starting with '{' is JSON lines, and each non-blank line is a record
// that validation judges on its own, so one broken line rejects that record, not the call.
// A gzip'd record inside a body is refused: the validator would unpack it, but the HTTP API
// takes JSON text. The records alias body.
func SplitBody(body []byte) ([][]byte, Format, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, "", &BodyError{"the body is empty: send a JSON array of records or JSON lines, one record per line"}
	}
	switch trimmed[0] {
	case '[':
		recs, err := splitArray(trimmed)
		return recs, Array, err
	case '{':
		return splitLines(body), Lines, nil
	}
	return nil, "", &BodyError{fmt.Sprintf("the body starts with %q: send a JSON array of record objects, or JSON lines with one object per line", preview(trimmed))}
}

func splitArray(body []byte) ([][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the '[' seen above
		return nil, &BodyError{"the JSON array does not open: " + err.Error()}
	}
	var recs [][]byte
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, arrayError(len(recs), dec.InputOffset(), err)
		}
		// RawMessage holds a copy; point back into the body instead to keep one copy of the
		// records in memory. The decoder stopped right after this element.
		end := int(dec.InputOffset())
		start := end - len(raw)
		if start < 0 || !bytes.Equal(body[start:end], raw) {
			recs = append(recs, raw)
		} else {
			recs = append(recs, body[start:end:end])
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return nil, arrayError(len(recs), dec.InputOffset(), err)
	}
	if rest := bytes.TrimSpace(body[dec.InputOffset():]); len(rest) > 0 {
		return nil, &BodyError{fmt.Sprintf("data after the JSON array at byte %d (%q): send one array, or JSON lines without brackets", dec.InputOffset(), preview(rest))}
	}
	return recs, nil
}

func arrayError(n int, offset int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &BodyError{fmt.Sprintf("the JSON array ends early, after %d complete records: the body may have been cut off", n)}
	}
	return &BodyError{fmt.Sprintf("the JSON array is not valid JSON near byte %d (record %d): %v; one broken record spoils an array, while in JSON lines it would only reject that line", offset, n, err)}
}

func splitLines(body []byte) [][]byte {
	var recs [][]byte
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			recs = append(recs, line[:len(line):len(line)])
		}
	}
	return recs
}

func preview(b []byte) string {
	if len(b) > 20 {
		b = b[:20]
	}
	return string(b)
}
