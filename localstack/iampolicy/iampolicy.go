// Package iampolicy evaluates IAM identity policies the way IAM does for a principal in its own
// account with no boundaries, SCPs or session policies: deny by default, an explicit Deny in
// any matching statement wins over every Allow, Action/NotAction and Resource/NotResource with
// `*` and `?` wildcards (actions compared case-insensitively, resources case-sensitively and
// segment by segment of the ARN).
//
// Conditions are evaluated for the keys a caller declares it can supply (Request.Context holds
// their values; Supported lists the keys); a statement whose condition names any other key, or
// uses an operator this package does not implement, is treated conservatively: an Allow does
// not apply and a Deny does. Such statements are reported in Result.Unevaluated so that a
// caller can log them.
package iampolicy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Values is a policy element that may be written as one string or a list of them.
type Values []string

// UnmarshalJSON accepts "x" and ["x", "y"].
func (v *Values) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*v = Values{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("iampolicy: a policy element must be a string or a list of strings, got %s", b)
	}
	*v = many
	return nil
}

// Statement is one statement of a policy document.
type Statement struct {
	Sid         string `json:",omitempty"`
	Effect      string
	Action      Values `json:",omitempty"`
	NotAction   Values `json:",omitempty"`
	Resource    Values `json:",omitempty"`
	NotResource Values `json:",omitempty"`
	// Condition maps an operator (StringEquals, ArnLike, BoolIfExists ...) to keys and values.
	Condition map[string]map[string]Values `json:",omitempty"`
}

// Policy is a policy document.
type Policy struct {
	Version   string `json:",omitempty"`
	Statement []Statement
}

// UnmarshalJSON accepts a single statement object as well as a list, as IAM does.
func (p *Policy) UnmarshalJSON(b []byte) error {
	var raw struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	p.Version = raw.Version
	p.Statement = nil
	if len(raw.Statement) == 0 {
		return nil
	}
	if raw.Statement[0] == '{' {
		var s Statement
		if err := json.Unmarshal(raw.Statement, &s); err != nil {
			return err
		}
		p.Statement = []Statement{s}
		return nil
	}
	return json.Unmarshal(raw.Statement, &p.Statement)
}

// Request is what is asked: one action on one resource, with the condition keys known.
type Request struct {
	Action   string // e.g. s3:GetObject
	Resource string // e.g. arn:aws:s3:::bucket/key
	// Context holds the values of condition keys present in the request. A key in Supported
	// but absent here is evaluated as IAM evaluates a key missing from the request context.
	Context map[string][]string
	// Supported lists the condition keys (lower case) the caller can supply; nil means
	// DefaultSupported.
	Supported []string
}

// DefaultSupported are the global condition keys an emulator can always tell.
var DefaultSupported = []string{"aws:securetransport", "aws:requestedregion", "aws:principalarn", "aws:principalaccount", "aws:principaltype"}

// Decision is the outcome of an evaluation.
type Decision int

const (
	// ImplicitDeny: no statement allows the request (the default).
	ImplicitDeny Decision = iota
	// Allow: a statement allows it and none denies it.
	Allow
	// ExplicitDeny: a Deny statement matches it.
	ExplicitDeny
)

func (d Decision) String() string {
	return [...]string{"implicit deny", "allow", "explicit deny"}[d]
}

// Result says what was decided and by which statement.
type Result struct {
	Decision Decision
	// Statement is the Deny that matched, or the first Allow that matched.
	Statement *Statement
	// Unevaluated lists why statements that matched the action and resource had a condition
	// this package could not evaluate (their Allow was not applied, their Deny was).
	Unevaluated []string
}

// Allowed reports whether the request is allowed.
func (r Result) Allowed() bool { return r.Decision == Allow }

// Evaluate decides req against the identity policies of one principal.
func Evaluate(policies []Policy, req Request) Result {
	var res Result
	var allow *Statement
	for pi := range policies {
		for si := range policies[pi].Statement {
			st := &policies[pi].Statement[si]
			if !st.matchesAction(req.Action) || !st.matchesResource(req.Resource) {
				continue
			}
			ok, why := st.conditionHolds(req)
			if why != "" {
				res.Unevaluated = append(res.Unevaluated, fmt.Sprintf("%s statement %q: %s", st.Effect, st.Sid, why))
			}
			switch {
			case strings.EqualFold(st.Effect, "Deny") && (ok || why != ""):
				res.Decision, res.Statement = ExplicitDeny, st
				return res
			case strings.EqualFold(st.Effect, "Allow") && ok && why == "" && allow == nil:
				allow = st
			}
		}
	}
	if allow != nil {
		res.Decision, res.Statement = Allow, allow
	}
	return res
}

func (st *Statement) matchesAction(action string) bool {
	if st.NotAction != nil {
		return !slices.ContainsFunc(st.NotAction, func(p string) bool { return Match(strings.ToLower(p), strings.ToLower(action)) })
	}
	return slices.ContainsFunc(st.Action, func(p string) bool { return Match(strings.ToLower(p), strings.ToLower(action)) })
}

func (st *Statement) matchesResource(resource string) bool {
	if st.NotResource != nil {
		return !slices.ContainsFunc(st.NotResource, func(p string) bool { return MatchARN(p, resource) })
	}
	return slices.ContainsFunc(st.Resource, func(p string) bool { return MatchARN(p, resource) })
}

// MatchARN matches an ARN against a Resource pattern: case-sensitive, with wildcards in any
// segment. IAM documents that a `*` ending a segment expands past the colons that separate
// segments, so the pattern is matched against the ARN as one string.
func MatchARN(pattern, arn string) bool { return Match(pattern, arn) }

// Match reports whether s matches pattern, where '*' stands for any run of characters (also
// none) and '?' for exactly one. Case-sensitive: fold both sides for actions.
func Match(pattern, s string) bool {
	// Iterative glob with one backtrack point: linear in practice, no recursion.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// conditionHolds evaluates the statement's condition block: every operator and key must hold.
// why is non-empty when some part could not be evaluated.
func (st *Statement) conditionHolds(req Request) (ok bool, why string) {
	supported := req.Supported
	if supported == nil {
		supported = DefaultSupported
	}
	ok = true
	for op, keys := range st.Condition {
		for key, want := range keys {
			lk := strings.ToLower(key)
			if !slices.Contains(supported, lk) {
				return false, fmt.Sprintf("condition key %s is not evaluated locally", key)
			}
			var got []string
			var present bool
			for k, v := range req.Context {
				if strings.EqualFold(k, key) {
					got, present = v, true
				}
			}
			holds, err := condition(op, want, got, present)
			if err != nil {
				return false, err.Error()
			}
			ok = ok && holds
		}
	}
	return ok, ""
}

// condition applies one operator to one key. Only single-valued keys and the ForAnyValue /
// ForAllValues set qualifiers over them are implemented.
func condition(op string, want []string, got []string, present bool) (bool, error) {
	base := op
	set := ""
	if q, rest, ok := strings.Cut(op, ":"); ok {
		set, base = q, rest
	}
	ifExists := strings.HasSuffix(base, "IfExists")
	base = strings.TrimSuffix(base, "IfExists")
	if base == "Null" {
		// "true" asks for the key to be absent.
		return slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(w, strconv.FormatBool(!present)) }), nil
	}
	negated := strings.Contains(base, "Not")
	if !present {
		// IAM: a missing key makes a condition false, except with IfExists, and a negated
		// operator (StringNotEquals ...) is then true; ForAllValues holds over no values.
		return ifExists || negated || set == "ForAllValues", nil
	}
	match, err := operator(base)
	if err != nil {
		return false, fmt.Errorf("condition operator %s is not evaluated locally", op)
	}
	one := func(g string) bool {
		hit := slices.ContainsFunc(want, func(w string) bool { return match(w, g) })
		return hit != negated
	}
	switch set {
	case "", "ForAnyValue":
		return slices.ContainsFunc(got, one), nil
	case "ForAllValues":
		return !slices.ContainsFunc(got, func(g string) bool { return !one(g) }), nil
	}
	return false, fmt.Errorf("condition qualifier %s is not evaluated locally", set)
}

// operator returns the comparison of a (non-negated) condition operator; negation is applied
// by the caller.
func operator(base string) (func(want, got string) bool, error) {
	switch strings.Replace(base, "Not", "", 1) {
	case "StringEquals":
		return func(w, g string) bool { return w == g }, nil
	case "StringEqualsIgnoreCase":
		return strings.EqualFold, nil
	case "StringLike":
		return Match, nil
	case "ArnEquals", "ArnLike":
		return MatchARN, nil
	case "Bool":
		return strings.EqualFold, nil
	case "NumericEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals":
		cmp := strings.Replace(base, "Not", "", 1)
		return func(w, g string) bool {
			wf, err1 := strconv.ParseFloat(w, 64)
			gf, err2 := strconv.ParseFloat(g, 64)
			if err1 != nil || err2 != nil {
				return false
			}
			switch cmp {
			case "NumericEquals":
				return gf == wf
			case "NumericLessThan":
				return gf < wf
			case "NumericLessThanEquals":
				return gf <= wf
			case "NumericGreaterThan":
				return gf > wf
			}
			return gf >= wf
		}, nil
	}
	return nil, fmt.Errorf("unknown operator %s", base)
}
