package record

import "fmt"

// Code names why a record was rejected. Codes are stable: quarantine readers and alarms key on them.
type Code string

const (
	Empty           Code = "empty_record"       // nothing but white space
	TooLarge        Code = "record_too_large"   // over the size limit, before or after gunzip
	BadGzip         Code = "invalid_gzip"       // gzip magic but not a valid gzip stream
	Malformed       Code = "malformed_json"     // not JSON at all
	InvalidUTF8     Code = "invalid_utf8"       // a string (or key) that is not UTF-8
	NotObject       Code = "not_an_object"      // JSON, but not an object at the top
	TrailingData    Code = "trailing_data"      // something after the object
	TooDeep         Code = "too_deep"           // nesting beyond the limit
	DuplicateKey    Code = "duplicate_key"      // the same key twice: which one is meant is ambiguous
	NonFinite       Code = "non_finite_number"  // NaN, Infinity, or a number that overflows to them
	UnknownDataset  Code = "unknown_dataset"    // _dataset names no contract
	NoDataset       Code = "missing_dataset"    // no _dataset and no default
	UnknownField    Code = "unknown_field"      // a key the contract does not name (when it rejects them)
	MissingField    Code = "missing_field"      // a required field is absent
	NullField       Code = "null_not_allowed"   // a required field is null
	WrongType       Code = "wrong_type"         // e.g. a string where a number belongs
	NotInteger      Code = "not_an_integer"     // a fraction or exponent where an integer belongs
	IntOverflow     Code = "integer_overflow"   // an integer outside the column's range
	BadEnum         Code = "unknown_enum_value" // not one of the contract's symbols
	OutOfRange      Code = "out_of_range"       // below min or above max
	PatternMismatch Code = "pattern_mismatch"   // does not match the field's pattern
	BadLength       Code = "invalid_length"     // shorter than minLength or longer than maxLength
	BadTimestamp    Code = "invalid_timestamp"  // not an RFC 3339 date-time
	NoZone          Code = "timestamp_without_zone"
	FutureTime      Code = "timestamp_in_future"
	BadDate         Code = "invalid_date"
	// A field's declared coercion ("sluice.coerce") could not apply.
	CoerceNumberToString  Code = "coercion_failed_number_to_string"  // a number with an exponent
	CoerceStringToNumber  Code = "coercion_failed_string_to_number"  // the string is not a JSON number
	CoerceStringToBoolean Code = "coercion_failed_string_to_boolean" // neither "true" nor "false"
)

// Reject says why a record cannot enter the lake. It is an error.
type Reject struct {
	Code   Code
	Field  string // "" when the record as a whole is at fault
	Detail string
}

func (r *Reject) Error() string {
	if r.Field == "" {
		return fmt.Sprintf("%s: %s", r.Code, r.Detail)
	}
	return fmt.Sprintf("%s: field %q: %s", r.Code, r.Field, r.Detail)
}

func reject(code Code, field, format string, a ...any) *Reject {
	return &Reject{Code: code, Field: field, Detail: fmt.Sprintf(format, a...)}
}
