package contract

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zones are named in contracts; Lambda's provided.al2023 image may lack /usr/share/zoneinfo
)

// Coercion lets a field take a JSON value of another type. Coercions are off by default: a
// contract turns one on per field with "sluice.coerce", and the stored column keeps the field's
// own type.
type Coercion uint8

const (
	NoCoercion Coercion = iota
	// NumberToString: a string field takes a JSON number, stored as the number's text exactly as
	// sent (910322509 stays "910322509"; no float formatting). Numbers with an exponent are
	// refused: their text is rarely what a producer meant as a string.
	NumberToString
	// StringToNumber: an int, long, float or double field takes a string holding a JSON number
	// ("42", "-1.5"), checked like a number sent as such (range, whole, overflow).
	StringToNumber
	// StringToBoolean: a boolean field takes the strings "true" and "false".
	StringToBoolean
)

var coercionNames = map[Coercion]string{NumberToString: "number_to_string", StringToNumber: "string_to_number", StringToBoolean: "string_to_boolean"}

func (c Coercion) String() string { return coercionNames[c] }

// coercionFor checks a "sluice.coerce" value against the field's type.
func coercionFor(f *Field, raw any) error {
	if raw == nil {
		return nil
	}
	s, _ := raw.(string)
	want := map[Kind]Coercion{String: NumberToString, Int: StringToNumber, Long: StringToNumber,
		Float: StringToNumber, Double: StringToNumber, Boolean: StringToBoolean}[f.Kind]
	if want == NoCoercion {
		return fmt.Errorf(`"sluice.coerce" applies to string, number and boolean fields, not %s`, f.Kind)
	}
	if s != want.String() {
		return fmt.Errorf(`"sluice.coerce" on a %s field can only be %q, not %v`, f.Kind, want.String(), raw)
	}
	f.Coerce = want
	return nil
}

// ZoneAttr is the attribute, on the record or on a timestamp field, that says what a timestamp
// written without a zone means: "reject" (the default) or the IANA zone it is read in.
const ZoneAttr = "sluice.timestampWithoutZone"

// zoneFrom reads a ZoneAttr value: nil for "reject", else the zone.
func zoneFrom(raw any) (*time.Location, error) {
	s, ok := raw.(string)
	switch {
	case !ok:
		return nil, fmt.Errorf(`%q must be "reject" or an IANA zone name such as "UTC" or "Europe/Berlin", not %v`, ZoneAttr, raw)
	case s == "reject":
		return nil, nil
	case s == "" || s == "Local":
		// Local would make the instant depend on the machine the function runs on.
		return nil, fmt.Errorf(`%q must name a zone ("UTC", "Europe/Berlin", ...), not %q`, ZoneAttr, s)
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, fmt.Errorf(`%q names %q, which is not an IANA time zone (e.g. "UTC", "Europe/Berlin")`, ZoneAttr, s)
	}
	return loc, nil
}

// ZoneForm is how a timestamp's text ends.
type ZoneForm uint8

const (
	ZoneZ      ZoneForm = iota + 1 // "Z"
	ZoneLowerZ                     // "z" (RFC 3339 allows it)
	ZoneOffset                     // "+hh:mm" or "-hh:mm"
	ZoneNone                       // nothing: read in the field's WithoutZone zone
)

// MaxFraction is the most digits a timestamp's fraction of a second may have (nanoseconds).
const MaxFraction = 9

// TimestampForm is one textual form of a timestamp a contract accepts.
type TimestampForm struct {
	Separator byte // between date and time: 'T', 't' or ' '
	Fraction  int  // digits after the decimal point of the seconds: 0 (no point) to MaxFraction
	Zone      ZoneForm
}

// TimestampForms lists every form a timestamp field accepts: RFC 3339 date-times with a zone,
// plus, when withoutZone is true (the field has a WithoutZone zone), the same without one. The
// decoder in shared/record accepts exactly these (a test holds both to it); anything that must
// parse the same records, such as Firehose's deserializer settings, is generated from this list.
func TimestampForms(withoutZone bool) []TimestampForm {
	zones := []ZoneForm{ZoneZ, ZoneLowerZ, ZoneOffset}
	if withoutZone {
		zones = append(zones, ZoneNone)
	}
	var out []TimestampForm
	for _, sep := range []byte{'T', 't', ' '} {
		for frac := 0; frac <= MaxFraction; frac++ {
			for _, z := range zones {
				out = append(out, TimestampForm{Separator: sep, Fraction: frac, Zone: z})
			}
		}
	}
	return out
}

// TimestampForms lists the forms this field accepts (nil when it is not a timestamp).
func (f *Field) TimestampForms() []TimestampForm {
	if f.Kind != Timestamp {
		return nil
	}
	return TimestampForms(f.WithoutZone != nil)
}

// Layout is the form as a Go time layout, e.g. "2006-01-02T15:04:05.000000Z07:00". Go's "Z07:00"
// reads "Z" and offsets alike; a lower-case "z" has no Go layout, so ZoneLowerZ ends in a literal z
// that time.Parse matches but reads as no zone.
func (f TimestampForm) Layout() string {
	var b strings.Builder
	b.WriteString("2006-01-02")
	b.WriteByte(f.Separator)
	b.WriteString("15:04:05")
	if f.Fraction > 0 {
		b.WriteByte('.')
		b.WriteString(strings.Repeat("0", f.Fraction))
	}
	switch f.Zone {
	case ZoneZ, ZoneOffset:
		b.WriteString("Z07:00")
	case ZoneLowerZ:
		b.WriteByte('z')
	}
	return b.String()
}

// Format spells t in this form: in UTC for "Z" and "z", in t's own offset (whole minutes) for
// ZoneOffset, and in t's own location, zone left out, for ZoneNone (pass t in the field's zone).
func (f TimestampForm) Format(t time.Time) string {
	layout := "2006-01-02" + string(f.Separator) + "15:04:05"
	if f.Fraction > 0 {
		layout += "." + strings.Repeat("0", f.Fraction)
	}
	switch f.Zone {
	case ZoneZ:
		return t.UTC().Format(layout) + "Z"
	case ZoneLowerZ:
		return t.UTC().Format(layout) + "z"
	case ZoneOffset:
		return t.Format(layout + "-07:00")
	}
	return t.Format(layout)
}

// Example is a timestamp in this form: 2022-02-02T15:17:07.618098 and the like.
func (f TimestampForm) Example() string {
	s := "2022-02-02" + string(f.Separator) + "15:17:07"
	if f.Fraction > 0 {
		s += "." + "618098123"[:f.Fraction]
	}
	switch f.Zone {
	case ZoneZ:
		s += "Z"
	case ZoneLowerZ:
		s += "z"
	case ZoneOffset:
		s += "+01:00"
	}
	return s
}
