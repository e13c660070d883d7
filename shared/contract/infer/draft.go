package infer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"

	"github.com/sluicelake/sluice/shared/contract"
)

// avscField is one field as written; the sluice attributes ride beside Avro's.
type avscField struct {
	Name    string          `json:"name"`
	Type    any             `json:"type"`
	Default json.RawMessage `json:"default,omitempty"`
	Doc     string          `json:"doc"`
	Rules   map[string]any  `json:"sluice.rules,omitempty"`
	PII     string          `json:"sluice.pii,omitempty"`
	Coerce  string          `json:"sluice.coerce,omitempty"`
	Zone    string          `json:"sluice.timestampWithoutZone,omitempty"`
}

type avscRecord struct {
	Type          string      `json:"type"`
	Name          string      `json:"name"`
	Namespace     string      `json:"namespace"`
	Doc           string      `json:"doc"`
	EventTime     string      `json:"sluice.eventTime"`
	Key           []string    `json:"sluice.key"`
	UnknownFields string      `json:"sluice.unknownFields,omitempty"`
	Fields        []avscField `json:"fields"`
}

// draft is a field with what the guesses need to know of it.
type draft struct {
	avscField
	col      *column
	kind     contract.Kind
	nullable bool
}

var (
	avroName      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	fieldName     = regexp.MustCompile(`^[a-z][a-z0-9_]{0,127}$`)
	phoneName     = regexp.MustCompile(`(^|_)(phone|tel|telephone|mobile|cell|fax)(_|$)`)
	personName    = regexp.MustCompile(`^(name|first_?name|last_?name|surname|given_?name|family_?name|full_?name|middle_?name)$`)
	eventTimeName = regexp.MustCompile(`(event_?(time|date|ts)|timestamp|^ts$|occurred|created_at|^time$)`)
	idName        = regexp.MustCompile(`(^|_)(id|uuid|key)$`)
)

func (s *sample) contract(name string, opts Options) ([]byte, error) {
	var fields []draft
	var skipped []string
	for _, n := range s.order {
		c := s.cols[n]
		if !fieldName.MatchString(n) {
			skipped = append(skipped, fmt.Sprintf("%q (field names must be lower-case letters, digits and _)", n))
			continue
		}
		d, why := s.field(c, opts)
		if why != "" {
			skipped = append(skipped, fmt.Sprintf("%q (%s)", n, why))
			continue
		}
		fields = append(fields, d)
	}
	rec := avscRecord{Type: "record", Name: opts.Dataset, Namespace: "sluice.events",
		Doc: fmt.Sprintf("Inferred by sluice from %d rows of %s: check every field's doc, then keep or correct each guess.", s.rows, name)}
	if len(skipped) > 0 {
		rec.UnknownFields = "ignore"
		rec.Doc += " Left out, and ignored in records: " + strings.Join(skipped, ", ") + "."
	}

	// The event time: a required timestamp, by name if one says so, else the first.
	et := -1
	for i := range fields {
		if fields[i].kind == contract.Timestamp && !fields[i].nullable {
			if et < 0 || eventTimeName.MatchString(fields[i].Name) && !eventTimeName.MatchString(fields[et].Name) {
				et = i
			}
		}
	}
	if et < 0 {
		return nil, fmt.Errorf("no column holds a timestamp in every row: a contract needs an event time to partition on (RFC 3339 text, e.g. 2026-11-23T10:15:04Z, or a Parquet timestamp)")
	}
	rec.EventTime = fields[et].Name
	fields[et].Doc += " Event time (partitions are cut on it): check."

	// The key: a required scalar column unique in the sample, an id-like name first.
	key := -1
	for i := range fields {
		d := &fields[i]
		if d.nullable || d.kind == contract.StringMap || d.kind == contract.Boolean || len(d.col.distinct) != s.rows || s.rows < 2 {
			continue
		}
		d.Doc += " Unique in the sample: a key candidate."
		if key < 0 || idName.MatchString(d.Name) && !idName.MatchString(fields[key].Name) {
			key = i
		}
	}
	if key >= 0 {
		rec.Key = []string{fields[key].Name}
		fields[key].Doc += " Chosen as sluice.key: check."
	} else {
		for _, d := range fields {
			if !d.nullable && d.kind != contract.StringMap {
				rec.Key = append(rec.Key, d.Name)
			}
		}
		rec.Doc += " No column is unique in the sample: the key is every required column (curated keeps one row per distinct row); name the real key."
	}
	for _, d := range fields {
		rec.Fields = append(rec.Fields, d.avscField)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rec); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// field decides one column's type, rules and PII guess, or says why it is left out.
func (s *sample) field(c *column, opts Options) (draft, string) {
	d := draft{col: c}
	d.Name = c.name
	var notes []string
	note := func(format string, a ...any) { notes = append(notes, fmt.Sprintf(format, a...)) }
	d.nullable = c.nulls > 0 || c.present < s.rows
	if c.present == 0 {
		return d, "always null or absent: no type to infer"
	}
	if c.others > 0 || c.objects > 0 && (c.objects != c.present || !c.mapOfStrings) {
		return d, "nested values other than an object of strings"
	}
	var typ any
	switch {
	case c.pq != 0:
		d.kind = c.pq
	case c.objects > 0:
		d.kind = contract.StringMap
	case c.bools+c.boolStrs == c.present && c.bools > 0:
		d.kind = contract.Boolean
		if c.boolStrs > 0 {
			d.Coerce = contract.StringToBoolean.String()
			note(`%d values are the strings "true"/"false": coerced`, c.boolStrs)
		}
	case c.strs == c.present && c.zoned+c.naive == c.present:
		d.kind = contract.Timestamp
	case c.strs == c.present && c.dates == c.present:
		d.kind = contract.Date
	case c.numbers > 0 && c.numbers+c.numStrs == c.present && !phoneName.MatchString(c.name):
		d.kind = contract.Double
		if c.integral == c.numbers && c.numStrs == 0 || c.integral == c.numbers && allIntegral(c) {
			d.kind = contract.Long
		}
		if c.numStrs > 0 {
			d.Coerce = contract.StringToNumber.String()
			note("%d values are numbers written as strings: coerced", c.numStrs)
		}
	case c.bools == 0 && c.numbers+c.strs == c.present:
		d.kind = contract.String
		if c.numbers > 0 {
			if c.exponent > 0 {
				return d, "numbers with an exponent mixed with text"
			}
			d.Coerce = contract.NumberToString.String()
			if phoneName.MatchString(c.name) {
				note("%d values are JSON numbers: a phone is an identifier, not a quantity (leading zeros, +, no arithmetic), so it is a string that takes numbers as their digits", c.numbers)
			} else {
				note("%d values are JSON numbers among text: kept as their digits", c.numbers)
			}
		}
	default:
		return d, fmt.Sprintf("mixed types: %d booleans, %d numbers, %d strings", c.bools, c.numbers, c.strs)
	}

	switch d.kind {
	case contract.String:
		typ = "string"
		rules := map[string]any{}
		switch {
		case c.uuids == c.present:
			typ = map[string]any{"type": "string", "logicalType": "uuid"}
			rules["pattern"] = uuidRE.String()
			note("every value a lower-case uuid")
		case c.emails == c.present:
			rules["pattern"] = emailRE.String()
			rules["maxLength"] = 254
		case phoneName.MatchString(c.name) && c.phones == c.present:
			rules["pattern"] = phoneRE.String()
		default:
			if c.minLen > 0 {
				rules["minLength"] = 1
			}
			rules["maxLength"] = roundUp(2 * c.maxLen)
		}
		if syms := s.enum(c, opts); syms != nil {
			if allAvroNames(syms) && d.Coerce == "" {
				d.kind = contract.Enum
				ename := c.name
				if ename == opts.Dataset {
					ename += "_value"
				}
				typ = map[string]any{"type": "enum", "name": ename, "symbols": syms}
				rules = nil
				note("%d distinct values in %d rows; check the list is closed", len(syms), c.present)
			} else {
				note("enum candidate (%d distinct values: %s) left a string: check", len(syms), strings.Join(syms, ", "))
			}
		}
		if len(rules) > 0 {
			d.Rules = rules
			if _, ok := rules["minLength"]; ok {
				note("lengths in the sample %d to %d: maxLength allows twice the longest", c.minLen, c.maxLen)
			}
		}
	case contract.Long, contract.Double, contract.Int, contract.Float:
		typ = map[contract.Kind]string{contract.Long: "long", contract.Double: "double", contract.Int: "int", contract.Float: "float"}[d.kind]
		if !math.IsInf(c.min, 0) {
			d.Rules = map[string]any{"min": c.min, "max": c.max}
			note("range in the sample %v to %v: widen min and max to the real bounds", c.min, c.max)
		}
	case contract.Boolean:
		typ = "boolean"
	case contract.Timestamp:
		typ = map[string]any{"type": "long", "logicalType": "timestamp-millis"}
		if c.naive > 0 {
			d.Zone = opts.NaiveZone
			note("%d of %d values have no zone: read in %s; name the zone the producer's clock is in", c.naive, c.present, opts.NaiveZone)
		}
	case contract.Date:
		typ = map[string]any{"type": "int", "logicalType": "date"}
	case contract.StringMap:
		typ = map[string]any{"type": "map", "values": "string"}
	}

	// PII guesses: what the curated zone should do with the column.
	switch {
	case d.kind != contract.String:
	case c.emails == c.present || strings.Contains(c.name, "email"):
		d.PII = string(contract.Hash)
		note("PII guess: email, hashed in curated")
	case phoneName.MatchString(c.name):
		d.PII = string(contract.Mask)
		note("PII guess: phone, masked in curated")
	case personName.MatchString(c.name):
		d.PII = string(contract.Mask)
		note("PII guess: a person's name, masked in curated")
	}

	if d.nullable {
		d.Type = []any{"null", typ}
		d.Default = json.RawMessage("null")
		note("optional: null or absent in %d of %d rows", s.rows-c.present, s.rows)
	} else {
		d.Type = typ
	}
	d.Doc = "Inferred: " + strings.Join(append([]string{d.kind.String()}, notes...), "; ") + "."
	return d, ""
}

func allIntegral(c *column) bool {
	for v := range c.distinct {
		if strings.ContainsAny(v, ".eE") {
			return false
		}
	}
	return true
}

// enum returns a string column's distinct values, sorted, when they are few and repeat.
func (s *sample) enum(c *column, opts Options) []string {
	n := len(c.distinct)
	// A few names repeating in a sample are still not a closed set, nor are emails or phones.
	if personName.MatchString(c.name) || phoneName.MatchString(c.name) || strings.Contains(c.name, "email") {
		return nil
	}
	if n == 0 || n > opts.MaxEnum || c.present < 2*n || c.uuids > 0 || c.emails > 0 {
		return nil
	}
	out := make([]string, 0, n)
	for v := range c.distinct {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func allAvroNames(syms []string) bool {
	for _, s := range syms {
		if !avroName.MatchString(s) {
			return false
		}
	}
	return true
}

// roundUp gives a limit with room: 16, 32, 64, ... up to the next power of two.
func roundUp(n int) int {
	r := 16
	for r < n {
		r *= 2
	}
	return r
}
