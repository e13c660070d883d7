package archive_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/archive"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/record"
)

// joda parses s with one Joda-Time DateTimeFormat pattern, modelling how Joda 2 parses the
// letters TimestampFormats emits (and refusing any other, so that the generator cannot emit
// one this model does not cover): yyyy MM dd HH mm ss as fixed digits, SSSSSSSSS as one to
// nine digits of a fraction (kept to the millisecond, as Joda keeps it), ZZ as Z or ±hh:mm,
// quoted and other literals matched ignoring case. It returns ms since the epoch.
func joda(t *testing.T, pattern, s string) (int64, bool) {
	var year, month, day, hour, minute, sec, nanos, offset int
	pos := 0
	digits := func(min, max int) (int, int, bool) {
		n, v := 0, 0
		for n < max && pos+n < len(s) && s[pos+n] >= '0' && s[pos+n] <= '9' {
			v = v*10 + int(s[pos+n]-'0')
			n++
		}
		if n < min {
			return 0, 0, false
		}
		pos += n
		return v, n, true
	}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		n := 1
		for i+n < len(pattern) && pattern[i+n] == c {
			n++
		}
		ok := true
		switch {
		case c == '\'':
			end := strings.IndexByte(pattern[i+1:], '\'')
			lit := pattern[i+1 : i+1+end]
			if pos+len(lit) > len(s) || !strings.EqualFold(s[pos:pos+len(lit)], lit) {
				return 0, false
			}
			pos += len(lit)
			i += end + 2
			continue
		case c == 'y' && n == 4:
			year, _, ok = digits(4, 4)
		case c == 'M' && n == 2:
			month, _, ok = digits(2, 2)
		case c == 'd' && n == 2:
			day, _, ok = digits(2, 2)
		case c == 'H' && n == 2:
			hour, _, ok = digits(2, 2)
		case c == 'm' && n == 2:
			minute, _, ok = digits(2, 2)
		case c == 's' && n == 2:
			sec, _, ok = digits(2, 2)
		case c == 'S' && n == 9:
			var v, got int
			v, got, ok = digits(1, 9)
			for ; got < 9; got++ {
				v *= 10
			}
			nanos = v
		case c == 'Z' && n == 2:
			switch {
			case pos < len(s) && (s[pos] == 'Z' || s[pos] == 'z'):
				pos++
			case pos < len(s) && (s[pos] == '+' || s[pos] == '-'):
				sign := 1
				if s[pos] == '-' {
					sign = -1
				}
				pos++
				var oh, om int
				if oh, _, ok = digits(2, 2); ok && pos < len(s) && s[pos] == ':' {
					pos++
					om, _, ok = digits(2, 2)
				} else {
					ok = false
				}
				offset = sign * (oh*3600 + om*60)
			default:
				ok = false
			}
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			t.Fatalf("pattern %q: letter %q x%d is outside this model of Joda: extend the model before the generator emits it", pattern, c, n)
		default:
			for k := 0; k < n; k++ {
				if pos >= len(s) || s[pos] != c {
					return 0, false
				}
				pos++
			}
		}
		if !ok {
			return 0, false
		}
		i += n
	}
	if pos != len(s) {
		return 0, false
	}
	at := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC)
	if at.Year() != year || int(at.Month()) != month || at.Day() != day || at.Hour() != hour || at.Minute() != minute || at.Second() != sec {
		return 0, false // Joda refuses a field out of range rather than rolling it over
	}
	return at.UnixMilli() - int64(offset)*1000, true
}

// jodaAny is the Hive JSON SerDe's reading: the first pattern that parses the whole value.
func jodaAny(t *testing.T, patterns []string, s string) (int64, bool) {
	for _, p := range patterns {
		if ms, ok := joda(t, p, s); ok {
			return ms, true
		}
	}
	return 0, false
}

// eventTimes are the event-time fields of the shipped contracts: user_events refuses times
// without a zone, customers reads them in UTC.
func eventTimes(t *testing.T) map[string]*contract.Field {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*contract.Field{}
	for name, c := range reg {
		out[name] = &c.Fields[c.EventTime]
	}
	if out["user_events"].WithoutZone != nil || out["customers"].WithoutZone == nil {
		t.Fatal("the shipped contracts no longer cover both kinds of event time: pick others for this test")
	}
	return out
}

// The generated formats read every spelling the contract accepts as the instant the contract
// reads, at several instants, offsets and fraction lengths.
func TestTimestampFormatsReadEveryContractForm(t *testing.T) {
	instants := []time.Time{
		time.Date(2026, 11, 23, 14, 5, 9, 123456789, time.UTC),
		time.Date(2026, 11, 23, 23, 30, 0, 5_000_000, time.FixedZone("", -5*3600)),
		time.Date(2024, 2, 29, 0, 15, 59, 999_999_999, time.FixedZone("", 9*3600)),
		time.Date(2026, 3, 29, 1, 0, 0, 0, time.FixedZone("", 5*3600+45*60)),
	}
	for name, f := range eventTimes(t) {
		formats, err := archive.TimestampFormats(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(formats) == 0 {
			t.Fatalf("%s: no formats generated", name)
		}
		for _, form := range f.TimestampForms() {
			for _, at := range instants {
				if form.Zone == contract.ZoneNone {
					at = at.In(f.WithoutZone)
				}
				s := form.Format(at)
				want, rej := record.ParseTimestamp([]byte(s), f.WithoutZone)
				if rej != nil {
					t.Fatalf("%s: the contract rejects its own form %q: %v", name, s, rej)
				}
				got, ok := jodaAny(t, formats, s)
				if !ok {
					t.Errorf("%s: %q: no generated format reads it (formats %q)", name, s, formats)
				} else if got != want {
					t.Errorf("%s: %q: read as %s, the contract reads %s", name, s, time.UnixMilli(got).UTC(), time.UnixMilli(want).UTC())
				}
			}
		}
	}
}

// The formats are no wider than the contract where it matters: where the contract refuses a
// time without a zone, no format reads one (Hive would read it in UTC).
func TestTimestampFormatsRefuseTimesWithoutZone(t *testing.T) {
	formats, err := archive.TimestampFormats(eventTimes(t)["user_events"])
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"2026-11-23T14:05:09", "2026-11-23 14:05:09.123", "2026-02-30T10:00:00Z", "1700000000000"} {
		if _, ok := jodaAny(t, formats, s); ok {
			t.Errorf("%q is read by %q, but the contract rejects it", s, formats)
		}
	}
}

// A contract that reads times without a zone in a zone other than UTC cannot be archived by a
// deserializer that reads them in UTC: generation fails and says what to do.
func TestTimestampFormatsRefuseOtherZones(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	f := &contract.Field{Name: "at", Kind: contract.Timestamp, WithoutZone: berlin}
	if _, err := archive.TimestampFormats(f); err == nil || !strings.Contains(err.Error(), "UTC") {
		t.Fatalf("err = %v, want one saying to use UTC", err)
	}
}

func TestEvaluatePrefixes(t *testing.T) {
	at := time.Date(2026, 11, 23, 4, 5, 6, 0, time.UTC)
	got, err := archive.Evaluate(archive.Prefix("user_events"), archive.Values{Keys: map[string]string{"dt": "2026-11-22", "hr": "23"}, Arrival: at})
	if err != nil || got != "archive/user_events/dt=2026-11-22/hr=23/" {
		t.Errorf("prefix %q, %v", got, err)
	}
	got, err = archive.Evaluate(archive.ErrorOutputPrefix, archive.Values{ErrorOutputType: archive.FormatConversionFailed, Arrival: at})
	if err != nil || got != "archive-errors/format-conversion-failed/dt=2026-11-23/hr=04/" {
		t.Errorf("error prefix %q, %v", got, err)
	}
	if _, err := archive.Evaluate(archive.Prefix("user_events"), archive.Values{Keys: map[string]string{"dt": "2026-11-22"}}); err == nil {
		t.Error("a missing partition key evaluated")
	}
	if name := archive.ObjectName("sluice-archive", 1, at, "0b4e7a0e", ".parquet"); name != "sluice-archive-1-2026-11-23-04-05-06-0b4e7a0e.parquet" {
		t.Errorf("object name %q", name)
	}
}
