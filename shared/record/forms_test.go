package record_test

import (
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/record"
)

// Every listed form is accepted, and read as the instant it spells (to the millisecond).
func TestTimestampFormsAreAccepted(t *testing.T) {
	instants := []time.Time{
		time.Date(2026, 11, 23, 14, 5, 9, 123456789, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.FixedZone("", -5*3600)),
		time.Date(2026, 1, 1, 0, 30, 0, 0, time.FixedZone("", 5*3600+30*60)),
	}
	for _, f := range record.TimestampForms() {
		for _, at := range instants {
			s := f.Format(at)
			got, err := record.ParseTimestamp(s)
			if err != nil {
				t.Errorf("%v: %q rejected: %v", f, s, err)
				continue
			}
			want := at.Truncate(time.Duration(pow10(9 - f.FractionDigits))).UnixMilli()
			if got != want {
				t.Errorf("%v: %q read as %d, want %d", f, s, got, want)
			}
		}
	}
}

// Spellings next to the listed forms are rejected, so the list is not narrower than the parser.
func TestNearMissesAreRejected(t *testing.T) {
	for _, s := range []string{
		"2026-11-23T14:05:09",             // no zone
		"2026-11-23T14:05:09.",            // empty fraction
		"2026-11-23T14:05:09+0100",        // offset without colon
		"2026-11-23T14:05:09+01",          // offset without minutes
		"2026-11-23_14:05:09Z",            // another separator
		"2026-11-23T14:05Z",               // no seconds
		"2026-11-23T14:05:09 Z",           // space before the zone
		"2026-11-23T14:05:09Z[UTC]",       // a zone name after the zone
		"2026-11-23T14:05:09 +01:00",      // space before the offset
		"2026-11-23T14:05:09.1234567891Z", // past nanoseconds
	} {
		if _, err := record.ParseTimestamp(s); err == nil {
			t.Errorf("%q accepted, but no listed form spells it", s)
		}
	}
}

func pow10(n int) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}
