package collect

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzSplitBody checks the body parser against encoding/json: an array body splits exactly as
// json.Unmarshal into []json.RawMessage reads it, and JSON lines give each non-blank line. Run
// with: go test -fuzz FuzzSplitBody ./shared/collect (inputs that once failed are kept in
// testdata/fuzz).
func FuzzSplitBody(f *testing.F) {
	for _, seed := range []string{
		`[{"a":1},{"b":"x"}]`,
		` [ {"a":[1,2,{"c":null}]} , "s", 3, true ] `,
		"{\"a\":1}\n{\"b\":2}\r\n\n  {\"c\":3}  ",
		"{\"a\":1}\n\x1f\x8b\x08\x00",
		`[{"a":1},]`,
		`[{"a":1}] [{"b":2}]`,
		`[{"a":"\u00e9\ud83d\ude00"}]`,
		"[\"\xff\"]",
		`[`,
		`[]`,
		`{`,
		`null`,
		"\ufeff{\"a\":1}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, format, err := SplitBody(body)
		if err != nil {
			if _, ok := err.(*BodyError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if recs != nil {
				t.Fatalf("records with an error: %q", recs)
			}
		}
		trimmed := bytes.TrimLeft(body, " \t\r\n")
		if len(trimmed) > 0 && trimmed[0] == '[' {
			var want []json.RawMessage
			wantErr := json.Unmarshal(trimmed, &want)
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("SplitBody err %v, json.Unmarshal err %v, for %q", err, wantErr, body)
			}
			if err != nil {
				return
			}
			if format != Array || len(recs) != len(want) {
				t.Fatalf("%s with %d records, json.Unmarshal has %d, for %q", format, len(recs), len(want), body)
			}
			for i := range want {
				if !bytes.Equal(recs[i], want[i]) {
					t.Fatalf("record %d: %q, json.Unmarshal has %q", i, recs[i], want[i])
				}
			}
			return
		}
		if err != nil {
			return
		}
		if format != Lines {
			t.Fatalf("format %s for %q", format, body)
		}
		if len(recs) == 0 || len(recs) > bytes.Count(body, []byte("\n"))+1 {
			t.Fatalf("%d records from %d lines", len(recs), bytes.Count(body, []byte("\n"))+1)
		}
		for _, r := range recs {
			if len(bytes.TrimSpace(r)) != len(r) || len(r) == 0 || bytes.IndexByte(r, '\n') >= 0 {
				t.Fatalf("line record %q is blank, untrimmed or spans lines", r)
			}
		}
	})
}
