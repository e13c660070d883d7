package erase

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// target is what an erasure looks for: the value of a field. A string is found as a whole
// token anywhere in a line (a dropped file may name its field otherwise) and as the column's
// value in Parquet. A number is too common a token to be found alone ("42" is a count, a price,
// an hour as often as an id): it is found only as the field's own value, in Parquet its column,
// in JSON a member of that name at any depth (a change event's before and after images),
// including in the records quarantine entries and Firehose error documents keep as base64.
type target struct {
	column, value string
	num           *int64 // set when the field is an integer
}

// holdsToken reports whether b holds value as a whole token: not as part of a longer
// identifier ("u_1" is not found in "u_12"), so that erasing one key never takes another's rows.
func holdsToken(b []byte, value string) bool {
	v := []byte(value)
	for i := 0; ; {
		j := bytes.Index(b[i:], v)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(v)
		if (start == 0 || !wordByte(b[start-1])) && (end == len(b) || !wordByte(b[end])) {
			return true
		}
		i = start + 1
	}
}

func wordByte(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// lineHolds reports whether one line of a line-oriented object (JSON lines, CSV, a quarantine
// entry, a Firehose error document) holds value: as a token of the line itself, or inside a
// JSON string that is base64 (how quarantine entries keep the original record, and Firehose
// error documents the raw data).
func lineHolds(line []byte, t target) bool {
	if t.num == nil && holdsToken(line, t.value) {
		return true
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber() // ids beyond 2^53 compare exactly
	if d.Decode(&v) != nil {
		return false
	}
	return (t.num != nil && t.inJSON(v)) || base64Holds(v, t)
}

func base64Holds(v any, t target) bool {
	switch x := v.(type) {
	case string:
		if len(x) < 4 || len(x)%4 != 0 {
			return false
		}
		b, err := base64.StdEncoding.DecodeString(x)
		return err == nil && lineHolds(b, t)
	case map[string]any:
		for _, e := range x {
			if base64Holds(e, t) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if base64Holds(e, t) {
				return true
			}
		}
	}
	return false
}

// inJSON reports whether v has, at any depth, a member named t.column whose value is t's
// number (or its digits as a string, as a producer with the wrong type sends it).
func (t target) inJSON(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == t.column {
				switch n := e.(type) {
				case json.Number:
					if i, err := n.Int64(); err == nil && i == *t.num {
						return true
					}
				case string:
					if n == t.value {
						return true
					}
				}
			}
			if t.inJSON(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if t.inJSON(e) {
				return true
			}
		}
	}
	return false
}

// isGzip and isParquet tell an object's format from its bytes, not its name: producers name
// dropped files as they like.
func isGzip(b []byte) bool { return len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b }

func isParquet(b []byte) bool {
	return len(b) >= 12 && bytes.Equal(b[:4], []byte("PAR1")) && bytes.Equal(b[len(b)-4:], []byte("PAR1"))
}

// filterLines drops the lines that hold value from a line-oriented object (gzip'd or not) and
// returns the object without them, re-compressed as it was, and how many lines went.
func filterLines(b []byte, t target) (out []byte, removed int64, kept int64, err error) {
	gz := isGzip(b)
	text := b
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, 0, 0, fmt.Errorf("not a readable gzip stream: %w", err)
		}
		if text, err = io.ReadAll(zr); err != nil {
			return nil, 0, 0, fmt.Errorf("not a readable gzip stream: %w", err)
		}
	}
	var buf bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		if lineHolds(sc.Bytes(), t) {
			removed++
			continue
		}
		kept++
		buf.Write(sc.Bytes())
		buf.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, 0, 0, err
	}
	if removed == 0 || !gz {
		return buf.Bytes(), removed, kept, nil
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(buf.Bytes())
	if err := zw.Close(); err != nil {
		return nil, 0, 0, err
	}
	return z.Bytes(), removed, kept, nil
}

// filterParquet drops the rows whose column holds t's value exactly and returns the file without
// them (same schema, key-value metadata and row order; zstd, as the lake writes), how many rows
// went and how many stayed. A file without the column is returned as is.
func filterParquet(b []byte, t target) (out []byte, removed int64, kept int64, err error) {
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	leaf, ok := f.Schema().Lookup(t.column)
	if !ok {
		return b, 0, f.NumRows(), nil
	}
	col := leaf.ColumnIndex
	var keep []parquet.Row
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		buf := make([]parquet.Row, 256)
		for {
			n, rerr := rows.ReadRows(buf)
			for _, row := range buf[:n] {
				if rowHolds(row, col, t) {
					removed++
					continue
				}
				keep = append(keep, row.Clone())
			}
			if rerr == io.EOF || (rerr == nil && n == 0) {
				break
			}
			if rerr != nil {
				rows.Close()
				return nil, 0, 0, fmt.Errorf("read rows: %w", rerr)
			}
		}
		rows.Close()
	}
	if removed == 0 {
		return b, 0, int64(len(keep)), nil
	}
	opts := []parquet.WriterOption{f.Schema(), parquet.Compression(&zstd.Codec{})}
	for _, kv := range f.Metadata().KeyValueMetadata {
		opts = append(opts, parquet.KeyValueMetadata(kv.Key, kv.Value))
	}
	var w bytes.Buffer
	pw := parquet.NewWriter(&w, opts...)
	if _, err := pw.WriteRows(keep); err != nil {
		return nil, 0, 0, fmt.Errorf("write rows: %w", err)
	}
	if err := pw.Close(); err != nil {
		return nil, 0, 0, fmt.Errorf("write footer: %w", err)
	}
	return w.Bytes(), removed, int64(len(keep)), nil
}

func rowHolds(row parquet.Row, col int, t target) bool {
	for _, v := range row {
		if v.Column() != col || v.IsNull() {
			continue
		}
		switch v.Kind() {
		case parquet.ByteArray:
			if t.num == nil && string(v.ByteArray()) == t.value {
				return true
			}
		case parquet.Int32:
			if t.num != nil && int64(v.Int32()) == *t.num {
				return true
			}
		case parquet.Int64:
			if t.num != nil && v.Int64() == *t.num {
				return true
			}
		}
	}
	return false
}

// filter removes what holds t from one object of any format the lake keeps: Parquet rows
// by column, lines otherwise.
func filter(b []byte, t target) (out []byte, removed, kept int64, err error) {
	if isParquet(b) {
		return filterParquet(b, t)
	}
	return filterLines(b, t)
}
