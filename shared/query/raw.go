package query

import (
	"slices"
	"strings"
	"unicode"

	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/zone"
)

// Keywords that have no place in a read-only query over the lake's tables. A raw query that
// contains any of them as a word (outside string literals) is refused.
var forbidden = []string{"insert", "update", "delete", "merge", "drop", "create", "alter", "grant",
	"revoke", "call", "execute", "prepare", "deallocate", "unload", "msck", "show", "describe",
	"use", "set", "reset", "start", "commit", "rollback", "vacuum", "optimize", "explain", "analyze",
	"copy", "attach", "detach", "install", "load", "pragma", "export", "import", "truncate"}

// compileRaw checks caller-written SQL: one SELECT (or WITH ... SELECT) statement whose every
// FROM/JOIN source is one of the lake's tables, unqualified. It is deliberately narrow: it
// refuses what it cannot vouch for rather than trying to understand all of SQL.
func (c *Compiler) compileRaw(r *Request) (*Query, error) {
	if !c.RawSQL {
		return nil, invalid("sql", "raw SQL is disabled on this deployment: use the structured fields (dataset, columns, where, group_by, ...)")
	}
	if r.Dataset != "" || r.Zone != "" || r.Columns != nil || r.Where != nil || r.DT != nil || r.HR != nil ||
		r.GroupBy != nil || r.Aggregates != nil || r.OrderBy != nil || r.Limit != 0 {
		return nil, invalid("sql", "give either sql alone or the structured fields, not both")
	}
	if r.AsOf != nil {
		return nil, invalid("as_of", "give as_of with a structured query; in raw SQL write FOR VERSION AS OF <snapshot id> after the table")
	}
	if len(r.SQL) > maxSQLLen {
		return nil, invalid("sql", "at most %d bytes", maxSQLLen)
	}
	toks, err := tokenize(r.SQL)
	if err != nil {
		return nil, err
	}
	// One trailing semicolon is harmless; any other ends a statement and starts another.
	if n := len(toks); n > 0 && toks[n-1].text == ";" {
		toks = toks[:n-1]
	}
	if len(toks) == 0 || (toks[0].word != "select" && toks[0].word != "with") {
		return nil, invalid("sql", "only a SELECT (or WITH ... SELECT) query is allowed")
	}
	ctes := map[string]bool{}
	depth, prelude := 0, false // prelude: inside WITH, before the main SELECT
	q := &Query{Raw: true, SQL: strings.TrimSpace(r.SQL)}
	for i, t := range toks {
		switch t.text {
		case "(":
			depth++
		case ")":
			depth--
		}
		if depth == 0 && t.word == "select" {
			prelude = false
		}
		switch {
		case t.text == ";":
			return nil, invalid("sql", "one statement only: remove the ';' at offset %d", t.pos)
		case slices.Contains(forbidden, t.word):
			return nil, invalid("sql", "%q is not allowed: raw SQL may only read the lake's tables", strings.ToUpper(t.word))
		case t.word == "with" || (prelude && depth == 0 && t.text == ","):
			// WITH name AS (...), name2 AS (...): remember the names a FROM may use.
			prelude = true
			if i+1 < len(toks) && toks[i+1].ident != "" {
				ctes[toks[i+1].ident] = true
			}
		case t.word == "from" || t.word == "join":
			if i+1 >= len(toks) {
				return nil, invalid("sql", "%s at the end of the query", strings.ToUpper(t.word))
			}
			next := toks[i+1]
			if next.text == "(" {
				continue // a subquery: its own FROM is checked in turn
			}
			if next.ident == "" {
				return nil, invalid("sql", "after %s at offset %d name a table (<zone>_<dataset>)", strings.ToUpper(t.word), next.pos)
			}
			if i+2 < len(toks) && (toks[i+2].text == "." || toks[i+2].text == "(") {
				return nil, invalid("sql", "%q: only the lake's own tables, unqualified, may be read", next.ident)
			}
			if ctes[next.ident] {
				continue
			}
			z, ds, ok := c.splitTable(next.ident)
			if !ok {
				return nil, invalid("sql", "unknown table %q: tables are lineage_lineage and <zone>_<dataset> with zone curated, cleansed or raw and dataset one of %s", clip(next.ident), c.datasetNames())
			}
			if q.Dataset == "" {
				q.Dataset, q.Zone = ds, z
			}
			if name := TableName(z, ds); !slices.Contains(q.Tables, name) {
				q.Tables = append(q.Tables, name)
			}
		}
	}
	if len(q.Tables) == 0 {
		return nil, invalid("sql", "the query reads no table: select FROM <zone>_<dataset>")
	}
	return q, nil
}

func (c *Compiler) splitTable(name string) (zone.Zone, string, bool) {
	if name == TableName(table.Zone, table.Dataset) {
		return table.Zone, table.Dataset, true
	}
	if name == TableName(audit.Zone, audit.Dataset) {
		return audit.Zone, audit.Dataset, true
	}
	for _, z := range queryable {
		if ds, ok := strings.CutPrefix(name, string(z)+"_"); ok {
			if _, known := c.Contracts[ds]; known && ds != table.Dataset {
				return z, ds, true
			}
		}
	}
	return "", "", false
}

type token struct {
	text  string // the token as written
	word  string // lower-cased, for unquoted words
	ident string // the identifier named (quoted or not), lower-cased if unquoted
	pos   int
}

// tokenize splits SQL into words, quoted identifiers, string literals (dropped: their content
// is data) and punctuation. Comments are refused: they can hide a statement from a reader.
func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		ch := rune(s[i])
		switch {
		case unicode.IsSpace(ch):
			i++
		case strings.HasPrefix(s[i:], "--") || strings.HasPrefix(s[i:], "/*"):
			return nil, invalid("sql", "comments are not allowed (offset %d)", i)
		case ch == '\'':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						j++
						continue
					}
					break
				}
			}
			if j >= len(s) {
				return nil, invalid("sql", "unterminated string literal at offset %d", i)
			}
			out = append(out, token{text: "'…'", pos: i})
			i = j + 1
		case ch == '"' || ch == '`':
			j := i + 1
			var b strings.Builder
			for ; j < len(s); j++ {
				if rune(s[j]) == ch {
					if j+1 < len(s) && rune(s[j+1]) == ch {
						b.WriteByte(s[j])
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, invalid("sql", "unterminated quoted identifier at offset %d", i)
			}
			out = append(out, token{text: s[i : j+1], ident: b.String(), pos: i})
			i = j + 1
		case ch == '_' || unicode.IsLetter(ch):
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '$' || unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j]))) {
				j++
			}
			w := strings.ToLower(s[i:j])
			out = append(out, token{text: s[i:j], word: w, ident: w, pos: i})
			i = j
		case ch >= 0x80:
			return nil, invalid("sql", "non-ASCII character at offset %d outside a string literal", i)
		default:
			out = append(out, token{text: string(ch), pos: i})
			i++
		}
	}
	return out, nil
}
