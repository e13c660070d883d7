package fake_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/fake"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func contracts(t testing.TB) []*contract.Contract {
	t.Helper()
	all, err := events.Contracts()
	if err != nil {
		t.Fatal(err)
	}
	var cs []*contract.Contract
	for _, c := range all {
		if !cdc.IsChangeStream(c) {
			cs = append(cs, c)
		}
	}
	return cs
}

func TestChangeStreamsAreNotFaked(t *testing.T) {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	c := reg["customers_changes"]
	if c == nil || !cdc.IsChangeStream(c) {
		t.Fatal("events/ has no change stream customers_changes")
	}
	if _, err := fake.New(c, fake.Options{}); err == nil || !strings.Contains(err.Error(), "cdc.Simulator") {
		t.Errorf("fake.New(customers_changes) = %v, want an error naming cdc.Simulator", err)
	}
	gens, err := fake.Generators(reg, "all", fake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gens {
		if cdc.IsChangeStream(g.Contract()) {
			t.Errorf("Generators(all) includes change stream %s", g.Contract().Name)
		}
	}
	if len(gens) != len(reg)-1 {
		t.Errorf("Generators(all) made %d generators for %d contracts, one of them a change stream", len(gens), len(reg))
	}
}

// check is the test's own reading of the contract, written apart from the generator: it returns
// "" for a record that passes, or the reason it fails, named as fake.Kind names them.
func check(c *contract.Contract, data []byte) (reason, field string) {
	if len(bytes.TrimSpace(data)) == 0 {
		return "empty_record", ""
	}
	if !utf8.Valid(data) {
		return "invalid_utf8", ""
	}
	if !json.Valid(data) {
		s := string(data)
		for _, tok := range []string{"NaN", "Infinity"} {
			if strings.Contains(s, ":"+tok) || strings.Contains(s, ":-"+tok) {
				return "non_finite_number", ""
			}
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		var first json.RawMessage
		if dec.Decode(&first) == nil {
			return "trailing_data", ""
		}
		return "malformed_json", ""
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top any
	if err := dec.Decode(&top); err != nil {
		return "malformed_json", ""
	}
	obj, isObj := top.(map[string]any)
	if !isObj {
		return "not_an_object", ""
	}
	if r, f := structure(data); r != "" {
		return r, f
	}
	if obj["_dataset"] != c.Name {
		return "unknown_dataset", "_dataset"
	}
	for k := range obj {
		if _, known := c.Field(k); !known && k != "_dataset" {
			return "unknown_field", k
		}
	}
	for i := range c.Fields {
		f := &c.Fields[i]
		v, present := obj[f.Name]
		if !present || v == nil {
			if f.Nullable {
				continue
			}
			if !present {
				return "missing_field", f.Name
			}
			return "null_not_allowed", f.Name
		}
		if r := checkValue(c, f, v); r != "" {
			return r, f.Name
		}
	}
	return "", ""
}

// structure walks the tokens for what a decoded map hides: repeated keys and nesting depth.
func structure(data []byte) (reason, field string) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type level struct{ object, wantKey bool }
	var stack []level
	seen := map[string]bool{}
	// value marks that a value ended inside the innermost container.
	value := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return "", ""
		}
		if err != nil {
			return "malformed_json", ""
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			stack = append(stack, level{object: tok == json.Delim('{'), wantKey: true})
			if len(stack) > 32 {
				return "too_deep", ""
			}
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			value()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			key := tok.(string)
			if n == 1 {
				if seen[key] {
					return "duplicate_key", key
				}
				seen[key] = true
			}
			stack[n-1].wantKey = false
			continue
		}
		value()
	}
}

func checkValue(c *contract.Contract, f *contract.Field, v any) string {
	r := f.Rules
	number := func() (float64, string) {
		n, isNum := v.(json.Number)
		if !isNum {
			return 0, "wrong_type"
		}
		x, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(x, 0) {
			return 0, "non_finite_number"
		}
		return x, ""
	}
	switch f.Kind {
	case contract.String, contract.Enum:
		s, isStr := v.(string)
		if !isStr {
			return "wrong_type"
		}
		if f.Kind == contract.Enum {
			for _, sym := range f.Symbols {
				if s == sym {
					return ""
				}
			}
			return "unknown_enum_value"
		}
		if len(s) < r.MinLength || r.MaxLength > 0 && len(s) > r.MaxLength {
			return "invalid_length"
		}
		if r.Pattern != nil && !r.Pattern.MatchString(s) {
			return "pattern_mismatch"
		}
	case contract.Int, contract.Long:
		n, isNum := v.(json.Number)
		if !isNum {
			return "wrong_type"
		}
		if strings.ContainsAny(string(n), ".eE") {
			return "not_an_integer"
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || f.Kind == contract.Int && (i < math.MinInt32 || i > math.MaxInt32) {
			return "integer_overflow"
		}
		if r.Min != nil && float64(i) < *r.Min || r.Max != nil && float64(i) > *r.Max {
			return "out_of_range"
		}
	case contract.Float, contract.Double:
		x, why := number()
		if why != "" {
			return why
		}
		if r.Min != nil && x < *r.Min || r.Max != nil && x > *r.Max {
			return "out_of_range"
		}
	case contract.Boolean:
		if _, isBool := v.(bool); !isBool {
			return "wrong_type"
		}
	case contract.Timestamp:
		s, isStr := v.(string)
		if !isStr {
			return "wrong_type"
		}
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			if _, err2 := time.Parse("2006-01-02T15:04:05.999999999", s); err2 == nil {
				return "timestamp_without_zone"
			}
			return "invalid_timestamp"
		}
		if ts.After(now.Add(c.MaxFutureSkew)) {
			return "timestamp_in_future"
		}
	case contract.Date:
		s, isStr := v.(string)
		if !isStr {
			return "wrong_type"
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return "invalid_date"
		}
	case contract.StringMap:
		m, isMap := v.(map[string]any)
		if !isMap {
			return "wrong_type"
		}
		for _, x := range m {
			if _, isStr := x.(string); !isStr {
				return "wrong_type"
			}
		}
	}
	return ""
}

func TestGoodRecordsPassTheContract(t *testing.T) {
	for _, c := range contracts(t) {
		t.Run(c.Name, func(t *testing.T) {
			spread := 2 * time.Hour
			g, err := fake.New(c, fake.Options{Seed: 7, Now: now, Spread: spread})
			if err != nil {
				t.Fatal(err)
			}
			nulls := map[string]int{}
			distinct := map[string]map[string]bool{}
			for i := 0; i < 5000; i++ {
				r := g.Next()
				if r.Bad != "" {
					t.Fatalf("record %d is bad (%s) with a bad share of 0", i, r.Bad)
				}
				if reason, field := check(c, r.Data); reason != "" {
					t.Fatalf("record %d fails the contract: %s in %q\n%s", i, reason, field, r.Data)
				}
				var obj map[string]any
				if err := json.Unmarshal(r.Data, &obj); err != nil {
					t.Fatal(err)
				}
				ts, _ := time.Parse(time.RFC3339Nano, obj[c.Fields[c.EventTime].Name].(string))
				if ts.After(now) || ts.Before(now.Add(-spread)) {
					t.Fatalf("record %d: event time %v outside [%v, %v]", i, ts, now.Add(-spread), now)
				}
				var key []string
				for _, k := range c.Key {
					key = append(key, fmt.Sprint(obj[c.Fields[k].Name]))
				}
				if want := strings.Join(key, "|"); r.PartitionKey != want {
					t.Fatalf("record %d: partition key %q, want the contract key %q", i, r.PartitionKey, want)
				}
				for _, f := range c.Fields {
					if obj[f.Name] == nil {
						nulls[f.Name]++
						continue
					}
					if distinct[f.Name] == nil {
						distinct[f.Name] = map[string]bool{}
					}
					distinct[f.Name][fmt.Sprint(obj[f.Name])] = true
				}
			}
			// Believable data varies: every field takes several values, optional ones are
			// sometimes missing, and keys do not repeat.
			for _, f := range c.Fields {
				if n := len(distinct[f.Name]); n < 2 && f.Kind != contract.Boolean {
					t.Errorf("field %s took %d distinct values in 5000 records", f.Name, n)
				}
				if f.Nullable && nulls[f.Name] == 0 {
					t.Errorf("optional field %s was never null", f.Name)
				}
			}
			if k := c.Fields[c.Key[0]].Name; len(distinct[k]) != 5000 {
				t.Errorf("key %s: %d distinct values in 5000 records", k, len(distinct[k]))
			}
		})
	}
}

func TestDeterministicForASeed(t *testing.T) {
	c := contracts(t)[0]
	run := func(seed uint64) [][]byte {
		g, err := fake.New(c, fake.Options{Seed: seed, Now: now, BadShare: 0.3})
		if err != nil {
			t.Fatal(err)
		}
		var out [][]byte
		for i := 0; i < 300; i++ {
			out = append(out, g.Next().Data)
		}
		return out
	}
	a, b, other := run(42), run(42), run(43)
	same := 0
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("record %d differs between two runs with seed 42:\n%s\n%s", i, a[i], b[i])
		}
		if bytes.Equal(a[i], other[i]) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d records are the same for seeds 42 and 43", same)
	}
}

func TestBadRecordsFailForTheirReason(t *testing.T) {
	for _, c := range contracts(t) {
		t.Run(c.Name, func(t *testing.T) {
			const n, share = 3000, 0.25
			g, err := fake.New(c, fake.Options{Seed: 3, Now: now, BadShare: share})
			if err != nil {
				t.Fatal(err)
			}
			byKind := map[fake.Kind]int{}
			bad := 0
			for i := 0; i < n; i++ {
				r := g.Next()
				reason, field := check(c, r.Data)
				if r.Bad == "" {
					if reason != "" {
						t.Fatalf("good record %d fails: %s in %q\n%s", i, reason, field, r.Data)
					}
					continue
				}
				bad++
				byKind[r.Bad]++
				if reason != string(r.Bad) {
					t.Errorf("record %d made as %s (field %q) reads as %q (field %q):\n%q", i, r.Bad, r.Field, reason, field, r.Data)
				}
				if r.PartitionKey == "" || len(r.PartitionKey) > 256 {
					t.Errorf("record %d: partition key %q is not a valid Kinesis key", i, r.PartitionKey)
				}
			}
			if want := int(n * share); bad != want {
				t.Errorf("%d bad records, want exactly %d", bad, want)
			}
			for _, k := range fake.Kinds(c) {
				if byKind[k] == 0 {
					t.Errorf("kind %s never made", k)
				}
			}
			t.Logf("%d kinds apply: %v", len(fake.Kinds(c)), byKind)
		})
	}
}

func TestBadKindThatDoesNotApply(t *testing.T) {
	var customers *contract.Contract
	for _, c := range contracts(t) {
		if c.Name == "customers" {
			customers = c
		}
	}
	// customers has no numbers, so there is nothing to put out of range.
	_, err := fake.New(customers, fake.Options{BadShare: 0.1, BadKinds: []fake.Kind{fake.OutOfRange}})
	if err == nil || !strings.Contains(err.Error(), "out_of_range") {
		t.Fatalf("want an error naming the kind, got %v", err)
	}
	// customers reads naive timestamps in UTC: a list naming timestamp_without_zone beside kinds
	// that apply (as the local host's sample list does) makes only those.
	mixed, err := fake.New(customers, fake.Options{BadShare: 0.5, BadKinds: []fake.Kind{fake.NoZone, fake.BadEnum}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range mixed.Take(20) {
		if r.Bad != "" && r.Bad != fake.BadEnum {
			t.Fatalf("made a %s record; customers takes naive timestamps", r.Bad)
		}
	}
	g, err := fake.New(customers, fake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Bad(fake.NoZone); err == nil {
		t.Fatal("Bad(timestamp_without_zone) on customers, which reads naive times in UTC: want an error")
	}
	if _, err := g.Bad(fake.NonFinite); err == nil {
		t.Fatal("Bad(non_finite_number) on a contract without float fields: want an error")
	}
	r, err := g.Bad(fake.BadEnum)
	if err != nil || r.Field != "status" {
		t.Fatalf("Bad(unknown_enum_value) = field %q, %v; want the status field", r.Field, err)
	}
}

func TestUnmeetableRulesFailAtNew(t *testing.T) {
	src := `{"type":"record","name":"odd","sluice.eventTime":"ts","sluice.key":["n"],"fields":[
	  {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
	  {"name":"n","type":"int","sluice.rules":{"min":0.2,"max":0.8}}]}`
	c, err := contract.Parse("odd.avsc", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = fake.New(c, fake.Options{})
	if err == nil || !strings.Contains(err.Error(), `"n"`) {
		t.Fatalf("want an error naming field n, got %v", err)
	}
}

func TestPartitionFromField(t *testing.T) {
	c := contracts(t)[1] // user_events
	g, err := fake.New(c, fake.Options{Seed: 1, Now: now, PartitionFrom: "user_id"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		r := g.Next()
		var obj map[string]any
		_ = json.Unmarshal(r.Data, &obj)
		if r.PartitionKey != obj["user_id"] {
			t.Fatalf("partition key %q, want user_id %v", r.PartitionKey, obj["user_id"])
		}
	}
	if _, err := fake.New(c, fake.Options{PartitionFrom: "nope"}); err == nil {
		t.Fatal("partitioning on a missing field: want an error")
	}
}

func ExampleGenerator() {
	registry, _ := events.Registry()
	g, err := fake.New(registry["customers"], fake.Options{
		Seed:     1,
		Now:      time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC),
		BadShare: 0.5,
		BadKinds: []fake.Kind{fake.PatternMismatch},
	})
	if err != nil {
		panic(err)
	}
	for i := 0; i < 2; i++ {
		r := g.Next()
		fmt.Printf("bad=%q field=%q\n%s\n", r.Bad, r.Field, r.Data)
	}
	// Output:
	// bad="" field=""
	// {"_dataset":"customers","uuid":"e1f2036c-21fd-4ea0-82aa-16caa86d13a3","event_date":"2026-11-23T10:36:46.337Z","status":"Canceled","name":"Jake","last_name":"Myers","email":"dpurdy79@edwards.biz","phone":"577-060-6617"}
	// bad="pattern_mismatch" field="email"
	// {"_dataset":"customers","uuid":"056c0f39-7b1c-4eb6-b744-df0f0b5f5af9","event_date":"2026-11-23T10:15:43.361Z","status":"Active","name":"August","last_name":"Larkin","email":"n/a","phone":"1-257-174-2902"}
}

func ExampleTally() {
	registry, _ := events.Registry()
	g, _ := fake.New(registry["user_events"], fake.Options{Seed: 5, Now: now, BadShare: 0.1,
		BadKinds: []fake.Kind{fake.MissingField, fake.WrongType}})
	tally := fake.Tally{}
	for i := 0; i < 100; i++ {
		tally.Add(g.Next())
	}
	fmt.Printf("%d records, %d bad: %v\n", tally.Total(), tally.Bad(), tally)
	// Output:
	// 100 records, 10 bad: missing_field 5, wrong_type 5
}
