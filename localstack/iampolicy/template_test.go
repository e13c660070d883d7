package iampolicy

import (
	"slices"
	"strings"
	"testing"
)

func TestLoadTemplate(t *testing.T) {
	tpl, err := LoadTemplate("testdata/template.json", Locals{Env: map[string]string{"SLUICE_RAW_BUCKET": "raw", "SLUICE_STREAM_NAME": "events"}, Region: "eu-west-1", Account: "111122223333"})
	if err != nil {
		t.Fatal(err)
	}
	if fns := tpl.Functions(); !slices.Equal(fns, []string{"ingest"}) {
		t.Fatalf("functions %v, want [ingest] (a role without a function is nobody's)", fns)
	}
	if tpl.RoleNames["ingest"] != "IngestRole" {
		t.Errorf("role name %q", tpl.RoleNames["ingest"])
	}
	if !slices.Equal(tpl.KMSBuckets, []string{"raw"}) {
		t.Errorf("SSE-KMS buckets %v, want [raw]", tpl.KMSBuckets)
	}
	if len(tpl.Notes) != 1 || !strings.Contains(tpl.Notes[0], "AWSLambdaBasicExecutionRole") {
		t.Errorf("notes %q, want the managed policy that grants nothing locally", tpl.Notes)
	}
	ps := tpl.Policies["ingest"]
	for _, c := range []struct {
		action, resource string
		want             Decision
	}{
		{"s3:PutObject", "arn:aws:s3:::raw/landing/x", Allow},
		{"s3:DeleteObject", "arn:aws:s3:::raw/landing/x", Allow},
		{"s3:DeleteObject", "arn:aws:s3:::raw/keep/x", ExplicitDeny}, // the role's inline policy, through Fn::Sub
		{"s3:GetObject", "arn:aws:s3:::raw/landing/x", ImplicitDeny},
		{"s3:ListBucket", "arn:aws:s3:::raw", Allow},
		{"s3:PutObject", "arn:aws:s3:::rawbucket/x", ImplicitDeny},
		{"kinesis:GetRecords", "arn:aws:kinesis:eu-west-1:111122223333:stream/events", Allow},
		{"kms:Decrypt", "arn:aws:kms:eu-west-1:111122223333:key/LakeKey", Allow},
		{"logs:PutLogEvents", "arn:aws:logs:eu-west-1:111122223333:log-group:ingestlogs:log-stream:s", Allow},
	} {
		if got := Evaluate(ps, Request{Action: c.action, Resource: c.resource}).Decision; got != c.want {
			t.Errorf("%s on %s: %v, want %v", c.action, c.resource, got, c.want)
		}
	}
}

func TestLoadTemplateErrors(t *testing.T) {
	if _, err := LoadTemplate("testdata/missing.json", Locals{}); err == nil || !strings.Contains(err.Error(), "make synth") {
		t.Errorf("a missing template: %v, want a hint to make synth", err)
	}
}
