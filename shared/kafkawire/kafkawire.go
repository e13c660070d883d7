// Package kafkawire reads Kafka record values in the Confluent wire format (a zero magic byte,
// a 4-byte big-endian schema id, then the record in Avro binary) with a dataset's contract, and
// maps schema ids to contracts.
//
// A decoded record is turned into the JSON the contract accepts (timestamps as RFC 3339, dates
// as YYYY-MM-DD, enums as their symbols) rather than straight into rows: every value then goes
// through the one validation path (shared/record), so rules, coercions and the future-skew
// check apply to Avro records exactly as to JSON ones. The decoder reads only the types a
// contract can declare, and so needs no reflection; it never panics on any input (fuzzed).
package kafkawire

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/record"
)

// Reasons a wire-format record is quarantined. Codes are stable, as record's are.
const (
	// InvalidWireFormat: the magic byte is there but the value is too short to hold a schema id.
	InvalidWireFormat record.Code = "invalid_wire_format"
	// UnknownSchemaID: the schema id is not in the function's map of schema ids.
	UnknownSchemaID record.Code = "unknown_schema_id"
	// StaleSchemaID: the id is mapped to a version of the contract other than the deployed one.
	StaleSchemaID record.Code = "stale_schema_id"
	// InvalidAvro: the bytes after the header are not a record of the contract in Avro binary.
	InvalidAvro record.Code = "invalid_avro"
)

// Magic is the first byte of a value in the Confluent wire format.
const Magic = 0

// headerLen is the magic byte and the schema id.
const headerLen = 5

// IsWireFormat reports whether value claims the Confluent wire format. JSON (and gzip, which
// starts with 0x1f) never starts with a zero byte, so the claim is unambiguous.
func IsWireFormat(value []byte) bool { return len(value) > 0 && value[0] == Magic }

// Split takes a wire-format value apart into its schema id and Avro body.
func Split(value []byte) (schemaID uint32, body []byte, err error) {
	if !IsWireFormat(value) {
		return 0, nil, fmt.Errorf("kafkawire: value does not start with the magic byte 0")
	}
	if len(value) < headerLen {
		return 0, nil, fmt.Errorf("kafkawire: %d bytes, too short for the magic byte and a 4-byte schema id", len(value))
	}
	return binary.BigEndian.Uint32(value[1:headerLen]), value[headerLen:], nil
}

// Append builds a wire-format value: the header for schemaID followed by body (Avro binary).
func Append(dst []byte, schemaID uint32, body []byte) []byte {
	dst = append(dst, Magic)
	dst = binary.BigEndian.AppendUint32(dst, schemaID)
	return append(dst, body...)
}

// Schema is what a schema id stands for: a dataset, and optionally the contract version its
// writers used.
type Schema struct {
	Dataset string
	// Version pins the contract version (contract.Version) the id was registered for; "" takes
	// whatever contract is deployed. When the deployed contract changes, a pinned id's records
	// are quarantined (StaleSchemaID) rather than read with fields they were not written with.
	Version string
}

// Registry maps schema ids to contracts.
type Registry struct {
	ids       map[uint32]Schema
	contracts map[string]*contract.Contract
}

// ParseRegistry reads the map of schema ids as JSON: an object of schema id (decimal) to
// dataset name, or to "dataset@version" to pin a contract version, e.g.
// {"1":"user_events","7":"customers@3f2a9c1b0d4e"}. "" is an empty map. Every dataset must have a
// contract, and every pinned version must be the deployed one: a map that cannot be right fails
// at start, not record by record.
func ParseRegistry(text string, contracts map[string]*contract.Contract) (*Registry, error) {
	r := &Registry{ids: map[uint32]Schema{}, contracts: contracts}
	if strings.TrimSpace(text) == "" {
		return r, nil
	}
	var raw map[string]string
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, fmt.Errorf(`kafkawire: the schema id map must be a JSON object of schema id to dataset, e.g. {"1":"user_events","7":"customers@<contract version>"}: %w`, err)
	}
	for k, v := range raw {
		id, err := strconv.ParseUint(k, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("kafkawire: schema id %q is not a decimal number up to %d", k, uint32(math.MaxUint32))
		}
		s := Schema{Dataset: v}
		if i := strings.IndexByte(v, '@'); i >= 0 {
			s = Schema{Dataset: v[:i], Version: v[i+1:]}
		}
		c := contracts[s.Dataset]
		if c == nil {
			names := make([]string, 0, len(contracts))
			for n := range contracts {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("kafkawire: schema id %d names dataset %q, which has no contract (contracts: %s)", id, s.Dataset, strings.Join(names, ", "))
		}
		r.ids[uint32(id)] = s
	}
	return r, nil
}

// Lookup is the contract to read schemaID's records with, or a Reject saying why there is none.
func (r *Registry) Lookup(schemaID uint32) (*contract.Contract, *record.Reject) {
	s, ok := r.ids[schemaID]
	if !ok {
		return nil, &record.Reject{Code: UnknownSchemaID, Detail: fmt.Sprintf(
			"schema id %d is not in the function's map of schema ids: map it to its dataset (SLUICE_KAFKA_SCHEMA_IDS, the stack's kafkaSchemaIds) and replay", schemaID)}
	}
	c := r.contracts[s.Dataset]
	if s.Version != "" && c.Version != s.Version {
		return c, &record.Reject{Code: StaleSchemaID, Detail: fmt.Sprintf(
			"schema id %d was registered for contract %s version %s, but version %s is deployed: register the new schema, map its id, and replay", schemaID, s.Dataset, s.Version, c.Version)}
	}
	return c, nil
}

// AppendJSON decodes body, one record of c's schema in Avro binary, into the JSON object c
// accepts, appended to dst. On a Reject dst is returned as it was given.
func AppendJSON(dst []byte, c *contract.Contract, body []byte) ([]byte, *record.Reject) {
	r := reader{b: body}
	start := len(dst)
	out := append(dst, '{')
	for i := range c.Fields {
		f := &c.Fields[i]
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(out, []byte(f.Name))
		out = append(out, ':')
		var rej *record.Reject
		out, rej = r.field(out, f)
		if rej != nil {
			if rej.Field == "" {
				rej.Field = f.Name
			}
			return out[:start], rej
		}
	}
	if r.i != len(r.b) {
		return out[:start], &record.Reject{Code: record.TrailingData, Detail: fmt.Sprintf(
			"%d bytes left after the last field of contract %s: the record was written with another schema (register it and map its id)", len(r.b)-r.i, c.Name)}
	}
	return append(out, '}'), nil
}

// reader walks an Avro binary body.
type reader struct {
	b []byte
	i int
}

func invalid(format string, a ...any) *record.Reject {
	return &record.Reject{Code: InvalidAvro, Detail: fmt.Sprintf(format, a...)}
}

// long reads a zig-zag varint: Avro's int and long.
func (r *reader) long() (int64, *record.Reject) {
	u, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 {
		if n == 0 {
			return 0, invalid("truncated at byte %d: a varint runs past the end", r.i)
		}
		return 0, invalid("a varint at byte %d overflows 64 bits", r.i)
	}
	r.i += n
	return int64(u>>1) ^ -int64(u&1), nil
}

func (r *reader) int32() (int64, *record.Reject) {
	at := r.i
	v, rej := r.long()
	if rej == nil && (v < math.MinInt32 || v > math.MaxInt32) {
		return 0, invalid("an int at byte %d is %d, outside 32 bits", at, v)
	}
	return v, rej
}

func (r *reader) bytes() ([]byte, *record.Reject) {
	at := r.i
	n, rej := r.long()
	if rej != nil {
		return nil, rej
	}
	if n < 0 || n > int64(len(r.b)-r.i) {
		return nil, invalid("a string at byte %d claims %d bytes; %d remain", at, n, len(r.b)-r.i)
	}
	s := r.b[r.i : r.i+int(n)]
	r.i += int(n)
	return s, nil
}

func (r *reader) fixed(n int) ([]byte, *record.Reject) {
	if len(r.b)-r.i < n {
		return nil, invalid("truncated at byte %d: %d bytes wanted, %d remain", r.i, n, len(r.b)-r.i)
	}
	s := r.b[r.i : r.i+n]
	r.i += n
	return s, nil
}

// str appends a JSON string of s, refusing text that is not UTF-8 (as the JSON path does).
func str(out, s []byte) ([]byte, *record.Reject) {
	if !utf8.Valid(s) {
		return out, &record.Reject{Code: record.InvalidUTF8, Detail: "a string that is not UTF-8"}
	}
	return appendJSONString(out, s), nil
}

// appendJSONString quotes s (valid UTF-8) as JSON: strconv.Quote's Go escapes (\x00, \a) are not JSON.
func appendJSONString(out, s []byte) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c < 0x20:
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			out = append(out, c)
		}
	}
	return append(out, '"')
}

// field appends f's value as JSON.
func (r *reader) field(out []byte, f *contract.Field) ([]byte, *record.Reject) {
	if f.Nullable {
		at := r.i
		branch, rej := r.long()
		if rej != nil {
			return out, rej
		}
		switch branch {
		case 0:
			return append(out, "null"...), nil
		case 1:
		default:
			return out, invalid(`union branch %d at byte %d: an optional field is ["null", T], branch 0 or 1`, branch, at)
		}
	}
	switch f.Kind {
	case contract.String:
		s, rej := r.bytes()
		if rej != nil {
			return out, rej
		}
		return str(out, s)
	case contract.Int, contract.Long:
		read := r.long
		if f.Kind == contract.Int {
			read = r.int32
		}
		v, rej := read()
		return strconv.AppendInt(out, v, 10), rej
	case contract.Float, contract.Double:
		var x float64
		bits := 32
		if f.Kind == contract.Float {
			b, rej := r.fixed(4)
			if rej != nil {
				return out, rej
			}
			x = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
		} else {
			b, rej := r.fixed(8)
			if rej != nil {
				return out, rej
			}
			x, bits = math.Float64frombits(binary.LittleEndian.Uint64(b)), 64
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return out, &record.Reject{Code: record.NonFinite, Detail: fmt.Sprintf("%v cannot be stored", x)}
		}
		return strconv.AppendFloat(out, x, 'g', -1, bits), nil
	case contract.Boolean:
		b, rej := r.fixed(1)
		if rej != nil {
			return out, rej
		}
		switch b[0] {
		case 0:
			return append(out, "false"...), nil
		case 1:
			return append(out, "true"...), nil
		}
		return out, invalid("a boolean at byte %d is %d, not 0 or 1", r.i-1, b[0])
	case contract.Enum:
		at := r.i
		v, rej := r.int32()
		if rej != nil {
			return out, rej
		}
		if v < 0 || v >= int64(len(f.Symbols)) {
			return out, &record.Reject{Code: record.BadEnum, Detail: fmt.Sprintf("symbol index %d at byte %d; the contract has %d symbols", v, at, len(f.Symbols))}
		}
		return appendJSONString(out, []byte(f.Symbols[v])), nil
	case contract.Timestamp:
		v, rej := r.long()
		if rej != nil {
			return out, rej
		}
		// Milliseconds since the epoch, written back as the RFC 3339 the JSON path reads; a time
		// outside years 0-9999 comes out in a form it refuses (invalid_timestamp), as it should.
		out = time.UnixMilli(v).UTC().AppendFormat(append(out, '"'), "2006-01-02T15:04:05.000Z07:00")
		return append(out, '"'), nil
	case contract.Date:
		v, rej := r.int32()
		if rej != nil {
			return out, rej
		}
		out = append(out, '"')
		out = time.Unix(v*86400, 0).UTC().AppendFormat(out, "2006-01-02")
		return append(out, '"'), nil
	case contract.StringMap:
		return r.stringMap(out)
	}
	return out, invalid("field kind %s has no Avro reading", f.Kind)
}

// stringMap reads Avro map blocks: a count (negative: its absolute value, then the block's
// byte size) followed by that many key/value pairs, until a count of 0.
func (r *reader) stringMap(out []byte) ([]byte, *record.Reject) {
	out = append(out, '{')
	first := true
	for {
		at := r.i
		n, rej := r.long()
		if rej != nil {
			return out, rej
		}
		if n == 0 {
			return append(out, '}'), nil
		}
		if n < 0 {
			if n == math.MinInt64 {
				return out, invalid("a map block count at byte %d is out of range", at)
			}
			n = -n
			if _, rej := r.long(); rej != nil { // the block's size in bytes: not needed to read it
				return out, rej
			}
		}
		// Each entry takes at least two bytes (two empty strings): a count beyond that is a lie
		// that would otherwise loop over nothing.
		if n > int64(len(r.b)-r.i)/2 {
			return out, invalid("a map block at byte %d claims %d entries; %d bytes remain", at, n, len(r.b)-r.i)
		}
		for range n {
			k, rej := r.bytes()
			if rej != nil {
				return out, rej
			}
			v, rej := r.bytes()
			if rej != nil {
				return out, rej
			}
			if !first {
				out = append(out, ',')
			}
			first = false
			if out, rej = str(out, k); rej != nil {
				return out, rej
			}
			out = append(out, ':')
			if out, rej = str(out, v); rej != nil {
				return out, rej
			}
		}
	}
}
