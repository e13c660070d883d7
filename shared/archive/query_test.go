package archive_test

import (
	"strings"
	"testing"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/archive"
)

func TestPartitionQueryNamesRequiredFieldsAndEventTime(t *testing.T) {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	q := archive.PartitionQuery(reg["user_events"])
	for _, want := range []string{`."event_id"`, `."user_id"`, `."event_type"`, `([."timestamp" | capture(`, `{dt: strftime("%Y-%m-%d"), hr: strftime("%H")}`, `not a user_events record`} {
		if !strings.Contains(q, want) {
			t.Errorf("query lacks %s:\n%s", want, q)
		}
	}
	if strings.Contains(q, `."page"`) {
		t.Errorf("query requires the optional field page:\n%s", q)
	}
}
