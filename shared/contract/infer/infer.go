// Package infer drafts a dataset's contract from a sample file (JSON lines, CSV or Parquet):
// types, nullability, enum candidates, the event-time field, key candidates, rules and PII
// guesses, written as an .avsc that shared/contract loads. Every guess is named in the field's
// doc so that a person checks it before the contract ships: a sample shows what data was, not
// what it may be.
package infer

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	pqformat "github.com/parquet-go/parquet-go/format"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/record"
)

// Options tune the guesses.
type Options struct {
	// Dataset names the contract; default: the sample's file name, cleaned.
	Dataset string
	// MaxEnum is the most distinct values a string column may have to be offered as an enum.
	// Default 10.
	MaxEnum int
	// NaiveZone is the zone timestamps without a zone are read in. Default "UTC".
	NaiveZone string
}

// Format is a sample's file format.
type Format string

const (
	JSONLines Format = "jsonl"
	CSV       Format = "csv"
	Parquet   Format = "parquet"
)

// FormatOf tells a sample's format from its name.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson", ".json":
		return JSONLines, nil
	case ".csv":
		return CSV, nil
	case ".parquet":
		return Parquet, nil
	}
	return "", fmt.Errorf("%s: cannot tell the format from the name: use .jsonl, .ndjson, .json (JSON lines), .csv or .parquet", path)
}

// File infers a contract from the sample at path and returns the .avsc text.
func File(path string, opts Options) ([]byte, error) {
	format, err := FormatOf(path)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if opts.Dataset == "" {
		opts.Dataset = datasetName(path)
	}
	return Bytes(data, format, filepath.Base(path), opts)
}

// datasetName makes a contract name of a file name: "Orders-2026.csv" → "orders_2026".
func datasetName(path string) string {
	base := strings.ToLower(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
	out := []byte{}
	for i := 0; i < len(base); i++ {
		c := base[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			out = append(out, c)
		} else if len(out) > 0 && out[len(out)-1] != '_' {
			out = append(out, '_')
		}
	}
	s := strings.Trim(string(out), "_")
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		s = "dataset_" + s
	}
	return s
}

// Bytes infers a contract from a sample given as bytes; name is the sample's name for notes.
func Bytes(data []byte, format Format, name string, opts Options) ([]byte, error) {
	if opts.MaxEnum <= 0 {
		opts.MaxEnum = 10
	}
	if opts.NaiveZone == "" {
		opts.NaiveZone = "UTC"
	}
	if opts.Dataset == "" {
		return nil, errors.New("infer: name the dataset")
	}
	s := &sample{cols: map[string]*column{}}
	var err error
	switch format {
	case JSONLines:
		err = s.readJSONLines(data)
	case CSV:
		err = s.readCSV(data)
	case Parquet:
		err = s.readParquet(data)
	default:
		err = fmt.Errorf("unknown format %q", format)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if s.rows == 0 {
		return nil, fmt.Errorf("%s: no rows to infer from", name)
	}
	out, err := s.contract(name, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// What is written must load: a draft the loader refuses helps nobody.
	if _, err := contract.Parse(opts.Dataset+".avsc", out); err != nil {
		return nil, fmt.Errorf("infer: the drafted contract does not load (a bug in infer): %w", err)
	}
	return out, nil
}

type sample struct {
	rows  int
	cols  map[string]*column
	order []string
}

// column gathers what the sample shows of one column.
type column struct {
	name                  string
	present, nulls        int
	bools, numbers, strs  int
	integral, exponent    int // numbers
	objects, others       int
	mapOfStrings          bool
	boolStrs, numStrs     int // strings that read as "true"/"false" or as a JSON number
	zoned, naive, dates   int // strings that read as timestamps with and without a zone, dates
	uuids, emails, phones int
	minLen, maxLen        int
	min, max              float64
	distinct              map[string]int
	pq                    contract.Kind // from a Parquet schema; 0 otherwise
}

func (s *sample) col(name string) *column {
	c := s.cols[name]
	if c == nil {
		c = &column{name: name, mapOfStrings: true, minLen: math.MaxInt, min: math.Inf(1), max: math.Inf(-1), distinct: map[string]int{}}
		s.cols[name] = c
		s.order = append(s.order, name)
	}
	return c
}

var (
	uuidRE  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	emailRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	phoneRE = regexp.MustCompile(`^[0-9+()\-. x]{7,30}$`)
)

// number notes a number given as its JSON text.
func (c *column) number(text string) {
	c.numbers++
	if strings.ContainsAny(text, ".eE") {
		if strings.ContainsAny(text, "eE") {
			c.exponent++
		}
	} else {
		c.integral++
	}
	if x, err := strconv.ParseFloat(text, 64); err == nil {
		c.min, c.max = math.Min(c.min, x), math.Max(c.max, x)
	}
	c.distinct[text]++
	c.length(text)
	if phoneRE.MatchString(text) {
		c.phones++
	}
}

func (c *column) length(s string) {
	c.minLen, c.maxLen = min(c.minLen, len(s)), max(c.maxLen, len(s))
}

// str notes a string value.
func (c *column) str(s string) {
	c.strs++
	c.distinct[s]++
	c.length(s)
	b := []byte(s)
	if _, rej := record.ParseTimestamp(b, nil); rej == nil {
		c.zoned++
	} else if rej.Code == record.NoZone {
		c.naive++
	} else if _, ok := record.ParseDate(b); ok {
		c.dates++
	}
	switch {
	case s == "true" || s == "false":
		c.boolStrs++
	case isJSONNumber(s):
		c.numStrs++
		if x, err := strconv.ParseFloat(s, 64); err == nil {
			c.min, c.max = math.Min(c.min, x), math.Max(c.max, x)
		}
	}
	if uuidRE.MatchString(s) {
		c.uuids++
	}
	if emailRE.MatchString(s) {
		c.emails++
	}
	if phoneRE.MatchString(s) {
		c.phones++
	}
}

func isJSONNumber(s string) bool { return record.IsJSONNumber([]byte(s)) }

func (s *sample) readJSONLines(data []byte) error {
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		keys, vals, err := object(line)
		if err != nil {
			return fmt.Errorf("line %d is not a JSON object: %v", i+1, err)
		}
		s.rows++
		for j, k := range keys {
			v := vals[j]
			if k == record.DatasetField {
				continue
			}
			c := s.col(k)
			switch x := v.(type) {
			case nil:
				c.nulls++
				continue
			case bool:
				c.bools++
				c.distinct[strconv.FormatBool(x)]++
			case json.Number:
				c.number(x.String())
			case string:
				c.str(x)
			case map[string]any:
				c.objects++
				for _, mv := range x {
					if _, ok := mv.(string); !ok {
						c.mapOfStrings = false
					}
				}
			default:
				c.others++
			}
			c.present++
		}
	}
	return nil
}

// object decodes one JSON object keeping its keys in order (the draft lists fields as the
// producer writes them) and its numbers as written.
func object(line []byte) ([]string, []any, error) {
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, fmt.Errorf("want an object, got %v %v", t, err)
	}
	var keys []string
	var vals []any
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, nil, err
		}
		var v any
		if err := d.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys, vals = append(keys, t.(string)), append(vals, v)
	}
	if _, err := d.Token(); err != nil {
		return nil, nil, err
	}
	if d.More() {
		return nil, nil, errors.New("more than one value on the line")
	}
	return keys, vals, nil
}

// readCSV reads cells as the file drop does (shared/filedrop): an empty cell is null, true and
// false in any case are booleans, a JSON number is a number.
func (s *sample) readCSV(data []byte) error {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("no CSV header row: %v", err)
	}
	cols := make([]*column, len(header))
	for i, h := range header {
		cols[i] = s.col(strings.TrimSpace(h))
	}
	for {
		cells, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		s.rows++
		for i, cell := range cells {
			c := cols[i]
			switch {
			case cell == "":
				c.nulls++
				continue
			case strings.EqualFold(cell, "true") || strings.EqualFold(cell, "false"):
				c.bools++
				c.distinct[strings.ToLower(cell)]++
			case isJSONNumber(cell):
				c.number(cell)
			default:
				c.str(cell)
			}
			c.present++
		}
	}
	return nil
}

// readParquet takes the types from the file's schema and the rules from its values.
func (s *sample) readParquet(data []byte) error {
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fmt.Errorf("not Parquet: %v", err)
	}
	for _, fld := range f.Schema().Fields() {
		c := s.col(fld.Name())
		if !fld.Leaf() {
			c.pq = contract.StringMap
			continue
		}
		t := fld.Type()
		lt := t.LogicalType()
		switch t.Kind() {
		case parquet.Boolean:
			c.pq = contract.Boolean
		case parquet.Int32:
			c.pq = contract.Int
			if lt != nil && isDate(lt.Value) {
				c.pq = contract.Date
			}
		case parquet.Int64:
			c.pq = contract.Long
			if lt != nil && isTimestamp(lt.Value) {
				c.pq = contract.Timestamp
			}
		case parquet.Float:
			c.pq = contract.Float
		case parquet.Double:
			c.pq = contract.Double
		case parquet.ByteArray:
			c.pq = contract.String
		default:
			return fmt.Errorf("column %q is a Parquet %v, which contracts do not have", fld.Name(), t)
		}
	}
	rows, err := parquetfile.ReadRows(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	for _, row := range rows {
		s.rows++
		for _, name := range s.order {
			c := s.cols[name]
			v, ok := row[name]
			if !ok || v == nil {
				c.nulls++
				continue
			}
			c.present++
			switch x := v.(type) {
			case string:
				c.str(x)
			case bool:
				c.bools++
				c.distinct[strconv.FormatBool(x)]++
			case int32, int64, float32, float64:
				if c.pq == contract.Timestamp || c.pq == contract.Date {
					c.distinct[fmt.Sprint(x)]++
					continue
				}
				c.number(fmt.Sprint(x))
			case time.Time:
				c.distinct[x.String()]++
			case map[string]any:
				c.objects++
			default:
				c.distinct[fmt.Sprint(x)]++
			}
		}
	}
	return nil
}

func isDate(v pqformat.LogicalTypeValue) bool      { _, ok := v.(*pqformat.DateType); return ok }
func isTimestamp(v pqformat.LogicalTypeValue) bool { _, ok := v.(*pqformat.TimestampType); return ok }

// DatasetOf is the dataset a drafted contract names.
func DatasetOf(avsc []byte) (string, error) {
	c, err := contract.Parse("draft.avsc", avsc)
	if err != nil {
		return "", err
	}
	return c.Name, nil
}
