package record

import (
	"time"

	"github.com/sluicelake/sluice/shared/contract"
)

// parseTimestamp reads an RFC 3339 date-time, in one of the forms contract.TimestampForms lists,
// with up to nanosecond fractions, and returns ms since the epoch, truncated (floor: .618999 is
// .618, never .619), because the columns are timestamp-millis.
//
// A time without a zone means different instants to different readers, so it is rejected unless
// the contract names the zone it is read in (naive); then a wall-clock time that the zone skips
// (a DST gap) is rejected, and one it repeats (a DST overlap) is the earlier instant, as
// Python's fold=0 and PostgreSQL read it.
func parseTimestamp(b []byte, naive *time.Location) (int64, *Reject) {
	bad := func(why string) (int64, *Reject) {
		return 0, reject(BadTimestamp, "", "%q is not an RFC 3339 date-time (%s), e.g. 2026-11-23T10:15:04.123Z", truncate(b), why)
	}
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return bad("layout")
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return bad("digits")
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return bad("no such date or time")
	}
	i := 19
	nanos := 0
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start < contract.MaxFraction {
				nanos = nanos*10 + int(b[i]-'0')
			}
			i++
		}
		n := i - start
		if n == 0 {
			return bad("empty fraction")
		}
		if n > contract.MaxFraction {
			// Past nanoseconds no clock means anything, and the archive's deserializer (Joda)
			// reads at most 9 digits: such a time would be valid here and fail there.
			return bad("more than 9 fraction digits")
		}
		for ; n < 9; n++ {
			nanos *= 10
		}
	}
	offset := 0
	switch {
	case i == len(b):
		if naive == nil {
			return 0, reject(NoZone, "", "%q has no zone: add Z or an offset such as +01:00", truncate(b))
		}
		if naive != time.UTC {
			return inZone(b, naive, year, month, day, hour, minute, sec, nanos)
		}
	case b[i] == 'Z' || b[i] == 'z':
		i++
	case b[i] == '+' || b[i] == '-':
		if len(b)-i != 6 || b[i+3] != ':' {
			return bad("offset must be ±hh:mm")
		}
		oh, ok1 := digits(b[i+1 : i+3])
		om, ok2 := digits(b[i+4 : i+6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return bad("offset")
		}
		offset = (oh*60 + om) * 60
		if b[i] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return bad("unexpected text after the time")
	}
	if i != len(b) {
		return bad("unexpected text after the zone")
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC)
	return t.UnixMilli() - int64(offset)*1000, nil
}

// inZone resolves a wall-clock time in loc: the earlier instant when loc repeats it, a reject
// when loc skips it. time.Date alone would pick either without saying which.
func inZone(b []byte, loc *time.Location, year, month, day, hour, minute, sec, nanos int) (int64, *Reject) {
	wall := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC)
	found := false
	var best time.Time
	// A zone's offset changes at most once within a day of any instant, so the offsets in force
	// a day either side are the only candidates.
	for _, probe := range [2]time.Duration{-24 * time.Hour, 24 * time.Hour} {
		_, off := wall.Add(probe).In(loc).Zone()
		t := wall.Add(-time.Duration(off) * time.Second)
		if _, got := t.In(loc).Zone(); got != off {
			continue
		}
		if !found || t.Before(best) {
			best, found = t, true
		}
	}
	if !found {
		return 0, reject(BadTimestamp, "", "%q does not exist in %s (the clocks skip it: a daylight-saving gap); add an offset", truncate(b), loc)
	}
	return best.UnixMilli(), nil
}

// parseDate reads YYYY-MM-DD and returns days since the epoch.
func parseDate(b []byte) (int64, bool) {
	if len(b) != 10 || b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	if !(ok1 && ok2 && ok3) || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) {
		return 0, false
	}
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC).Unix() / 86400, true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// ParseTimestamp reads text as a timestamp field does (see contract.TimestampForms): ms since
// the epoch, or the Reject a record would get. naive is the field's WithoutZone: nil rejects a
// timestamp without a zone (NoZone), which tells such text apart from what is no timestamp.
func ParseTimestamp(text []byte, naive *time.Location) (int64, *Reject) {
	return parseTimestamp(text, naive)
}

// ParseDate reads YYYY-MM-DD as a date field does: days since the epoch.
func ParseDate(text []byte) (int64, bool) { return parseDate(text) }
