package contract

import (
	"regexp"
	"regexp/syntax"
	"unicode/utf8"
)

// Matcher tests a string against a field's pattern. Patterns in contracts are mostly anchored
// runs of character classes (ids, codes, uuids); those are matched by a small loop that is many
// times faster than the regexp engine, which remains for everything else.
type Matcher struct {
	re    *regexp.Regexp
	steps []step // nil: use re
	open  bool   // not anchored at the end: anything may follow
}

// step is one character class repeated min to max times (max -1: unbounded).
type step struct {
	ranges   []rune // pairs of inclusive bounds, as regexp/syntax gives them
	min, max int
}

// String is the pattern's source.
func (m *Matcher) String() string { return m.re.String() }

// Match reports whether b matches.
func (m *Matcher) Match(b []byte) bool {
	if m.steps == nil {
		return m.re.Match(b)
	}
	i := 0
	for _, st := range m.steps {
		n := 0
		for (st.max < 0 || n < st.max) && i < len(b) {
			r, size := rune(b[i]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRune(b[i:])
			}
			if !st.has(r) {
				break
			}
			i += size
			n++
		}
		if n < st.min {
			return false
		}
	}
	return m.open || i == len(b)
}

func (s step) has(r rune) bool {
	for j := 0; j+1 < len(s.ranges); j += 2 {
		if r >= s.ranges[j] && r <= s.ranges[j+1] {
			return true
		}
	}
	return false
}

// compileMatcher compiles a pattern, choosing the fast path when the pattern is ^ followed by
// character classes or literals, each optionally repeated, and optionally $. The fast path is
// only taken where greedy matching without backtracking is exact: adjacent steps must not
// share characters.
func compileMatcher(pattern string) (*Matcher, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	m := &Matcher{re: re}
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil || tree.Op != syntax.OpConcat || len(tree.Sub) == 0 || tree.Sub[0].Op != syntax.OpBeginText {
		return m, nil
	}
	subs := tree.Sub[1:]
	m.open = true
	if n := len(subs); n > 0 && subs[n-1].Op == syntax.OpEndText {
		subs, m.open = subs[:n-1], false
	}
	var steps []step
	for _, s := range subs {
		st, ok := toSteps(s)
		if !ok {
			return m, nil
		}
		steps = append(steps, st...)
	}
	for i := 1; i < len(steps); i++ {
		if steps[i-1].min != steps[i-1].max && overlaps(steps[i-1], steps[i]) {
			return m, nil // greedy could take what the next step needs
		}
	}
	m.steps = steps
	return m, nil
}

func toSteps(s *syntax.Regexp) ([]step, bool) {
	switch s.Op {
	case syntax.OpLiteral:
		if s.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		var out []step
		for _, r := range s.Rune {
			out = append(out, step{ranges: []rune{r, r}, min: 1, max: 1})
		}
		return out, true
	case syntax.OpCharClass:
		return []step{{ranges: s.Rune, min: 1, max: 1}}, true
	case syntax.OpRepeat, syntax.OpPlus, syntax.OpStar, syntax.OpQuest:
		inner := s.Sub[0]
		if inner.Op != syntax.OpCharClass && !(inner.Op == syntax.OpLiteral && len(inner.Rune) == 1 && inner.Flags&syntax.FoldCase == 0) {
			return nil, false
		}
		ranges := inner.Rune
		if inner.Op == syntax.OpLiteral {
			ranges = []rune{inner.Rune[0], inner.Rune[0]}
		}
		lo, hi := s.Min, s.Max
		switch s.Op {
		case syntax.OpPlus:
			lo, hi = 1, -1
		case syntax.OpStar:
			lo, hi = 0, -1
		case syntax.OpQuest:
			lo, hi = 0, 1
		}
		return []step{{ranges: ranges, min: lo, max: hi}}, true
	}
	return nil, false
}

func overlaps(a, b step) bool {
	for i := 0; i+1 < len(a.ranges); i += 2 {
		for j := 0; j+1 < len(b.ranges); j += 2 {
			if a.ranges[i] <= b.ranges[j+1] && b.ranges[j] <= a.ranges[i+1] {
				return true
			}
		}
	}
	return false
}

// MatchString reports whether s matches.
func (m *Matcher) MatchString(s string) bool { return m.Match([]byte(s)) }
