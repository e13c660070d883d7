package fake

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
)

// Kind names a way a record is broken. The names match the reasons ingest gives when it
// quarantines such a record, so a demo can set what was sent beside what was rejected.
type Kind string

const (
	EmptyRecord     Kind = "empty_record"       // no bytes at all
	MalformedJSON   Kind = "malformed_json"     // a JSON object cut short
	InvalidUTF8     Kind = "invalid_utf8"       // a string with bytes that are not UTF-8
	NotAnObject     Kind = "not_an_object"      // the record JSON-encoded twice: a string, not an object
	TrailingData    Kind = "trailing_data"      // two objects run together in one record
	TooDeep         Kind = "too_deep"           // a value nested a hundred levels deep
	DuplicateKey    Kind = "duplicate_key"      // one field twice, with different values
	NonFinite       Kind = "non_finite_number"  // NaN, Infinity or 1e999 in a number field
	UnknownDataset  Kind = "unknown_dataset"    // "_dataset" names no contract
	UnknownField    Kind = "unknown_field"      // a field the contract does not name
	MissingField    Kind = "missing_field"      // a required field left out
	NullField       Kind = "null_not_allowed"   // a required field set to null
	WrongType       Kind = "wrong_type"         // e.g. a number where a string belongs
	NotInteger      Kind = "not_an_integer"     // a fraction in an integer field
	IntOverflow     Kind = "integer_overflow"   // an integer too big for its column
	BadEnum         Kind = "unknown_enum_value" // not one of the enum's symbols
	OutOfRange      Kind = "out_of_range"       // below min or above max
	PatternMismatch Kind = "pattern_mismatch"   // fails the field's pattern
	BadLength       Kind = "invalid_length"     // shorter than minLength or longer than maxLength
	BadTimestamp    Kind = "invalid_timestamp"  // not an RFC 3339 date-time
	NoZone          Kind = "timestamp_without_zone"
	FutureTime      Kind = "timestamp_in_future" // years ahead of now
	BadDate         Kind = "invalid_date"        // not a YYYY-MM-DD day that exists
)

// AllKinds lists every kind of bad record, in a fixed order.
var AllKinds = []Kind{EmptyRecord, MalformedJSON, InvalidUTF8, NotAnObject, TrailingData, TooDeep,
	DuplicateKey, NonFinite, UnknownDataset, UnknownField, MissingField, NullField, WrongType,
	NotInteger, IntOverflow, BadEnum, OutOfRange, PatternMismatch, BadLength, BadTimestamp, NoZone,
	FutureTime, BadDate}

// Kinds lists the kinds of bad record that apply to c: out_of_range needs a numeric field with
// bounds, unknown_enum_value an enum, and so on.
func Kinds(c *contract.Contract) []Kind {
	var out []Kind
	for _, k := range AllKinds {
		if fields, ok := targets(c, k); ok && (fields == nil || len(fields) > 0) {
			out = append(out, k)
		}
	}
	return out
}

// targets lists the fields a kind of defect can be put in; nil with ok means the kind needs no
// field.
func targets(c *contract.Contract, k Kind) (fields []int, ok bool) {
	pick := func(keep func(f *contract.Field) bool) []int {
		out := []int{}
		for i := range c.Fields {
			if keep(&c.Fields[i]) {
				out = append(out, i)
			}
		}
		return out
	}
	isNum := func(f *contract.Field) bool {
		return f.Kind == contract.Int || f.Kind == contract.Long || f.Kind == contract.Float || f.Kind == contract.Double
	}
	switch k {
	case EmptyRecord, MalformedJSON, NotAnObject, TrailingData, UnknownDataset:
		return nil, true
	case UnknownField:
		return nil, c.RejectUnknown
	case TooDeep:
		return pick(func(f *contract.Field) bool { return f.Kind == contract.StringMap || f.Kind == contract.String }), true
	case InvalidUTF8:
		return pick(func(f *contract.Field) bool { return f.Kind == contract.String }), true
	case DuplicateKey, WrongType:
		return pick(func(f *contract.Field) bool { return true }), true
	case MissingField, NullField:
		return pick(func(f *contract.Field) bool { return !f.Nullable }), true
	case NonFinite:
		return pick(func(f *contract.Field) bool { return f.Kind == contract.Float || f.Kind == contract.Double }), true
	case NotInteger, IntOverflow:
		return pick(func(f *contract.Field) bool { return f.Kind == contract.Int || f.Kind == contract.Long }), true
	case BadEnum:
		return pick(func(f *contract.Field) bool { return f.Kind == contract.Enum }), true
	case OutOfRange:
		return pick(func(f *contract.Field) bool { return isNum(f) && (f.Rules.Min != nil || f.Rules.Max != nil) }), true
	case PatternMismatch:
		return pick(func(f *contract.Field) bool { return f.Kind == contract.String && f.Rules.Pattern != nil }), true
	case BadLength:
		withLimits := func(f *contract.Field) bool {
			return f.Kind == contract.String && (f.Rules.MaxLength > 0 || f.Rules.MinLength > 0)
		}
		// A field without a pattern keeps the defect down to the length alone.
		if plain := pick(func(f *contract.Field) bool { return withLimits(f) && f.Rules.Pattern == nil }); len(plain) > 0 {
			return plain, true
		}
		return pick(withLimits), true
	case BadTimestamp, FutureTime:
		return []int{c.EventTime}, true
	case NoZone: // only where the contract does not read naive timestamps in a zone
		return pick(func(f *contract.Field) bool { return f.Index == c.EventTime && f.WithoutZone == nil }), true
	case BadDate:
		return pick(func(f *contract.Field) bool { return f.Kind == contract.Date }), true
	}
	return nil, false
}

func (g *Generator) applies(k Kind) bool {
	fields, ok := targets(g.c, k)
	return ok && (fields == nil || len(fields) > 0)
}

// planBad settles the kinds in use and their order, shuffled by the seed so that a short run
// still shows a variety.
func (g *Generator) planBad() error {
	want := g.opts.BadKinds
	if want == nil {
		want = AllKinds
	}
	for _, k := range want {
		if g.applies(k) {
			g.kinds = append(g.kinds, k)
		}
	}
	if len(g.kinds) == 0 && len(want) > 0 {
		return fmt.Errorf("fake: bad kinds %v do not apply to contract %s (these do: %v)", want, g.c.Name, Kinds(g.c))
	}
	g.f.ShuffleAnySlice(g.kinds)
	return nil
}

// corrupt renders the current record with a defect of kind k, returning the data and the field
// that carries the defect.
func (g *Generator) corrupt(k Kind) ([]byte, string) {
	fields, _ := targets(g.c, k)
	var f *contract.Field
	if len(fields) > 0 {
		f = &g.c.Fields[fields[g.f.IntN(len(fields))]]
	}
	field := ""
	if f != nil {
		field = f.Name
	}
	set := func(raw []byte) func([]member) []member {
		return func(ms []member) []member { return setMember(ms, f.Name, raw) }
	}
	switch k {
	case EmptyRecord:
		return []byte{}, ""
	case MalformedJSON:
		good := g.encode(nil)
		return good[:1+g.f.IntN(len(good)-1)], ""
	case NotAnObject:
		return mustJSON(string(g.encode(nil))), ""
	case TrailingData:
		good := g.encode(nil)
		return append(append([]byte{}, good...), good...), ""
	case UnknownDataset:
		return g.encode(func(ms []member) []member {
			return setMember(ms, DatasetField, mustJSON(g.c.Name+"_unregistered"))
		}), ""
	case UnknownField:
		name := "client_version"
		for _, n := range []string{"client_version", "debug_info", "utm_medium", "trace_id", "x_extra"} {
			if _, taken := g.c.Field(n); !taken {
				name = n
				break
			}
		}
		return g.encode(func(ms []member) []member { return append(ms, member{name, mustJSON("4.2.0")}) }), name
	case TooDeep:
		depth := 100
		raw := strings.Repeat("[", depth) + `"deep"` + strings.Repeat("]", depth)
		if f.Kind == contract.StringMap {
			raw = `{"nested":` + raw + `}`
		}
		return g.encode(set([]byte(raw))), field
	case InvalidUTF8:
		v, _ := g.values[f.Index].(string)
		if v == "" {
			v = fmt.Sprint(g.fields[f.Index].known)
		}
		// Latin-1 bytes where UTF-8 belongs: a classic of legacy exports.
		q := mustJSON(v)
		raw := append([]byte{'"', 0xE9, 0xFF}, q[1:]...)
		return g.encode(set(raw)), field
	case DuplicateKey:
		other := g.value(f.Index)
		for try := 0; try < 8 && bytes.Equal(mustJSON(other), mustJSON(g.values[f.Index])); try++ {
			other = g.value(f.Index)
		}
		return g.encode(func(ms []member) []member {
			ms = setMember(ms, f.Name, mustJSON(g.valueOrKnown(f.Index)))
			return append(ms, member{f.Name, mustJSON(other)})
		}), field
	case NonFinite:
		tokens := []string{"NaN", "Infinity", "-Infinity", "1e999"}
		return g.encode(set([]byte(tokens[g.f.IntN(len(tokens))]))), field
	case MissingField:
		return g.encode(func(ms []member) []member { return removeMember(ms, f.Name) }), field
	case NullField:
		return g.encode(set([]byte("null"))), field
	case WrongType:
		return g.encode(set(wrongType(f))), field
	case NotInteger:
		return g.encode(set([]byte("2.5"))), field
	case IntOverflow:
		raw := "99999999999999999999" // beyond int64
		if f.Kind == contract.Int {
			raw = "3000000000" // beyond int32
		}
		return g.encode(set([]byte(raw))), field
	case BadEnum:
		return g.encode(set(mustJSON(badSymbol(f)))), field
	case OutOfRange:
		return g.encode(set(g.outOfRange(f))), field
	case PatternMismatch:
		return g.encode(set(mustJSON(mismatch(f)))), field
	case BadLength:
		return g.encode(set(mustJSON(g.badLength(f)))), field
	case BadTimestamp:
		forms := []string{"yesterday at noon", "2026-02-30T10:00:00Z", "23/11/2026 10:15", "1700000000000"}
		return g.encode(set(mustJSON(forms[g.f.IntN(len(forms))]))), field
	case NoZone:
		ts := g.now.Add(-time.Duration(g.f.Float64() * float64(g.opts.Spread))).UTC()
		return g.encode(set(mustJSON(ts.Format("2006-01-02T15:04:05.000")))), field
	case FutureTime:
		ahead := g.c.MaxFutureSkew + 5*365*24*time.Hour + time.Duration(g.f.Float64()*float64(10*365*24*time.Hour))
		ts := g.now.Add(ahead).UTC().Truncate(time.Millisecond)
		return g.encode(set(mustJSON(ts.Format("2006-01-02T15:04:05.000Z07:00")))), field
	case BadDate:
		forms := []string{"2026-02-30", "23/11/2026", "2026-13-01", "not a date"}
		return g.encode(set(mustJSON(forms[g.f.IntN(len(forms))]))), field
	}
	panic("fake: unhandled bad kind " + string(k))
}

// valueOrKnown is field i's current value, or a valid one when the field was left null.
func (g *Generator) valueOrKnown(i int) any {
	if g.values[i] == nil {
		return g.fields[i].known
	}
	return g.values[i]
}

func wrongType(f *contract.Field) []byte {
	if f.Coerce != contract.NoCoercion {
		return []byte("[1]") // a field with a coercion takes the usual wrong types
	}
	switch f.Kind {
	case contract.String, contract.Enum:
		return []byte("42")
	case contract.Int, contract.Long, contract.Float, contract.Double:
		return mustJSON("forty-two")
	case contract.Boolean:
		return mustJSON("yes")
	case contract.Timestamp, contract.Date:
		return []byte("true")
	default: // StringMap
		return []byte(`["not","a","map"]`)
	}
}

// badSymbol is a near miss: the right word in the wrong case, as a hand-written producer sends.
func badSymbol(f *contract.Field) string {
	for _, s := range f.Symbols {
		for _, v := range []string{strings.ToUpper(s), strings.ToLower(s), s + "ed"} {
			if !contains(f.Symbols, v) {
				return v
			}
		}
	}
	return "unknown_symbol"
}

func (g *Generator) outOfRange(f *contract.Field) []byte {
	r := f.Rules
	below := r.Max == nil || (r.Min != nil && g.f.IntN(2) == 0)
	var x float64
	if below {
		x = *r.Min - math.Max(1, math.Abs(*r.Min)*0.1)
	} else {
		x = *r.Max + math.Max(1, math.Abs(*r.Max)*0.1)
	}
	if f.Kind == contract.Int || f.Kind == contract.Long {
		if below {
			x = math.Floor(x)
		} else {
			x = math.Ceil(x)
		}
		return []byte(strconv.FormatFloat(x, 'f', 0, 64))
	}
	return mustJSON(x)
}

// mismatch is a plausible value that fails f's pattern.
func mismatch(f *contract.Field) string {
	for _, v := range []string{"n/a", "not valid!", "???", "-1", "NULL", " ", ""} {
		if !f.Rules.Pattern.MatchString(v) {
			return v
		}
	}
	return "\x00"
}

func (g *Generator) badLength(f *contract.Field) string {
	r := f.Rules
	if r.MinLength > 0 && (r.MaxLength == 0 || g.f.IntN(2) == 0) {
		return strings.Repeat("x", r.MinLength-1)
	}
	v, _ := g.valueOrKnown(f.Index).(string)
	if v == "" {
		v = "x"
	}
	for len(v) <= r.MaxLength {
		v += v
	}
	return v
}

func setMember(ms []member, name string, raw []byte) []member {
	for i := range ms {
		if ms[i].name == name {
			ms[i].raw = raw
			return ms
		}
	}
	return append(ms, member{name, raw})
}

func removeMember(ms []member, name string) []member {
	out := ms[:0]
	for _, m := range ms {
		if m.name != name {
			out = append(out, m)
		}
	}
	return out
}
