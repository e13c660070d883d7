package kafkawire_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	sluiceevents "github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/kafkawire"
	"github.com/sluicelake/sluice/shared/record"
)

func contracts(tb testing.TB) map[string]*contract.Contract {
	reg, err := sluiceevents.Registry()
	if err != nil {
		tb.Fatal(err)
	}
	return reg
}

// sameRows reports whether row i of a and row j of b hold the same values.
func sameRows(a *record.Table, i int, b *record.Table, j int) bool {
	ra, rb := a.Row(i), b.Row(j)
	for k := range ra {
		x, y := ra[k], rb[k]
		if x.Set != y.Set || x.Int != y.Int || !bytes.Equal(x.Str, y.Str) ||
			(x.Float != y.Float && !(math.IsNaN(x.Float) && math.IsNaN(y.Float))) {
			return false
		}
		px, py := a.Pairs[x.MapStart:x.MapEnd], b.Pairs[y.MapStart:y.MapEnd]
		if len(px) != len(py) {
			return false
		}
		// A map's entries have no order in Avro (hamba writes a Go map's): compare them as sets.
		mx := map[string]string{}
		for _, p := range px {
			mx[string(p.Key)] = string(p.Value)
		}
		for _, p := range py {
			if v, ok := mx[string(p.Key)]; !ok || v != string(p.Value) {
				return false
			}
		}
	}
	return true
}

// TestRoundTrip writes fake records of every contract as Avro with hamba/avro and reads them
// back: each must validate into the very row its JSON form gives.
func TestRoundTrip(t *testing.T) {
	reg := contracts(t)
	r, err := kafkawire.ParseRegistry(`{"1":"user_events","2":"customers"}`, reg)
	if err != nil {
		t.Fatal(err)
	}
	for id, name := range map[uint32]string{1: "user_events", 2: "customers"} {
		g, err := fake.New(reg[name], fake.Options{Seed: uint64(id)})
		if err != nil {
			t.Fatal(err)
		}
		fromJSON := record.NewBatch(reg, record.Options{})
		fromAvro := record.NewBatch(reg, record.Options{})
		for i := range 500 {
			rec := g.Next()
			value, err := kafkawire.Encode(reg[name], id, rec.Data)
			if err != nil {
				t.Fatalf("%s: %v", rec.Data, err)
			}
			gotID, body, err := kafkawire.Split(value)
			if err != nil || gotID != id {
				t.Fatalf("split: %d %v", gotID, err)
			}
			c, rej := r.Lookup(gotID)
			if rej != nil || c.Name != name {
				t.Fatalf("lookup %d: %v %v", gotID, c, rej)
			}
			js, rej := kafkawire.AppendJSON(nil, c, body)
			if rej != nil {
				t.Fatalf("%s: %v", rec.Data, rej)
			}
			if _, rej := fromAvro.AddFrom(name, js, i); rej != nil {
				t.Fatalf("%s from %s: %v", js, rec.Data, rej)
			}
			if _, rej := fromJSON.Add(rec.Data, i); rej != nil {
				t.Fatalf("%s: %v", rec.Data, rej)
			}
		}
		a, b := fromJSON.Tables()[0], fromAvro.Tables()[0]
		if a.Len() != 500 || b.Len() != 500 {
			t.Fatalf("%s: %d and %d rows", name, a.Len(), b.Len())
		}
		for i := range a.Len() {
			if !sameRows(a, i, b, i) {
				t.Fatalf("%s row %d differs: %v vs %v", name, i, a.Row(i), b.Row(i))
			}
		}
	}
}

// TestRejects: what cannot be read is refused with a reason, never misread.
func TestRejects(t *testing.T) {
	reg := contracts(t)
	c := reg["customers"]
	g, _ := fake.New(c, fake.Options{Seed: 3})
	good, err := kafkawire.Encode(c, 2, g.Next().Data)
	if err != nil {
		t.Fatal(err)
	}
	body := good[5:]
	// customers: uuid (string), event_date (timestamp) first, then the status enum.
	cases := map[string]struct {
		body []byte
		code record.Code
	}{
		"empty":         {nil, kafkawire.InvalidAvro},
		"truncated":     {body[:len(body)-1], kafkawire.InvalidAvro},
		"trailing":      {append(append([]byte{}, body...), 0), record.TrailingData},
		"huge string":   {binary.AppendVarint(nil, 1<<40), kafkawire.InvalidAvro},
		"negative size": {binary.AppendVarint(nil, -3), kafkawire.InvalidAvro},
		"bad utf8":      {append(binary.AppendVarint(nil, 2), 0xff, 0xfe), record.InvalidUTF8},
	}
	for name, tc := range cases {
		js, rej := kafkawire.AppendJSON(nil, c, tc.body)
		if rej == nil || rej.Code != tc.code {
			t.Errorf("%s: got %s, %v; want %s", name, js, rej, tc.code)
		}
	}

	// An enum index past the symbols and a non-finite double.
	ue := reg["user_events"]
	ug, _ := fake.New(ue, fake.Options{Seed: 4})
	var rec map[string]any
	_ = json.Unmarshal(ug.Next().Data, &rec)
	rec["amount"] = 1.0
	data, _ := json.Marshal(rec)
	v, err := kafkawire.Encode(ue, 1, data)
	if err != nil {
		t.Fatal(err)
	}
	nan := bytes.Replace(v, binary.LittleEndian.AppendUint64(nil, math.Float64bits(1.0)), binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN())), 1)
	if _, rej := kafkawire.AppendJSON(nil, ue, nan[5:]); rej == nil || rej.Code != record.NonFinite || rej.Field != "amount" {
		t.Errorf("NaN amount: %v", rej)
	}
}

func TestRegistry(t *testing.T) {
	reg := contracts(t)
	v := reg["customers"].Version
	r, err := kafkawire.ParseRegistry(`{"7":"customers@`+v+`","8":"customers@000000000000"}`, reg)
	if err != nil {
		t.Fatal(err)
	}
	if c, rej := r.Lookup(7); rej != nil || c.Name != "customers" {
		t.Errorf("pinned current version: %v %v", c, rej)
	}
	if _, rej := r.Lookup(8); rej == nil || rej.Code != kafkawire.StaleSchemaID {
		t.Errorf("stale version: %v", rej)
	}
	if _, rej := r.Lookup(9); rej == nil || rej.Code != kafkawire.UnknownSchemaID || !strings.Contains(rej.Detail, "SLUICE_KAFKA_SCHEMA_IDS") {
		t.Errorf("unknown id: %v", rej)
	}
	for _, bad := range []string{`[1]`, `{"x":"customers"}`, `{"-1":"customers"}`, `{"4294967296":"customers"}`, `{"1":"orders"}`} {
		if _, err := kafkawire.ParseRegistry(bad, reg); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	if _, _, err := kafkawire.Split([]byte{0, 0, 1}); err == nil {
		t.Error("a 3-byte value split")
	}
	if kafkawire.IsWireFormat([]byte(`{"a":1}`)) || !kafkawire.IsWireFormat([]byte{0}) {
		t.Error("IsWireFormat")
	}
}

// FuzzToJSON: no input panics the decoder, and whatever it accepts is one JSON object that the
// validation path can read.
func FuzzToJSON(f *testing.F) {
	reg := contracts(f)
	for i, name := range []string{"user_events", "customers"} {
		g, _ := fake.New(reg[name], fake.Options{Seed: 11})
		for range 3 {
			v, err := kafkawire.Encode(reg[name], uint32(i+1), g.Next().Data)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(v)
			f.Add(v[:len(v)/2])
		}
	}
	r, err := kafkawire.ParseRegistry(`{"1":"user_events","2":"customers"}`, reg)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		id, body, err := kafkawire.Split(value)
		if err != nil {
			return
		}
		c, rej := r.Lookup(id)
		if rej != nil {
			return
		}
		js, rej := kafkawire.AppendJSON(nil, c, body)
		if rej != nil {
			if rej.Code == "" || rej.Detail == "" {
				t.Fatalf("a reject without its reason: %+v", rej)
			}
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(js, &m); err != nil {
			t.Fatalf("%q decoded to invalid JSON %s: %v", value, js, err)
		}
		if len(m) != len(c.Fields) {
			t.Fatalf("%s has %d fields, the contract %d", js, len(m), len(c.Fields))
		}
		b := record.NewBatch(reg, record.Options{})
		b.AddFrom(c.Name, js, 0) // may reject (rules); must not panic
	})
}

// TestSeedCorpusKept checks the fuzz corpus found so far is in the repository, so that every
// `go test` replays it.
func TestSeedCorpusKept(t *testing.T) {
	files, _ := filepath.Glob("testdata/fuzz/FuzzToJSON/*")
	if len(files) == 0 {
		t.Fatal("testdata/fuzz/FuzzToJSON is empty: run go test -fuzz FuzzToJSON and keep the interesting inputs")
	}
	if _, err := os.Stat(files[0]); err != nil {
		t.Fatal(err)
	}
}
