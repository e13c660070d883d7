package fake_test

import (
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/record"
)

// TestIngestRejectsForTheSameReason feeds generated records to the lake's own validator: good
// ones must pass and every bad one must be rejected with the code its kind names, so that a
// demo's "produced by kind" and "quarantined by reason" tables line up.
func TestIngestRejectsForTheSameReason(t *testing.T) {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range contracts(t) {
		g, err := fake.New(c, fake.Options{Seed: 4, Now: now, BadShare: 0.3})
		if err != nil {
			t.Fatal(err)
		}
		b := record.NewBatch(reg, record.Options{Now: func() time.Time { return now }})
		for i := 0; i < 3000; i++ {
			r := g.Next()
			got := ""
			if _, rej := b.Add(r.Data, i); rej != nil {
				got = string(rej.Code)
			}
			if got != string(r.Bad) {
				t.Errorf("%s record %d made as %q (field %q), validator says %q:\n%q", c.Name, i, r.Bad, r.Field, got, r.Data)
			}
		}
	}
}
