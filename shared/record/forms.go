package record

import (
	"fmt"
	"time"
)

// ZoneForm is how an accepted timestamp states its zone.
type ZoneForm uint8

const (
	// ZoneUTC is a trailing "Z" (or "z").
	ZoneUTC ZoneForm = iota + 1
	// ZoneOffset is a trailing "+hh:mm" or "-hh:mm".
	ZoneOffset
)

// MaxFractionDigits is the longest fraction of a second a timestamp form spells out (nanoseconds).
const MaxFractionDigits = 9

// TimestampForm is one spelling of an event time that the contract accepts.
//
// TimestampForms is the one list of them: every other reader of the same records (the Firehose
// archive's deserializer settings are generated from it) takes its forms from here, and a test
// holds parseTimestamp to the list. A new form (say, a naive time read in a named zone) is added
// here first; generators that cannot express it fail rather than silently differ.
type TimestampForm struct {
	// Separator stands between date and time: 'T', 't' or ' '.
	Separator byte
	// FractionDigits is the number of digits after the seconds' '.', 0 for none.
	FractionDigits int
	// Zone is how the zone is stated; UTCLetter is its letter for ZoneUTC ('Z' or 'z').
	Zone      ZoneForm
	UTCLetter byte
}

// TimestampForms lists every spelling of an event time the contract accepts.
func TimestampForms() []TimestampForm {
	var out []TimestampForm
	for _, sep := range []byte{'T', 't', ' '} {
		for digits := 0; digits <= MaxFractionDigits; digits++ {
			out = append(out,
				TimestampForm{Separator: sep, FractionDigits: digits, Zone: ZoneUTC, UTCLetter: 'Z'},
				TimestampForm{Separator: sep, FractionDigits: digits, Zone: ZoneUTC, UTCLetter: 'z'},
				TimestampForm{Separator: sep, FractionDigits: digits, Zone: ZoneOffset})
		}
	}
	return out
}

// Format spells t in this form; for ZoneOffset, in t's own offset (whole minutes).
func (f TimestampForm) Format(t time.Time) string {
	layout := "2006-01-02" + string(f.Separator) + "15:04:05"
	if f.FractionDigits > 0 {
		layout += "." + "000000000"[:f.FractionDigits]
	}
	switch f.Zone {
	case ZoneUTC:
		return t.UTC().Format(layout) + string(f.UTCLetter)
	default:
		return t.Format(layout + "-07:00")
	}
}

func (f TimestampForm) String() string {
	s := fmt.Sprintf("date%qtime", f.Separator)
	if f.FractionDigits > 0 {
		s += fmt.Sprintf(".%d digits", f.FractionDigits)
	}
	if f.Zone == ZoneUTC {
		return s + string(f.UTCLetter)
	}
	return s + "±hh:mm"
}

// ParseTimestamp reads an event time as the contract does, in ms since the epoch (UTC): the
// reading every other consumer of the same records must agree with.
func ParseTimestamp(s string) (int64, error) {
	ms, r := parseTimestamp([]byte(s))
	if r != nil {
		return 0, r
	}
	return ms, nil
}
