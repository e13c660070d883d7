package iampolicy

import (
	"encoding/json"
	"testing"
)

func policy(t *testing.T, doc string) Policy {
	t.Helper()
	var p Policy
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	return p
}

// The cases follow IAM's documentation of policy evaluation logic (deny by default, explicit
// deny wins), of the policy elements (NotAction, NotResource, wildcards in ARNs) and of the
// condition operators (missing keys, IfExists, negated operators, Null).
func TestEvaluate(t *testing.T) {
	get := `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`
	cases := []struct {
		name     string
		policies []string
		req      Request
		want     Decision
		uneval   bool
	}{
		{"no policy denies by default", nil, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, ImplicitDeny, false},
		{"an allow applies", []string{get}, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, Allow, false},
		{"actions are case-insensitive", []string{`{"Statement":[{"Effect":"Allow","Action":["S3:getobject"],"Resource":"*"}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, Allow, false},
		{"resources are case-sensitive", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::B/*"}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, ImplicitDeny, false},
		{"another action is not allowed", []string{get}, Request{Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k"}, ImplicitDeny, false},
		{"an object grant does not cover the bucket", []string{get}, Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b"}, ImplicitDeny, false},
		{"a bucket grant does not cover its objects", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b"}]}`},
			Request{Action: "s3:ListBucket", Resource: "arn:aws:s3:::b/k"}, ImplicitDeny, false},
		{"an explicit deny in another policy wins", []string{get, `{"Statement":[{"Effect":"Deny","Action":"s3:Get*","Resource":"arn:aws:s3:::b/secret/*"}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/secret/x"}, ExplicitDeny, false},
		{"the deny does not reach other keys", []string{get, `{"Statement":[{"Effect":"Deny","Action":"s3:Get*","Resource":"arn:aws:s3:::b/secret/*"}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/public/x"}, Allow, false},
		{"action prefix wildcard", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`},
			Request{Action: "s3:GetObjectVersion", Resource: "arn:aws:s3:::b/k"}, Allow, false},
		{"action prefix wildcard stops at its prefix", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]}`},
			Request{Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k"}, ImplicitDeny, false},
		{"? matches one character", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/file?.txt"}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/file1.txt"}, Allow, false},
		{"? matches exactly one", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/file?.txt"}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/file10.txt"}, ImplicitDeny, false},
		{"* in the resource part spans slashes", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/landing/*"}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/landing/ds/f.json"}, Allow, false},
		{"a wildcard in the region segment", []string{`{"Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"arn:aws:kinesis:*:111122223333:stream/*"}]}`},
			Request{Action: "kinesis:GetRecords", Resource: "arn:aws:kinesis:us-west-2:111122223333:stream/s"}, Allow, false},
		{"a * ending a segment expands past its colons", []string{`{"Statement":[{"Effect":"Allow","Action":"kinesis:*","Resource":"arn:aws:kinesis:*:stream/s"}]}`},
			Request{Action: "kinesis:GetRecords", Resource: "arn:aws:kinesis:us-west-2:111122223333:stream/s"}, Allow, false},
		{"a wildcard ARN still names its service", []string{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:kinesis:*"}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, ImplicitDeny, false},
		{"NotAction allows everything else", []string{`{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`},
			Request{Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k"}, Allow, false},
		{"NotAction does not allow what it names", []string{`{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`},
			Request{Action: "iam:CreateUser", Resource: "arn:aws:iam::111122223333:user/u"}, ImplicitDeny, false},
		{"Deny with NotResource denies outside it", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::other/k"}, ExplicitDeny, false},
		{"Deny with NotResource leaves it alone", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, Allow, false},
		{"condition holds", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":["home/*"]}}}]}`},
			Request{Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", Context: map[string][]string{"s3:prefix": {"home/x"}}, Supported: []string{"s3:prefix"}}, Allow, false},
		{"condition fails", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":["home/*"]}}}]}`},
			Request{Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", Context: map[string][]string{"s3:prefix": {"etc/"}}, Supported: []string{"s3:prefix"}}, ImplicitDeny, false},
		{"a missing key fails a condition", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLike":{"s3:prefix":["home/*"]}}}]}`},
			Request{Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", Supported: []string{"s3:prefix"}}, ImplicitDeny, false},
		{"IfExists holds for a missing key", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::b","Condition":{"StringLikeIfExists":{"s3:prefix":["home/*"]}}}]}`},
			Request{Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", Supported: []string{"s3:prefix"}}, Allow, false},
		{"a negated operator holds for a missing key", []string{`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, ExplicitDeny, false},
		{"ForAllValues holds for a missing key", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"ForAllValues:StringLike":{"s3:prefix":["home/*"]}}}]}`},
			Request{Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", Supported: []string{"s3:prefix"}}, Allow, false},
		{"ForAnyValue fails for a missing key", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"ForAnyValue:StringLike":{"s3:prefix":["home/*"]}}}]}`},
			Request{Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", Supported: []string{"s3:prefix"}}, ImplicitDeny, false},
		{"Null asks for absence", []string{`{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Null":{"aws:PrincipalArn":"true"}}},{"Effect":"Allow","Action":"*","Resource":"*"}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::1:role/r"}}}, Allow, false},
		{"a Bool deny of plain HTTP does not apply over TLS", []string{get, `{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: map[string][]string{"aws:SecureTransport": {"true"}}}, Allow, false},
		{"an Allow with a condition on an unknown key does not apply", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, ImplicitDeny, true},
		{"a Deny with a condition on an unknown key applies", []string{get, `{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}, ExplicitDeny, true},
		{"an unknown operator is not guessed", []string{`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:PrincipalArn":"10.0.0.0/8"}}}]}`},
			Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: map[string][]string{"aws:PrincipalArn": {"x"}}}, ImplicitDeny, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ps []Policy
			for _, d := range c.policies {
				ps = append(ps, policy(t, d))
			}
			res := Evaluate(ps, c.req)
			if res.Decision != c.want {
				t.Errorf("%s on %s: %v, want %v", c.req.Action, c.req.Resource, res.Decision, c.want)
			}
			if (len(res.Unevaluated) > 0) != c.uneval {
				t.Errorf("unevaluated %q, want some: %v", res.Unevaluated, c.uneval)
			}
			if c.want != ImplicitDeny && res.Statement == nil {
				t.Errorf("no deciding statement reported")
			}
		})
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"", "", true}, {"", "a", false}, {"a*", "a", true}, {"a*c", "abbbc", true},
		{"a*c", "abbbd", false}, {"*b*", "abc", true}, {"a?c", "abc", true}, {"a?c", "ac", false},
		{"**", "x", true}, {"a*b*c", "aXbYbZc", true}, {"lineage/*", "lineage/x/y", true}, {"lineage/*", "lineag", false},
	} {
		if got := Match(c.p, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}
