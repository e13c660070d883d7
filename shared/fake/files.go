package fake

import (
	"bytes"

	"github.com/sluicelake/sluice/shared/contract"
)

// Take returns the next n records.
func (g *Generator) Take(n int) []Record {
	out := make([]Record, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

// LineKinds lists the bad kinds a line of a JSON-lines file can carry: every kind of Kinds but
// the empty record, since an empty line in such a file is no record at all.
func LineKinds(c *contract.Contract) []Kind {
	var out []Kind
	for _, k := range Kinds(c) {
		if k != EmptyRecord {
			out = append(out, k)
		}
	}
	return out
}

// JSONLines lays records out as a JSON-lines file: one record a line.
func JSONLines(recs []Record) []byte {
	var b bytes.Buffer
	for _, r := range recs {
		b.Write(r.Data)
		b.WriteByte('\n')
	}
	return b.Bytes()
}
