package filedrop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/record"
)

// csvSource reads RFC 4180 CSV with a header row naming contract fields, and turns each row into
// a JSON object by the fields' kinds, so that rows are validated exactly as stream records are.
// An empty cell is null. A quoted cell may hold commas, quotes ("") and line breaks.
type csvSource struct {
	lr     *lineReader
	cols   []csvCol
	cells  [][]byte
	unq    []byte
	rawBuf []byte
	out    []byte
	start  int64 // the line the current record starts on
}

type csvCol struct {
	key  []byte // the JSON key, quoted, with its colon
	kind contract.Kind
	skip bool // a column the contract ignores
}

func newCSVSource(lr *lineReader, c *contract.Contract) (*csvSource, error) {
	s := &csvSource{lr: lr}
	raw, tooLong, err := s.record()
	if err == io.EOF {
		return nil, fileErr(EmptyFile, "no header row")
	}
	if err != nil {
		return nil, err
	}
	if tooLong {
		return nil, fileErr(BadHeader, "the header row is longer than %d bytes", lr.max)
	}
	if reason, detail := s.split(raw); reason != "" {
		return nil, fileErr(BadHeader, "header row: %s", detail)
	}
	seen := map[string]bool{}
	for _, cell := range s.cells {
		name := strings.TrimSpace(string(cell))
		if seen[name] {
			return nil, fileErr(BadHeader, "column %q appears twice in the header", name)
		}
		seen[name] = true
		key, _ := json.Marshal(name)
		col := csvCol{key: append(key, ':'), kind: contract.String}
		if f, ok := c.Field(name); ok {
			col.kind = f.Kind
		} else if name != record.DatasetField {
			if c.RejectUnknown {
				return nil, fileErr(BadHeader, "column %q is not a field of %s (fields: %v)%s", name, c.Name, c.FieldNames(), delimiterHint(raw))
			}
			col.skip = true
		}
		s.cols = append(s.cols, col)
	}
	for _, f := range c.Fields {
		if !f.Nullable && !seen[f.Name] {
			return nil, fileErr(BadHeader, "required column %q is missing from the header%s", f.Name, delimiterHint(raw))
		}
	}
	return s, nil
}

func delimiterHint(header []byte) string {
	for _, d := range []string{";", "\t", "|"} {
		if bytes.Contains(header, []byte(d)) {
			return fmt.Sprintf("; the header holds %q: sluice reads comma-separated files only", d)
		}
	}
	return ""
}

// record reads one logical CSV record: lines are joined while a quoted cell is open.
func (s *csvSource) record() (raw []byte, tooLong bool, err error) {
	s.rawBuf = s.rawBuf[:0]
	s.start = s.lr.line + 1
	quotes := 0
	for first := true; ; first = false {
		line, long, err := s.lr.readLine()
		if err == io.EOF && !first {
			return s.rawBuf, tooLong, nil // an open quote at the end: split says so
		}
		if err != nil {
			return nil, false, err
		}
		if !first {
			s.rawBuf = append(s.rawBuf, '\n')
		}
		tooLong = tooLong || long || len(s.rawBuf)+len(line) > s.lr.max
		if !tooLong {
			s.rawBuf = append(s.rawBuf, line...)
		}
		quotes += bytes.Count(line, []byte{'"'})
		if quotes%2 == 0 {
			return s.rawBuf, tooLong, nil
		}
	}
}

// split cuts a record into cells (unquoted in place into s.unq).
func (s *csvSource) split(raw []byte) (reason, detail string) {
	s.cells = s.cells[:0]
	s.unq = s.unq[:0]
	if cap(s.unq) < len(raw) {
		s.unq = make([]byte, 0, len(raw))
	}
	i := 0
	for {
		if i < len(raw) && raw[i] == '"' {
			start := len(s.unq)
			i++
			for {
				j := bytes.IndexByte(raw[i:], '"')
				if j < 0 {
					return CSVQuote, "a quoted cell is not closed before the end of the file"
				}
				s.unq = append(s.unq, raw[i:i+j]...)
				i += j + 1
				if i < len(raw) && raw[i] == '"' {
					s.unq = append(s.unq, '"')
					i++
					continue
				}
				break
			}
			s.cells = append(s.cells, s.unq[start:len(s.unq):len(s.unq)])
			if i < len(raw) && raw[i] != ',' {
				return CSVQuote, fmt.Sprintf("text after the closing quote of cell %d", len(s.cells))
			}
		} else {
			j := bytes.IndexByte(raw[i:], ',')
			if j < 0 {
				j = len(raw) - i
			}
			cell := raw[i : i+j]
			if bytes.IndexByte(cell, '"') >= 0 {
				return CSVQuote, fmt.Sprintf("a quote inside unquoted cell %d (quote the cell and double the quote)", len(s.cells)+1)
			}
			s.cells = append(s.cells, cell)
			i += j
		}
		if i >= len(raw) {
			return "", ""
		}
		i++ // the comma
	}
}

func (s *csvSource) next(a *arena) (rec, error) {
	for {
		raw, tooLong, err := s.record()
		if err != nil {
			return rec{}, err
		}
		line := s.start
		if len(bytes.TrimSpace(raw)) == 0 && !tooLong {
			continue // blank lines hold nothing
		}
		orig := a.copy(raw)
		r := rec{orig: orig, line: line}
		if tooLong {
			r.reason, r.detail = string(record.TooLarge), fmt.Sprintf("row longer than %d bytes; the quarantined original is cut there", s.lr.max)
			return r, nil
		}
		if reason, detail := s.split(raw); reason != "" {
			r.reason, r.detail = reason, detail
			return r, nil
		}
		if len(s.cells) != len(s.cols) {
			r.reason, r.detail = CSVFieldCount, fmt.Sprintf("%d cells, the header has %d columns", len(s.cells), len(s.cols))
			return r, nil
		}
		r.data = a.copy(s.toJSON())
		return r, nil
	}
}

// toJSON writes the current cells as a JSON object, typed by the columns' kinds.
func (s *csvSource) toJSON() []byte {
	out := append(s.out[:0], '{')
	first := true
	for i, cell := range s.cells {
		col := &s.cols[i]
		if col.skip {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, col.key...)
		switch {
		case len(cell) == 0:
			out = append(out, "null"...)
		case col.kind == contract.Int || col.kind == contract.Long || col.kind == contract.Float || col.kind == contract.Double:
			if isNumber(cell) {
				out = append(out, cell...)
			} else {
				out = appendString(out, cell) // the batch says: want a number, got a string
			}
		case col.kind == contract.Boolean:
			switch strings.ToLower(string(cell)) {
			case "true":
				out = append(out, "true"...)
			case "false":
				out = append(out, "false"...)
			default:
				out = appendString(out, cell)
			}
		case col.kind == contract.StringMap:
			if cell[0] == '{' && json.Valid(cell) {
				out = append(out, cell...)
			} else {
				out = appendString(out, cell)
			}
		default:
			out = appendString(out, cell)
		}
	}
	out = append(out, '}')
	s.out = out
	return out
}

// isNumber reports whether b is a JSON number, so that it can be written as one unquoted.
func isNumber(b []byte) bool {
	i := 0
	if b[0] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(b)
}

const hexDigits = "0123456789abcdef"

// appendString writes b as a JSON string. Bytes that are not UTF-8 pass through, so that the
// batch rejects them as it would in a stream record.
func appendString(out, b []byte) []byte {
	out = append(out, '"')
	start := 0
	for i, c := range b {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		out = append(out, b[start:i]...)
		switch c {
		case '"', '\\':
			out = append(out, '\\', c)
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		default:
			out = append(out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		start = i + 1
	}
	out = append(out, b[start:]...)
	return append(out, '"')
}
