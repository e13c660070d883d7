package filedrop

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sluicelake/sluice/shared/record"
)

type format uint8

const (
	formatCSV format = iota + 1
	formatJSONL
	formatJSON // JSON lines under a .json name
	formatParquet
)

func (f format) String() string {
	return [...]string{"", "csv", "jsonl", "jsonl", "parquet"}[f]
}

// formatOf tells a file's format from its name.
func formatOf(key string) (f format, gz bool, ok bool) {
	name := strings.ToLower(key[strings.LastIndexByte(key, '/')+1:])
	if n, cut := strings.CutSuffix(name, ".gz"); cut {
		name, gz = n, true
	}
	switch {
	case strings.HasSuffix(name, ".csv"):
		f = formatCSV
	case strings.HasSuffix(name, ".jsonl"), strings.HasSuffix(name, ".ndjson"):
		f = formatJSONL
	case strings.HasSuffix(name, ".json"):
		f = formatJSON
	case strings.HasSuffix(name, ".parquet") && !gz:
		f = formatParquet // Parquet compresses its pages itself; a gzip'd one cannot be read at random
	default:
		return 0, false, false
	}
	return f, gz, true
}

// gunzip inflates a stream up to a limit, and turns its errors into file errors.
type gunzip struct {
	zr        *gzip.Reader
	n, limit  int64
	exhausted bool
}

func newGunzip(r io.Reader, limit int64) (*gunzip, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, gzErr(err)
	}
	return &gunzip{zr: zr, limit: limit}, nil
}

func gzErr(err error) error {
	var se *storeError
	if errors.As(err, &se) {
		return se
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fileErr(BadGzip, "the file is named .gz but is not a whole gzip stream: %v", err)
}

func (g *gunzip) Read(p []byte) (int, error) {
	if g.n >= g.limit {
		// One byte more tells a file of exactly the limit from one beyond it.
		var one [1]byte
		if n, _ := g.zr.Read(one[:]); n == 0 {
			return 0, io.EOF
		}
		return 0, fileErr(GunzipLimit, "inflates to more than %d bytes, the limit (a gzip bomb, or raise MaxGunzipBytes)", g.limit)
	}
	if int64(len(p)) > g.limit-g.n {
		p = p[:g.limit-g.n]
	}
	n, err := g.zr.Read(p)
	g.n += int64(n)
	if err != nil && err != io.EOF {
		err = gzErr(err)
	}
	return n, err
}

// lineReader yields lines of bounded length, counting them.
type lineReader struct {
	br    *bufio.Reader
	max   int
	line  int64 // lines read so far
	buf   []byte
	bom   bool
	atEOF bool
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 256<<10), max: max}
}

// stripBOM removes a UTF-8 byte-order mark; a UTF-16 or UTF-32 one makes the file unreadable.
func (l *lineReader) stripBOM() error {
	head, err := l.br.Peek(4)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return err
	}
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		l.br.Discard(3)
		l.bom = true
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}),
		bytes.HasPrefix(head, []byte{0, 0, 0xFE, 0xFF}):
		return fileErr(BadEncoding, "the file starts with a UTF-16 or UTF-32 byte-order mark; sluice reads UTF-8 only")
	}
	return nil
}

// readLine returns the next line without its line ending, and whether it was cut at max (the
// rest of the line is skipped). It returns io.EOF after the last line.
func (l *lineReader) readLine() (line []byte, tooLong bool, err error) {
	l.buf = l.buf[:0]
	for {
		frag, err := l.br.ReadSlice('\n')
		if len(l.buf)+len(frag) > l.max+2 {
			tooLong = true
			if room := l.max - len(l.buf); room > 0 {
				l.buf = append(l.buf, frag[:room]...)
			}
		} else {
			l.buf = append(l.buf, frag...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			return nil, false, err
		}
		if err == io.EOF && len(l.buf) == 0 {
			return nil, false, io.EOF
		}
		l.line++
		b := bytes.TrimSuffix(l.buf, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		return b, tooLong, nil
	}
}

// jsonSource reads JSON lines; blank lines are skipped.
type jsonSource struct {
	lr         *lineReader
	arrayCheck bool
}

func (s *jsonSource) next(a *arena) (rec, error) {
	for {
		line, tooLong, err := s.lr.readLine()
		if err != nil {
			return rec{}, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if s.arrayCheck {
			s.arrayCheck = false
			if t := bytes.TrimSpace(line); t[0] == '[' {
				return rec{}, fileErr(JSONArray, "the file holds a JSON array; sluice reads JSON lines: one object a line, no enclosing [ ]")
			}
		}
		data := a.copy(line)
		r := rec{data: data, orig: data, line: s.lr.line}
		if tooLong {
			r.reason = string(record.TooLarge)
			r.detail = fmt.Sprintf("line longer than %d bytes; the quarantined original is cut there", s.lr.max)
		}
		return r, nil
	}
}
