package catalog

import (
	"regexp"
	"strings"

	"github.com/sluicelake/sluice/shared/contract"
)

// Masked replaces every value the reader may not see.
const Masked = "•••"

// Mask returns a quarantined record's preview with every value masked except those of the
// contract's fields that show allows. The preview is the record's first bytes as sent, so it
// may be cut short or not be JSON at all (that may be why it was quarantined): Mask reads it
// as JSON as far as it can and masks everything it cannot attribute to a shown field.
//
//   - A key is kept when it names a contract field (or _dataset), masked otherwise: a key
//     the contract does not know could be anything the producer sent.
//   - A value (string, number, or any bare text) is kept only right after a shown field's
//     key; true, false and null are kept everywhere, as they say nothing of anyone.
//   - Inside nested objects and arrays nothing is attributed to a field, so all is masked.
func Mask(preview string, ct *contract.Contract, show func(f *contract.Field) bool) string {
	var b strings.Builder
	b.Grow(len(preview))
	shown := false // the value that follows belongs to a shown field
	depth := 0
	for i := 0; i < len(preview); {
		c := preview[i]
		switch {
		case c == '"':
			end := stringEnd(preview, i)
			lit := preview[i:end]
			if isKey(preview, end) {
				name := strings.Trim(lit, `"`)
				f, known := ct.Field(name)
				if known || name == "_dataset" {
					b.WriteString(lit)
				} else {
					b.WriteString(`"` + Masked + `"`)
				}
				shown = depth == 1 && (name == "_dataset" || known && show(f))
			} else if shown {
				b.WriteString(lit)
			} else {
				b.WriteString(`"` + Masked + `"`)
			}
			i = end
		case c == '{' || c == '[':
			depth++
			shown = false
			b.WriteByte(c)
			i++
		case c == '}' || c == ']':
			depth--
			shown = false
			b.WriteByte(c)
			i++
		case c == ',':
			shown = false
			b.WriteByte(c)
			i++
		case c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r':
			b.WriteByte(c)
			i++
		default:
			j := i
			for j < len(preview) && !strings.ContainsRune("\"{}[],: \t\r\n", rune(preview[j])) {
				j++
			}
			tok := preview[i:j]
			if shown || tok == "true" || tok == "false" || tok == "null" {
				b.WriteString(tok)
			} else {
				b.WriteString(Masked)
			}
			i = j
		}
	}
	return b.String()
}

// stringEnd is the index just past the JSON string starting at s[i] (a '"'), or len(s) when it
// is cut short.
func stringEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// isKey reports whether what follows s[end:] (after spaces) is a colon.
func isKey(s string, end int) bool {
	for ; end < len(s); end++ {
		switch s[end] {
		case ' ', '\t', '\r', '\n':
			continue
		case ':':
			return true
		}
		return false
	}
	return false
}

var (
	quoted  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	leading = regexp.MustCompile(`^-?\d[\d.eE+-]*`)
)

// MaskDetail masks what a reject's detail says of a value, for a field that is not shown.
// shared/record's details quote a text value ("%q does not match ...") and put a number first
// ("12 is outside [0, 5]", "3 bytes, want 8 to 64"); the rest (a pattern, the bounds, the
// symbols) comes from the contract and stays.
func MaskDetail(detail string) string {
	detail = quoted.ReplaceAllString(detail, `"`+Masked+`"`)
	return leading.ReplaceAllString(detail, Masked)
}
