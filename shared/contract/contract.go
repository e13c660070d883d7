// Package contract loads a dataset's contract: an Avro schema file with sluice's own attributes.
//
// One contract file is the single source of truth for a dataset: record validation, the Parquet
// schema, the Glue columns, the query API's allowed columns and schema-evolution checks all read
// it through this package. sluice's facts ride as extra attributes, which Avro allows:
//
//	record level: "sluice.eventTime" (the timestamp field partitions are cut on),
//	              "sluice.key" (field names the curated zone deduplicates on),
//	              "sluice.unknownFields" ("reject", the default, or "ignore"),
//	              "sluice.maxFutureSkew" (how far ahead of now an event time may be, e.g. "1h"),
//	              "sluice.timestampWithoutZone" ("reject", the default, or the IANA zone that
//	              timestamps written without a zone are read in, e.g. "UTC"; for every field).
//	field level:  "sluice.rules" {"min", "max", "pattern", "minLength", "maxLength"},
//	              "sluice.pii" ("keep", the default, "mask", "hash" or "drop"),
//	              "sluice.timestampWithoutZone" (as on the record, for this field only),
//	              "sluice.coerce" ("number_to_string", "string_to_number" or "string_to_boolean").
//
// Required means not nullable: a field whose type is not a union with null must be present.
package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hamba/avro/v2"
)

// Kind is a column type sluice supports.
type Kind uint8

const (
	String    Kind = iota + 1
	Int            // 32-bit
	Long           // 64-bit
	Float          // 32-bit
	Double         // 64-bit
	Boolean        // true/false
	Enum           // string from a closed set of symbols
	Timestamp      // RFC 3339 with a zone in JSON; milliseconds since the epoch, UTC, when stored
	Date           // YYYY-MM-DD in JSON; days since the epoch when stored
	StringMap      // JSON object of string values; a Parquet MAP<STRING,STRING>
)

var kindNames = map[Kind]string{String: "string", Int: "int", Long: "long", Float: "float",
	Double: "double", Boolean: "boolean", Enum: "enum", Timestamp: "timestamp", Date: "date", StringMap: "map<string,string>"}

func (k Kind) String() string { return kindNames[k] }

// PII is what the curated zone does with a field.
type PII string

const (
	Keep PII = "keep"
	Mask PII = "mask"
	Hash PII = "hash"
	Drop PII = "drop"
)

// Rules are the quality rules of one field, beyond its type.
type Rules struct {
	Min, Max             *float64 // numbers: inclusive bounds
	Pattern              *Matcher
	MinLength, MaxLength int // strings, in bytes; MaxLength 0 means no limit
}

// Field is one column of a dataset.
type Field struct {
	Name     string
	Doc      string
	Kind     Kind
	Nullable bool
	Symbols  []string // Enum only
	Rules    Rules
	PII      PII
	// Coerce is the one other JSON type the field takes, if any ("sluice.coerce").
	Coerce Coercion
	// WithoutZone is the zone a timestamp written without one is read in; nil rejects such
	// timestamps. Timestamp fields only.
	WithoutZone *time.Location
	// Index is the field's position in Contract.Fields.
	Index int
}

// Contract is one dataset's schema and policies.
type Contract struct {
	Name string
	Doc  string
	// Path is the file the contract came from ("" when parsed from bytes).
	Path   string
	Fields []Field
	// EventTime is the index in Fields of the timestamp that partitions are cut on.
	EventTime int
	// Key holds the indexes in Fields of the deduplication key.
	Key []int
	// RejectUnknown quarantines records carrying fields the contract does not name.
	RejectUnknown bool
	// MaxFutureSkew bounds how far in the future an event time may be.
	MaxFutureSkew time.Duration
	// WithoutZone is the record-level "sluice.timestampWithoutZone": the default of every
	// timestamp field's WithoutZone.
	WithoutZone *time.Location
	// Version identifies the contract's content: the first 12 hex digits of its SHA-256.
	Version string
	// Schema is the parsed Avro schema, for compatibility checks.
	Schema avro.Schema

	byName map[string]int
}

// Field returns the field called name.
func (c *Contract) Field(name string) (*Field, bool) {
	i, ok := c.byName[name]
	if !ok {
		return nil, false
	}
	return &c.Fields[i], true
}

// HasMap reports whether any field is a StringMap.
func (c *Contract) HasMap() bool {
	for i := range c.Fields {
		if c.Fields[i].Kind == StringMap {
			return true
		}
	}
	return false
}

// FieldNames lists the columns in contract order.
func (c *Contract) FieldNames() []string {
	names := make([]string, len(c.Fields))
	for i, f := range c.Fields {
		names[i] = f.Name
	}
	return names
}

// Derived makes the contract of a table the lake computes rather than one producers write (a
// summary table of the consumption zone): its columns are given, not read from an Avro file,
// so it has no event time (EventTime is -1), no key and no Avro schema. Field names follow the
// rules of a contract file's; file names the definition in errors.
func Derived(file, name, doc string, fields []Field) (*Contract, error) {
	fail := func(field, format string, a ...any) error {
		return &Error{File: file, Field: field, Problem: fmt.Sprintf(format, a...)}
	}
	if !namePattern.MatchString(name) {
		return nil, fail("", "table name %q must be lower-case letters, digits and _ (it names tables and prefixes)", name)
	}
	if len(fields) == 0 {
		return nil, fail("", "a table needs at least one column")
	}
	c := &Contract{Name: name, Doc: doc, Path: file, EventTime: -1, byName: map[string]int{}}
	sum := sha256.New()
	fmt.Fprintf(sum, "%s\n", name)
	for i, f := range fields {
		if !namePattern.MatchString(f.Name) {
			return nil, fail(f.Name, "column names must be lower-case letters, digits and _")
		}
		if _, dup := c.byName[f.Name]; dup {
			return nil, fail(f.Name, "defined twice")
		}
		f.Index = i
		c.byName[f.Name] = i
		c.Fields = append(c.Fields, f)
		fmt.Fprintf(sum, "%s %s %t %s\n", f.Name, f.Kind, f.Nullable, strings.Join(f.Symbols, "|"))
	}
	c.Version = hex.EncodeToString(sum.Sum(nil)[:6])
	return c, nil
}

// DefaultMaxFutureSkew applies when a contract does not set sluice.maxFutureSkew.
const DefaultMaxFutureSkew = 24 * time.Hour

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,127}$`)

// Error locates a problem in a contract file.
type Error struct {
	File, Field, Problem string
}

func (e *Error) Error() string {
	where := e.File
	if where == "" {
		where = "contract"
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: field %q: %s", where, e.Field, e.Problem)
	}
	return fmt.Sprintf("%s: %s", where, e.Problem)
}

// LoadFS reads every *.avsc file at the root of fsys (an embedded copy, say), sorted by dataset
// name; where names the place in errors. Two files may not define the same dataset.
func LoadFS(fsys fs.FS, where string) ([]*Contract, error) {
	paths, err := fs.Glob(fsys, "*.avsc")
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no contracts (*.avsc) in %s", where)
	}
	var out []*Contract
	seen := map[string]string{}
	for _, p := range paths {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("read contract: %w", err)
		}
		c, err := Parse(filepath.Join(where, p), data)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[c.Name]; dup {
			return nil, &Error{File: p, Problem: fmt.Sprintf("dataset %q is already defined by %s", c.Name, prev)}
		}
		seen[c.Name] = p
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Parse checks a contract given as bytes; file names it in errors.
func Parse(file string, data []byte) (*Contract, error) {
	fail := func(field, format string, a ...any) error {
		return &Error{File: file, Field: field, Problem: fmt.Sprintf(format, a...)}
	}
	schema, err := avro.ParseBytesWithCache(data, "", &avro.SchemaCache{})
	if err != nil {
		return nil, fail("", "not a valid Avro schema: %v", err)
	}
	rec, ok := schema.(*avro.RecordSchema)
	if !ok {
		return nil, fail("", "the top-level type must be a record, not %s", schema.Type())
	}
	sum := sha256.Sum256(data)
	c := &Contract{
		Name:          rec.Name(),
		Doc:           rec.Doc(),
		Path:          file,
		EventTime:     -1,
		RejectUnknown: true,
		MaxFutureSkew: DefaultMaxFutureSkew,
		Version:       hex.EncodeToString(sum[:6]),
		Schema:        schema,
		byName:        map[string]int{},
	}
	if !namePattern.MatchString(c.Name) {
		return nil, fail("", "dataset name %q must be lower-case letters, digits and _ (it names tables and prefixes)", c.Name)
	}
	if len(rec.Fields()) == 0 {
		return nil, fail("", "a contract needs at least one field")
	}
	if v := rec.Prop(ZoneAttr); v != nil {
		if c.WithoutZone, err = zoneFrom(v); err != nil {
			return nil, fail("", "%v", err)
		}
	}
	for i, af := range rec.Fields() {
		f, err := parseField(af, c.WithoutZone)
		if err != nil {
			return nil, fail(af.Name(), "%v", err)
		}
		f.Index = i
		if _, dup := c.byName[f.Name]; dup {
			return nil, fail(f.Name, "defined twice")
		}
		c.byName[f.Name] = i
		c.Fields = append(c.Fields, f)
	}

	switch v := rec.Prop("sluice.eventTime").(type) {
	case nil:
		return nil, fail("", `"sluice.eventTime" is missing: name the timestamp field that partitions are cut on`)
	case string:
		i, ok := c.byName[v]
		if !ok {
			return nil, fail("", `"sluice.eventTime" names %q, which is not a field`, v)
		}
		if c.Fields[i].Kind != Timestamp || c.Fields[i].Nullable {
			return nil, fail(v, `the event-time field must be a required timestamp-millis long`)
		}
		c.EventTime = i
	default:
		return nil, fail("", `"sluice.eventTime" must be a field name`)
	}

	switch v := rec.Prop("sluice.key").(type) {
	case nil:
		return nil, fail("", `"sluice.key" is missing: list the fields that identify a record (the curated zone deduplicates on them)`)
	case []any:
		if len(v) == 0 {
			return nil, fail("", `"sluice.key" must list at least one field`)
		}
		for _, k := range v {
			name, _ := k.(string)
			i, ok := c.byName[name]
			if !ok {
				return nil, fail("", `"sluice.key" names %v, which is not a field`, k)
			}
			if c.Fields[i].Nullable || c.Fields[i].Kind == StringMap {
				return nil, fail(name, "a key field must be required and scalar")
			}
			c.Key = append(c.Key, i)
		}
	default:
		return nil, fail("", `"sluice.key" must be a list of field names`)
	}

	switch v := rec.Prop("sluice.unknownFields"); v {
	case nil, "reject":
	case "ignore":
		c.RejectUnknown = false
	default:
		return nil, fail("", `"sluice.unknownFields" must be "reject" or "ignore", not %v`, v)
	}
	if v := rec.Prop("sluice.maxFutureSkew"); v != nil {
		s, _ := v.(string)
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return nil, fail("", `"sluice.maxFutureSkew" must be a duration such as "1h", not %v`, v)
		}
		c.MaxFutureSkew = d
	}
	return c, nil
}

func parseField(af *avro.Field, withoutZone *time.Location) (Field, error) {
	f := Field{Name: af.Name(), Doc: af.Doc(), PII: Keep}
	if !namePattern.MatchString(f.Name) {
		return f, errors.New("field names must be lower-case letters, digits and _ (they become Glue columns)")
	}
	t := af.Type()
	if u, ok := t.(*avro.UnionSchema); ok {
		if !u.Nullable() || len(u.Types()) != 2 {
			return f, errors.New(`unions are supported only as ["null", T] (an optional field)`)
		}
		f.Nullable = true
		for _, m := range u.Types() {
			if m.Type() != avro.Null {
				t = m
			}
		}
		if u.Types()[0].Type() != avro.Null || !af.HasDefault() || af.Default() != nil {
			return f, errors.New(`an optional field must be ["null", T] with "default": null`)
		}
	}
	switch s := t.(type) {
	case *avro.PrimitiveSchema:
		logical := avro.LogicalType("")
		if s.Logical() != nil {
			logical = s.Logical().Type()
		}
		switch {
		case s.Type() == avro.String && (logical == "" || logical == avro.UUID):
			f.Kind = String
		case s.Type() == avro.Long && logical == avro.TimestampMillis:
			f.Kind = Timestamp
		case s.Type() == avro.Int && logical == avro.Date:
			f.Kind = Date
		case logical != "":
			return f, fmt.Errorf("logical type %s on %s is not supported (use timestamp-millis on long, date on int, uuid on string)", logical, s.Type())
		case s.Type() == avro.Int:
			f.Kind = Int
		case s.Type() == avro.Long:
			f.Kind = Long
		case s.Type() == avro.Float:
			f.Kind = Float
		case s.Type() == avro.Double:
			f.Kind = Double
		case s.Type() == avro.Boolean:
			f.Kind = Boolean
		default:
			return f, fmt.Errorf("type %s is not supported (string, int, long, float, double, boolean, enum, map of string)", s.Type())
		}
	case *avro.EnumSchema:
		f.Kind = Enum
		f.Symbols = s.Symbols()
	case *avro.MapSchema:
		if s.Values().Type() != avro.String {
			return f, errors.New("only maps of string values are supported")
		}
		f.Kind = StringMap
	default:
		return f, fmt.Errorf("type %s is not supported (nested records, arrays, fixed and bytes are not; flatten them or use a map of strings)", t.Type())
	}

	switch v := af.Prop("sluice.pii").(type) {
	case nil:
	case string:
		switch PII(v) {
		case Keep, Mask, Hash, Drop:
			f.PII = PII(v)
		default:
			return f, fmt.Errorf(`"sluice.pii" must be keep, mask, hash or drop, not %q`, v)
		}
	default:
		return f, errors.New(`"sluice.pii" must be a string`)
	}
	if err := parseRules(&f, af.Prop("sluice.rules")); err != nil {
		return f, err
	}
	if err := coercionFor(&f, af.Prop("sluice.coerce")); err != nil {
		return f, err
	}
	if f.Kind == Timestamp {
		f.WithoutZone = withoutZone
	}
	if v := af.Prop(ZoneAttr); v != nil {
		if f.Kind != Timestamp {
			return f, fmt.Errorf("%q applies to timestamps, not %s", ZoneAttr, f.Kind)
		}
		loc, err := zoneFrom(v)
		if err != nil {
			return f, err
		}
		f.WithoutZone = loc
	}
	return f, nil
}

func parseRules(f *Field, raw any) error {
	if raw == nil {
		return nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return errors.New(`"sluice.rules" must be an object`)
	}
	numeric := f.Kind == Int || f.Kind == Long || f.Kind == Float || f.Kind == Double
	textual := f.Kind == String
	for k, v := range m {
		switch k {
		case "min", "max":
			if !numeric {
				return fmt.Errorf("rule %q applies to numbers, not %s", k, f.Kind)
			}
			n, ok := v.(float64)
			if !ok || math.IsNaN(n) || math.IsInf(n, 0) {
				return fmt.Errorf("rule %q must be a finite number", k)
			}
			if k == "min" {
				f.Rules.Min = &n
			} else {
				f.Rules.Max = &n
			}
		case "pattern":
			if !textual {
				return fmt.Errorf(`rule "pattern" applies to strings, not %s`, f.Kind)
			}
			s, _ := v.(string)
			m, err := compileMatcher(s)
			if err != nil || s == "" {
				return fmt.Errorf(`rule "pattern" is not a valid regular expression: %v`, err)
			}
			f.Rules.Pattern = m
		case "minLength", "maxLength":
			if !textual {
				return fmt.Errorf("rule %q applies to strings, not %s", k, f.Kind)
			}
			n, ok := v.(float64)
			if !ok || n < 0 || n != math.Trunc(n) {
				return fmt.Errorf("rule %q must be a whole number >= 0", k)
			}
			if k == "minLength" {
				f.Rules.MinLength = int(n)
			} else {
				f.Rules.MaxLength = int(n)
			}
		default:
			return fmt.Errorf("unknown rule %q (min, max, pattern, minLength, maxLength)", k)
		}
	}
	if f.Rules.Min != nil && f.Rules.Max != nil && *f.Rules.Min > *f.Rules.Max {
		return errors.New(`rule "min" is greater than "max"`)
	}
	if f.Rules.MaxLength > 0 && f.Rules.MinLength > f.Rules.MaxLength {
		return errors.New(`rule "minLength" is greater than "maxLength"`)
	}
	return nil
}

// GlueType is the Hive/Glue column type of a field.
func (f *Field) GlueType() string {
	switch f.Kind {
	case Int:
		return "int"
	case Long:
		return "bigint"
	case Float:
		return "float"
	case Double:
		return "double"
	case Boolean:
		return "boolean"
	case Timestamp:
		return "timestamp"
	case Date:
		return "date"
	case StringMap:
		return "map<string,string>"
	default:
		return "string"
	}
}

// Describe is a one-line summary of a field for docs and errors.
func (f *Field) Describe() string {
	var b strings.Builder
	b.WriteString(f.Kind.String())
	if f.Nullable {
		b.WriteString(", optional")
	}
	if f.Kind == Enum {
		fmt.Fprintf(&b, " of %s", strings.Join(f.Symbols, "|"))
	}
	return b.String()
}
