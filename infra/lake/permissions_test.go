package lake_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sluicelake/sluice/infra/lake"
)

// statement is one Allow statement of a role's policies.
type statement struct {
	actions   []string
	resources []interface{}
}

// roleStatements gathers the Allow statements of every AWS::IAM::Policy, by role construct.
func (s *synthesized) roleStatements() map[string][]statement {
	out := map[string][]statement{}
	for _, p := range s.resources("AWS::IAM::Policy") {
		roles := map[string]bool{}
		refs(prop(p, "Roles"), roles, nil)
		for _, st := range prop(p, "PolicyDocument", "Statement").([]interface{}) {
			stm := st.(map[string]interface{})
			if stm["Effect"] != "Allow" {
				continue
			}
			res, ok := stm["Resource"].([]interface{})
			if !ok {
				res = []interface{}{stm["Resource"]}
			}
			for role := range roles {
				out[role] = append(out[role], statement{actions: strs(stm["Action"]), resources: res})
			}
		}
	}
	return out
}

// s3Resource reads a resource as a bucket of the stack: its ARN (Fn::GetAtt [Bucket, Arn]) or
// its objects (Fn::Join of that ARN and "/<prefix>*"), and the object pattern.
func s3Resource(v interface{}) (bucket, objects string, ok bool) {
	m, isMap := v.(map[string]interface{})
	if !isMap {
		return "", "", false
	}
	if g, ok := m["Fn::GetAtt"].([]interface{}); ok && g[1] == "Arn" && strings.Contains(g[0].(string), "Bucket") {
		return construct(g[0].(string)), "", true
	}
	if j, ok := m["Fn::Join"].([]interface{}); ok {
		parts := j[1].([]interface{})
		if len(parts) == 2 {
			if b, _, ok := s3Resource(parts[0]); ok {
				if tail, isStr := parts[1].(string); isStr && strings.HasPrefix(tail, "/") {
					return b, tail, true
				}
			}
		}
	}
	return "", "", false
}

// S3 actions on a bucket rather than its objects: their resource must be the bucket's ARN.
var bucketActions = []string{"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation"}

// access is what one role may do in S3: by action, the buckets it may do it to (bucket ARNs for
// bucket actions, "<bucket><pattern>" for object actions).
func s3Access(stmts []statement) map[string][]string {
	out := map[string][]string{}
	for _, st := range stmts {
		for _, a := range st.actions {
			if !strings.HasPrefix(a, "s3:") {
				continue
			}
			for _, r := range st.resources {
				b, objects, ok := s3Resource(r)
				if !ok {
					continue
				}
				bucketLevel := slices.Contains(bucketActions, a)
				if bucketLevel == (objects == "") {
					out[a] = append(out[a], b+objects)
				}
			}
		}
	}
	for a := range out {
		sort.Strings(out[a])
		out[a] = slices.Compact(out[a])
	}
	return out
}

func bucketsOf(grants []string) []string {
	var out []string
	for _, g := range grants {
		b, _, _ := strings.Cut(g, "/")
		out = append(out, b)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// On AWS, a read of a missing key answers 404 only to a caller that may list the bucket, and
// 403 AccessDenied to one that may not: a function could not tell an object that is gone (a
// lock promote removed, files compaction merged, a cut-back batch, a deleted drop) from a
// permission it lacks. Every role that reads objects may list their buckets.
func TestObjectReadersMayListTheirBuckets(t *testing.T) {
	s := defaultSynth(t)
	for role, stmts := range s.roleStatements() {
		acc := s3Access(stmts)
		read := bucketsOf(append(slices.Clone(acc["s3:GetObject"]), acc["s3:GetObjectVersion"]...))
		for _, b := range read {
			if !slices.Contains(acc["s3:ListBucket"], b) {
				t.Errorf("%s reads objects of %s but may not s3:ListBucket on it: a missing key would answer 403, not 404", role, b)
			}
		}
	}
	lineage := s3Access(s.roleStatements()["LineageRole"])
	if got, want := acc(lineage, "s3:ListBucket"), []string{"CleansedBucket", "ConsumptionBucket", "CuratedBucket", "QuarantineBucket", "RawBucket"}; !slices.Equal(got, want) {
		t.Errorf("lineage may list %v, want exactly the zones it reads %v", got, want)
	}
	validate := s3Access(s.roleStatements()["ValidateRole"])
	if got := acc(validate, "s3:ListBucket"); !slices.Equal(got, []string{"RawBucket"}) {
		t.Errorf("validate may list %v, want exactly [RawBucket]", got)
	}
}

func acc(a map[string][]string, action string) []string { return a[action] }

// Every S3 grant names the kind of resource its action works on, and no grant is a wildcard.
func TestS3GrantsNameTheRightResources(t *testing.T) {
	s := defaultSynth(t)
	for role, stmts := range s.roleStatements() {
		for _, st := range stmts {
			var bucketARN, objectARN bool
			for _, r := range st.resources {
				if _, objects, ok := s3Resource(r); ok {
					if objects == "" {
						bucketARN = true
					} else {
						objectARN = true
					}
				}
			}
			for _, a := range st.actions {
				if a == "*" || a == "s3:*" || (strings.HasPrefix(a, "s3:") && strings.Contains(a, "*")) {
					t.Errorf("%s is granted %s", role, a)
				}
				if !strings.HasPrefix(a, "s3:") || (!bucketARN && !objectARN) {
					continue
				}
				if slices.Contains(bucketActions, a) && !bucketARN {
					t.Errorf("%s: %s is a bucket action but its statement names only object ARNs %s", role, a, toJSON(st.resources))
				}
				if !slices.Contains(bucketActions, a) && !objectARN {
					t.Errorf("%s: %s is an object action but its statement names only bucket ARNs %s", role, a, toJSON(st.resources))
				}
			}
		}
	}
}

// POST /erase rewrites and deletes objects and deletes the versions holding a key in the four
// zone buckets and nowhere else: never the audit trail nor lineage.
func TestQueryMayEraseTheZonesOnly(t *testing.T) {
	s := defaultSynth(t)
	q := s3Access(s.roleStatements()["QueryRole"])
	zones := []string{"CleansedBucket", "CuratedBucket", "QuarantineBucket", "RawBucket"}
	for _, a := range []string{"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObjectVersion"} {
		if got := bucketsOf(q[a]); !slices.Equal(got, zones) {
			t.Errorf("query may %s in %v, want exactly the zones %v", a, got, zones)
		}
	}
	if got := acc(q, "s3:ListBucketVersions"); !slices.Equal(got, zones) {
		t.Errorf("query may list the versions of %v, want exactly the zones %v", got, zones)
	}
}

// Lineage and validate read the version of the object the event names.
func TestEventReadersMayReadTheVersionTheEventNames(t *testing.T) {
	s := defaultSynth(t)
	all := s.roleStatements()
	for role, want := range map[string][]string{
		"LineageRole":  {"CleansedBucket/*", "ConsumptionBucket/*", "CuratedBucket/*", "QuarantineBucket/*", "RawBucket/*"},
		"ValidateRole": {"RawBucket/landing/*"},
	} {
		a := s3Access(all[role])
		if !slices.Equal(a["s3:GetObject"], want) || !slices.Equal(a["s3:GetObjectVersion"], want) {
			t.Errorf("%s: s3:GetObject on %v, s3:GetObjectVersion on %v; want both on %v", role, a["s3:GetObject"], a["s3:GetObjectVersion"], want)
		}
	}
}

// Tracing.ACTIVE records segments through the function's role: without these two actions the
// traces are dropped silently.
func TestTracedFunctionsMayWriteTraces(t *testing.T) {
	s := defaultSynth(t)
	all := s.roleStatements()
	for _, name := range lake.Functions {
		f := s.one(t, "AWS::Lambda::Function", lake.FunctionLogicalID(name))
		if prop(f, "TracingConfig", "Mode") != "Active" {
			continue
		}
		role := capitalizeName(name) + "Role"
		var got []string
		for _, st := range all[role] {
			for _, a := range st.actions {
				if strings.HasPrefix(a, "xray:") && slices.Contains(st.resources, interface{}("*")) {
					got = append(got, a)
				}
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}) {
			t.Errorf("%s traces actively but its role may %v, want xray:PutTelemetryRecords and xray:PutTraceSegments on *", name, got)
		}
	}
}

// policyStatements lists the statements of every resource policy of a type, by logical id.
func (s *synthesized) policyStatements(typ, doc string) map[string][]map[string]interface{} {
	out := map[string][]map[string]interface{}{}
	for id, r := range s.resources(typ) {
		d, _ := prop(r, doc).(map[string]interface{})
		if d == nil {
			continue
		}
		for _, st := range d["Statement"].([]interface{}) {
			out[construct(id)] = append(out[construct(id)], st.(map[string]interface{}))
		}
	}
	return out
}

// sourceConditions lists the aws:SourceArn / aws:SourceAccount keys of a statement's conditions.
func sourceConditions(stm map[string]interface{}) []string {
	var keys []string
	cond, _ := stm["Condition"].(map[string]interface{})
	for op, kv := range cond {
		for k := range kv.(map[string]interface{}) {
			if k == "aws:SourceArn" || k == "aws:SourceAccount" {
				keys = append(keys, op+":"+k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func servicePrincipal(stm map[string]interface{}) string {
	p, _ := stm["Principal"].(map[string]interface{})
	svc, _ := p["Service"].(string)
	return svc
}

// A service principal acts for any account that names the resource: every resource policy
// statement that admits one says for whom (the confused-deputy guard), so no rule of another
// account can inject events into a work queue or use the lake key.
func TestServicePrincipalsAreScopedToTheirSource(t *testing.T) {
	s := defaultSynth(t)
	n := 0
	for _, kind := range []struct{ typ, doc string }{
		{"AWS::SQS::QueuePolicy", "PolicyDocument"}, {"AWS::SNS::TopicPolicy", "PolicyDocument"},
		{"AWS::S3::BucketPolicy", "PolicyDocument"}, {"AWS::KMS::Key", "KeyPolicy"},
	} {
		for id, stmts := range s.policyStatements(kind.typ, kind.doc) {
			for _, stm := range stmts {
				svc := servicePrincipal(stm)
				if stm["Effect"] != "Allow" || svc == "" {
					continue
				}
				n++
				if len(sourceConditions(stm)) == 0 {
					t.Errorf("%s admits %s to %v with no aws:SourceArn or aws:SourceAccount condition: %s", id, svc, stm["Action"], toJSON(stm["Condition"]))
				}
			}
		}
	}
	// The work queues, the DLQs, the topic, the access logs bucket and the key all admit one.
	if n < 10 {
		t.Errorf("only %d service principal statements found: the test no longer sees the policies", n)
	}
	// EventBridge may send to each work queue, from this account only.
	for _, fn := range []string{"Validate", "Promote", "Lineage"} {
		found := false
		for _, stm := range s.policyStatements("AWS::SQS::QueuePolicy", "PolicyDocument")[fn+"QueuePolicy"] {
			if stm["Effect"] == "Allow" && servicePrincipal(stm) == "events.amazonaws.com" && slices.Contains(strs(stm["Action"]), "sqs:SendMessage") {
				found = true
				if !strings.Contains(toJSON(stm["Condition"]), `"aws:SourceAccount":{"Ref":"AWS::AccountId"}`) {
					t.Errorf("%sQueue: EventBridge may send with condition %s, want aws:SourceAccount = this account", fn, toJSON(stm["Condition"]))
				}
			}
		}
		if !found {
			t.Errorf("%sQueue: EventBridge may not send to it", fn)
		}
		// ... and for its own rule only (the grant cannot name the rule: see triggers.go).
		denied := false
		for _, stm := range s.policyStatements("AWS::SQS::QueuePolicy", "PolicyDocument")[fn+"QueuePolicy"] {
			cond, _ := stm["Condition"].(map[string]interface{})
			ids := map[string]bool{}
			refs(cond["ArnNotEquals"], ids, nil)
			if stm["Effect"] == "Deny" && servicePrincipal(stm) == "events.amazonaws.com" && ids[fn+"Rule"] &&
				slices.Contains(strs(stm["Action"]), "sqs:SendMessage") && len(cond) == 1 {
				denied = true
			}
		}
		if !denied {
			t.Errorf("%sQueue: EventBridge is not denied sending for rules other than %sRule", fn, fn)
		}
	}
}

// enforceSSL gives the topic a policy that replaces SNS's default one: CloudWatch must be
// allowed to publish in it, and to use the key the topic is encrypted with.
func TestAlarmTopicAdmitsCloudWatch(t *testing.T) {
	s := defaultSynth(t)
	var topicPolicy []map[string]interface{}
	for id, stmts := range s.policyStatements("AWS::SNS::TopicPolicy", "PolicyDocument") {
		if strings.HasPrefix(id, "AlarmTopicPolicy") {
			topicPolicy = stmts
		}
	}
	alarms := func(stm map[string]interface{}) error {
		c := toJSON(stm["Condition"])
		if !slices.Equal(sourceConditions(stm), []string{"ArnLike:aws:SourceArn", "StringEquals:aws:SourceAccount"}) ||
			!strings.Contains(c, `:cloudwatch:`) || !strings.Contains(c, `:alarm:*`) {
			return fmt.Errorf("condition %s, want aws:SourceAccount = this account and aws:SourceArn like arn:<partition>:cloudwatch:<region>:<account>:alarm:*", c)
		}
		return nil
	}
	published := false
	for _, stm := range topicPolicy {
		if stm["Effect"] == "Allow" && servicePrincipal(stm) == "cloudwatch.amazonaws.com" && slices.Equal(strs(stm["Action"]), []string{"sns:Publish"}) {
			published = true
			if err := alarms(stm); err != nil {
				t.Errorf("alarm topic policy: %v", err)
			}
			ids := map[string]bool{}
			refs(stm["Resource"], ids, nil)
			if !ids["AlarmTopic"] {
				t.Errorf("CloudWatch may publish to %s, want the alarm topic", toJSON(stm["Resource"]))
			}
		}
	}
	if !published {
		t.Errorf("the alarm topic's policy does not let cloudwatch.amazonaws.com sns:Publish: no alarm e-mail would arrive. Policy: %s", toJSON(topicPolicy))
	}
	keyed := false
	for _, stm := range s.policyStatements("AWS::KMS::Key", "KeyPolicy")["LakeKey"] {
		if servicePrincipal(stm) == "cloudwatch.amazonaws.com" {
			keyed = true
			got := strs(stm["Action"])
			sort.Strings(got)
			if !slices.Equal(got, []string{"kms:Decrypt", "kms:GenerateDataKey"}) {
				t.Errorf("CloudWatch may %v with the lake key, want kms:Decrypt and kms:GenerateDataKey", got)
			}
			if err := alarms(stm); err != nil {
				t.Errorf("lake key policy: %v", err)
			}
		}
	}
	if !keyed {
		t.Error("CloudWatch may not use the lake key: it cannot publish into the encrypted topic")
	}
}

// Deleting the stack deletes the stream (transient records, billed by the hour) and keeps the
// lake's data and the key it is encrypted with.
func TestDestroyRemovesTheStreamAndKeepsTheData(t *testing.T) {
	s := defaultSynth(t)
	for id, r := range s.json["Resources"].(map[string]interface{}) {
		rm := r.(map[string]interface{})
		policy, _ := rm["DeletionPolicy"].(string)
		switch rm["Type"] {
		case "AWS::Kinesis::Stream":
			if policy != "" && policy != "Delete" {
				t.Errorf("%s: DeletionPolicy %s, want Delete (a retained stream keeps billing)", id, policy)
			}
		case "AWS::S3::Bucket", "AWS::KMS::Key", "AWS::SecretsManager::Secret":
			if policy != "Retain" {
				t.Errorf("%s: DeletionPolicy %q, want Retain", id, policy)
			}
		}
	}
}

var (
	tunedOnce sync.Once
	tunedLake *synthesized
)

// tuned is the lake with the settings this file's tests change from cdk.json's.
var tunedContext = map[string]interface{}{
	"promoteMaxConcurrency": "10",
	"projectionStart":       "2025-06-01",
	"producerPrincipals":    "arn:aws:iam::111122223333:role/collector, arn:aws:iam::111122223333:role/backfill",
}

func tunedSynth(t *testing.T) *synthesized {
	t.Helper()
	tunedOnce.Do(func() { tunedLake = synth(t, shipped(t), tunedContext) })
	if tunedLake == nil {
		t.Fatal("the tuned synth failed (see the first failing test)")
	}
	return tunedLake
}

func promoteMapping(t *testing.T, s *synthesized) map[string]interface{} {
	t.Helper()
	for _, m := range s.resources("AWS::Lambda::EventSourceMapping") {
		ids := map[string]bool{}
		refs(prop(m, "FunctionName"), ids, nil)
		if ids["PromoteFunction"] {
			return m
		}
	}
	t.Fatal("no event source mapping for promote")
	return nil
}

// Promotions of a partition take turns on its lock: promote's trigger runs a few at a time, and
// its queue gives a message that lost the lock to each of them its usual retries on top.
func TestPromoteConcurrencyLeavesRoomToWait(t *testing.T) {
	for _, c := range []struct {
		name        string
		s           func(*testing.T) *synthesized
		concurrency int
	}{{"default", defaultSynth, 2}, {"promoteMaxConcurrency=10", tunedSynth, 10}} {
		t.Run(c.name, func(t *testing.T) {
			s := c.s(t)
			m := promoteMapping(t, s)
			if got := prop(m, "ScalingConfig", "MaximumConcurrency"); got != float64(c.concurrency) {
				t.Errorf("promote's MaximumConcurrency %v, want %d", got, c.concurrency)
			}
			q := s.one(t, "AWS::SQS::Queue", "PromoteQueue")
			// A lock expires 10 s after its holder's deadline (shared/promote): a message that
			// lost the lock must come back only after the holder is surely done.
			if vt := prop(q, "VisibilityTimeout").(float64); vt <= float64(lake.Specs["promote"].TimeoutSeconds+10) {
				t.Errorf("promote queue visibility timeout %v s: not past a lock's life (%d s)", vt, lake.Specs["promote"].TimeoutSeconds+10)
			}
			receives := prop(q, "RedrivePolicy").(map[string]interface{})["maxReceiveCount"].(float64)
			if receives < float64(5+c.concurrency-1) {
				t.Errorf("promote maxReceiveCount %v: a message that lost the lock to each of the other %d promotions has fewer than 5 receives left", receives, c.concurrency-1)
			}
		})
	}
	// The other triggers are not capped: their functions share no lock. Summarize is, at
	// SQS's least (2): refreshes of one day should rarely overlap.
	for _, m := range defaultSynth(t).resources("AWS::Lambda::EventSourceMapping") {
		ids := map[string]bool{}
		refs(prop(m, "FunctionName"), ids, nil)
		if ids["SummarizeFunction"] {
			if got := toJSON(prop(m, "ScalingConfig")); got != `{"MaximumConcurrency":2}` {
				t.Errorf("summarize's mapping is capped at %s, want 2", got)
			}
			continue
		}
		if !ids["PromoteFunction"] && prop(m, "ScalingConfig") != nil {
			t.Errorf("mapping of %v is capped: %s", ids, toJSON(prop(m, "ScalingConfig")))
		}
	}
}

// Partition projection starts at projectionStart (not years of empty partitions before it) and
// reaches past NOW, so events up to an hour ahead of the clock are found after 23:00 UTC.
func TestProjectionFollowsProjectionStart(t *testing.T) {
	for _, c := range []struct {
		name  string
		s     func(*testing.T) *synthesized
		start string
	}{{"default", defaultSynth, "2026-11-01"}, {"projectionStart=2025-06-01", tunedSynth, "2025-06-01"}} {
		t.Run(c.name, func(t *testing.T) {
			tables := c.s(t).resources("AWS::Glue::Table")
			if len(tables) == 0 {
				t.Fatal("no tables")
			}
			for id, tb := range tables {
				got := prop(tb, "TableInput", "Parameters", "projection.dt.range")
				if got != c.start+",NOW+1DAYS" {
					t.Errorf("%s: projection.dt.range %v, want %s,NOW+1DAYS", id, got, c.start)
				}
			}
		})
	}
}

// Producers assume one role that may write to the stream, with the lake key the stream is
// encrypted with, and do nothing else.
func TestProducerRole(t *testing.T) {
	for _, c := range []struct {
		name    string
		s       func(*testing.T) *synthesized
		trusted string
	}{
		{"default", defaultSynth, `{"AWS":{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":iam::",{"Ref":"AWS::AccountId"},":root"]]}}`},
		{"producerPrincipals", tunedSynth, `{"AWS":["arn:aws:iam::111122223333:role/backfill","arn:aws:iam::111122223333:role/collector"]}`}, // CDK sorts them
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.s(t)
			role := s.one(t, "AWS::IAM::Role", "ProducerRole")
			trust := prop(role, "AssumeRolePolicyDocument", "Statement").([]interface{})
			if len(trust) != 1 || toJSON(trust[0].(map[string]interface{})["Principal"]) != c.trusted {
				t.Errorf("producer role trusts %s, want %s", toJSON(trust), c.trusted)
			}
			stmts := s.roleStatements()["ProducerRole"]
			got := map[string]string{}
			for _, st := range stmts {
				ids := map[string]bool{}
				refs(st.resources, ids, nil)
				var named []string
				for id := range ids {
					named = append(named, id)
				}
				sort.Strings(named)
				for _, a := range st.actions {
					got[a] += strings.Join(named, ",")
				}
			}
			// Every stream: each dataset's own and the shared one.
			var streams []string
			for _, ct := range streamed(t) {
				streams = append(streams, lake.DatasetStreamID(ct.Name)+"EventStream")
			}
			streams = append(streams, "EventStream")
			sort.Strings(streams)
			all := strings.Join(streams, ",")
			want := map[string]string{
				"kinesis:PutRecord": all, "kinesis:PutRecords": all,
				"kinesis:DescribeStreamSummary": all, "kinesis:ListShards": all,
				"kms:GenerateDataKey": "LakeKey",
			}
			if toJSON(got) != toJSON(want) {
				t.Errorf("producer role may %s, want exactly %s", toJSON(got), toJSON(want))
			}
			out, _ := s.json["Outputs"].(map[string]interface{})["ProducerRoleArn"].(map[string]interface{})
			ids := map[string]bool{}
			refs(out, ids, nil)
			if !ids["ProducerRole"] {
				t.Errorf("output ProducerRoleArn %s, want the producer role's ARN", toJSON(out))
			}
		})
	}
}

// Past 500 active partitions Firehose sends the rest of the records to the error prefix, under
// activePartitionExceeded: the error prefix must keep the error type apart, and an alarm says so.
func TestFirehosePartitionLimitIsWatched(t *testing.T) {
	s := defaultSynth(t)
	fh := s.one(t, "AWS::KinesisFirehose::DeliveryStream", "ArchiveDeliveryStream")
	if ep, _ := prop(fh, "ExtendedS3DestinationConfiguration", "ErrorOutputPrefix").(string); !strings.Contains(ep, "!{firehose:error-output-type}") {
		t.Errorf("error prefix %q does not separate error types", ep)
	}
	a := toJSON(s.one(t, "AWS::CloudWatch::Alarm", "FirehosePartitionLimitAlarm")["Properties"])
	for _, w := range []string{`"MetricName":"PartitionCountExceeded"`, `"Namespace":"AWS/Firehose"`, `"Threshold":1`, `"ComparisonOperator":"GreaterThanOrEqualToThreshold"`} {
		if !strings.Contains(a, w) {
			t.Errorf("partition limit alarm lacks %s: %s", w, a)
		}
	}
}
