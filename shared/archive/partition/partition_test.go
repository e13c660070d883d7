package partition_test

import (
	"context"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/archive/partition"
	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/record/recordtest"
)

// expected is what the partition query must give, worked out without jq: a record that is one
// JSON object with every required field present and not null, whose event time the contract
// reads, belongs in the UTC day and hour of that time; any other record fails the query.
func expected(c *contract.Contract, v any) (map[string]string, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	for _, f := range c.Fields {
		if !f.Nullable && obj[f.Name] == nil {
			return nil, false
		}
	}
	s, ok := obj[c.Fields[c.EventTime].Name].(string)
	if !ok {
		return nil, false
	}
	ms, rej := record.ParseTimestamp([]byte(s), c.Fields[c.EventTime].WithoutZone)
	if rej != nil {
		return nil, false
	}
	t := time.UnixMilli(ms).UTC()
	return map[string]string{"dt": t.Format("2006-01-02"), "hr": t.Format("15")}, true
}

// The query, run with gojq, on every kind of record the fake producer makes for every shipped
// contract: good ones (a tenth carry a zone offset) and every kind of bad one.
func TestQueryOnEveryRecordKind(t *testing.T) {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, c := range reg {
		if cdc.IsChangeStream(c) {
			continue // from Kafka: no Kinesis stream, so no Firehose archive
		}
		prog, err := partition.Compile(c)
		if err != nil {
			t.Fatal(err)
		}
		g, err := fake.New(c, fake.Options{Seed: 7, Now: time.Date(2026, 11, 23, 1, 30, 0, 0, time.UTC), Spread: 6 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var recs []fake.Record
		for i := 0; i < 500; i++ {
			recs = append(recs, g.Next()) // BadShare 0: every record good
		}
		for _, k := range fake.Kinds(c) {
			for i := 0; i < 20; i++ {
				r, err := g.Bad(k)
				if err != nil {
					t.Fatal(err)
				}
				recs = append(recs, r)
			}
		}
		var offsets, days, good, failed int
		seenDay := map[string]bool{}
		for _, r := range recs {
			v, derr := partition.Decode(r.Data)
			var want map[string]string
			wantOK := false
			if derr == nil {
				want, wantOK = expected(c, v)
			}
			var got map[string]string
			var qerr error
			if derr == nil {
				got, qerr = prog.Keys(ctx, v)
			}
			switch {
			case derr != nil && wantOK:
				t.Errorf("%s %s: %q not decoded: %v", name, r.Bad, r.Data, derr)
			case derr != nil:
				failed++
			case wantOK && qerr != nil:
				t.Errorf("%s %s: %q: query failed (%v), want %v", name, r.Bad, r.Data, qerr, want)
			case !wantOK && qerr == nil:
				t.Errorf("%s %s: %q: query gave %v, want a failure", name, r.Bad, r.Data, got)
			case wantOK && (got["dt"] != want["dt"] || got["hr"] != want["hr"]):
				t.Errorf("%s %s: %q: query gave %v, want %v", name, r.Bad, r.Data, got, want)
			case wantOK:
				good++
				if r.Bad == "" && !hasUTCZone(v.(map[string]any)[c.Fields[c.EventTime].Name].(string)) {
					offsets++
				}
				if !seenDay[got["dt"]] {
					seenDay[got["dt"]] = true
					days++
				}
			default:
				failed++
			}
		}
		// The run must have met what it is meant to test: offsets, a day boundary, failures.
		if offsets < 20 || days < 2 || failed == 0 || good < 500 {
			t.Errorf("%s: %d good (%d with offsets) over %d days, %d failed: the sample misses a case", name, good, offsets, days, failed)
		}
	}
}

func hasUTCZone(s string) bool { return s[len(s)-1] == 'Z' || s[len(s)-1] == 'z' }

// Every accepted spelling of an event time lands in the partition of the instant it names.
func TestQueryOnEveryTimestampForm(t *testing.T) {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	c := reg["user_events"]
	prog, err := partition.Compile(c)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 23, 30, 15, 987654321, time.FixedZone("", -5*3600))
	for _, f := range c.Fields[c.EventTime].TimestampForms() {
		ts := f.Format(at)
		v, err := partition.Decode([]byte(`{"event_id":"0b4e7a0e-5d2c-4c2a-9b1e-3f1f6f0c9a11","user_id":"u_42","event_type":"click","timestamp":"` + ts + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		got, err := prog.Keys(context.Background(), v)
		if err != nil {
			t.Errorf("%v: %q: %v", f, ts, err)
			continue
		}
		if got["dt"] != "2026-11-24" || got["hr"] != "04" {
			t.Errorf("%v: %q: got %v, want 2026-11-24 hour 04", f, ts, got)
		}
	}
}

// The reference producer's naive times land in the hour they name, read in UTC as the
// customers contract reads them; user_events, which refuses such times, fails them.
func TestQueryOnTimesWithoutZone(t *testing.T) {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	v, err := partition.Decode([]byte(recordtest.Reference))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := partition.Compile(reg["customers"])
	if err != nil {
		t.Fatal(err)
	}
	got, err := prog.Keys(context.Background(), v)
	if err != nil || got["dt"] != "2022-02-02" || got["hr"] != "15" {
		t.Fatalf("customers: %v, %v; want 2022-02-02 hour 15", got, err)
	}
	strict, err := partition.Compile(reg["user_events"])
	if err != nil {
		t.Fatal(err)
	}
	v, err = partition.Decode([]byte(`{"event_id":"0b4e7a0e-5d2c-4c2a-9b1e-3f1f6f0c9a11","user_id":"u_42","event_type":"click","timestamp":"2026-11-23T10:00:00"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := strict.Keys(context.Background(), v); err == nil {
		t.Fatalf("user_events: a time without a zone was partitioned as %v", got)
	}
}

// A fraction past nanoseconds fails the query, as the contract (and Joda) refuse it.
func TestQueryRefusesFractionsPastNanoseconds(t *testing.T) {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := partition.Compile(reg["user_events"])
	if err != nil {
		t.Fatal(err)
	}
	v, err := partition.Decode([]byte(`{"event_id":"0b4e7a0e-5d2c-4c2a-9b1e-3f1f6f0c9a11","user_id":"u_42","event_type":"click","timestamp":"2026-11-23T14:05:09.1234567891Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := prog.Keys(context.Background(), v); err == nil {
		t.Errorf("partitioned as %v", keys)
	}
}
