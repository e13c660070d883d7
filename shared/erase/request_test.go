package erase_test

import (
	"encoding/json"
	"testing"

	"github.com/sluicelake/sluice/shared/erase"
)

// FuzzRequestJSON: whatever a caller posts, reading it never panics, and a request read is one
// that reads back the same from its own JSON (a number key became its digits, a string).
func FuzzRequestJSON(f *testing.F) {
	for _, s := range []string{`{"dataset":"d","field":"f","key":"k"}`, `{"dataset":"d","key":42}`, `{"key":-7}`,
		`{"key":1.5}`, `{"key":1e3}`, `{"key":null}`, `{"key":[1]}`, `{"key":"a","key":3}`, `{"user":"x"}`, `{"key":"\u0000"}`, `[]`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r erase.Request
		if json.Unmarshal(b, &r) != nil {
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var again erase.Request
		if err := json.Unmarshal(out, &again); err != nil || again != r {
			t.Fatalf("%s read as %+v, written as %s, read back as %+v (%v)", b, r, out, again, err)
		}
	})
}
