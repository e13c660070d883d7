package record_test

import (
	"testing"

	"github.com/sluicelake/sluice/shared/record"
)

// Spellings next to the listed forms are rejected, so the list (contract.TimestampForms) is not
// narrower than the parser.
func TestNearMissesAreRejected(t *testing.T) {
	for _, s := range []string{
		"2026-11-23T14:05:09",             // no zone, on a field that refuses to guess one
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
		if _, rej := record.ParseTimestamp([]byte(s), nil); rej == nil {
			t.Errorf("%q accepted, but no listed form spells it", s)
		}
	}
}
