package lake_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/infra/lake"
)

func TestIngestReadsTheStream(t *testing.T) {
	s := defaultSynth(t)
	var m map[string]interface{}
	for _, e := range s.resources("AWS::Lambda::EventSourceMapping") {
		ids := map[string]bool{}
		refs(prop(e, "EventSourceArn"), ids, nil)
		if ids["EventStream"] {
			m = e
		}
	}
	if m == nil {
		t.Fatal("no event source mapping from the stream")
	}
	ids := map[string]bool{}
	refs(prop(m, "FunctionName"), ids, nil)
	if !ids["IngestFunction"] {
		t.Errorf("stream mapping targets %v, want ingest", prop(m, "FunctionName"))
	}
	want := map[string]interface{}{
		"BatchSize": 10000.0, "MaximumBatchingWindowInSeconds": 10.0, "BisectBatchOnFunctionError": true,
		"MaximumRetryAttempts": 5.0, "MaximumRecordAgeInSeconds": 21600.0, "StartingPosition": "TRIM_HORIZON",
		"FunctionResponseTypes": []interface{}{"ReportBatchItemFailures"}, "ParallelizationFactor": 1.0,
	}
	for k, v := range want {
		if toJSON(prop(m, k)) != toJSON(v) {
			t.Errorf("%s=%s, want %s", k, toJSON(prop(m, k)), toJSON(v))
		}
	}
	ids = map[string]bool{}
	refs(prop(m, "DestinationConfig", "OnFailure"), ids, nil)
	if !ids["IngestDLQ"] {
		t.Errorf("on-failure destination %v, want IngestDLQ", prop(m, "DestinationConfig"))
	}
}

func TestObjectEventsReachFunctionsThroughQueues(t *testing.T) {
	s := defaultSynth(t)
	queues := s.resources("AWS::SQS::Queue")
	for id, q := range queues {
		ids := map[string]bool{}
		refs(prop(q, "KmsMasterKeyId"), ids, nil)
		if !ids["LakeKey"] {
			t.Errorf("queue %s not encrypted with the lake key", id)
		}
	}
	rules := s.resources("AWS::Events::Rule")
	mappings := s.resources("AWS::Lambda::EventSourceMapping")
	cases := []struct {
		fn      string
		buckets []string
		prefix  string
	}{
		{"validate", []string{"RawBucket"}, "landing/"},
		{"promote", []string{"CleansedBucket"}, ""},
		{"lineage", []string{"CleansedBucket", "ConsumptionBucket", "CuratedBucket", "QuarantineBucket", "RawBucket"}, ""},
		{"summarize", []string{"CuratedBucket"}, ""},
	}
	for _, c := range cases {
		t.Run(c.fn, func(t *testing.T) {
			id := capitalizeName(c.fn)
			rule := s.one(t, "AWS::Events::Rule", id+"Rule")
			_ = rules
			p := prop(rule, "EventPattern").(map[string]interface{})
			if toJSON(p["source"]) != `["aws.s3"]` || toJSON(p["detail-type"]) != `["Object Created"]` {
				t.Errorf("pattern %s", toJSON(p))
			}
			detail := p["detail"].(map[string]interface{})
			ids := map[string]bool{}
			refs(detail["bucket"], ids, nil)
			var got []string
			for k := range ids {
				got = append(got, k)
			}
			sort.Strings(got)
			if !slices.Equal(got, c.buckets) {
				t.Errorf("rule buckets %v, want %v", got, c.buckets)
			}
			if c.prefix != "" && toJSON(detail["object"]) != `{"key":[{"prefix":"`+c.prefix+`"}]}` {
				t.Errorf("rule object filter %s, want prefix %s", toJSON(detail["object"]), c.prefix)
			}
			targets := prop(rule, "Targets").([]interface{})
			tg := targets[0].(map[string]interface{})
			ids = map[string]bool{}
			refs(tg["Arn"], ids, nil)
			dl := map[string]bool{}
			refs(tg["DeadLetterConfig"], dl, nil)
			if len(targets) != 1 || !ids[id+"Queue"] || !dl[id+"DLQ"] {
				t.Errorf("rule target %s, want %sQueue with %sDLQ", toJSON(targets), id, id)
			}
			q := s.one(t, "AWS::SQS::Queue", id+"Queue")
			rp := prop(q, "RedrivePolicy").(map[string]interface{})
			ids = map[string]bool{}
			refs(rp["deadLetterTargetArn"], ids, nil)
			// Promote's cap adds a receive per other promotion it can lose its lock to.
			receives := map[string]float64{"validate": 5, "promote": 6, "lineage": 5, "summarize": 6}[c.fn]
			if !ids[id+"DLQ"] || rp["maxReceiveCount"] != receives {
				t.Errorf("redrive %s, want %sDLQ after %v receives", toJSON(rp), id, receives)
			}
			if vt := prop(q, "VisibilityTimeout"); vt != float64(6*lake.Specs[c.fn].TimeoutSeconds) {
				t.Errorf("visibility timeout %v, want 6x the function timeout", vt)
			}
			found := false
			for _, m := range mappings {
				src, fn := map[string]bool{}, map[string]bool{}
				refs(prop(m, "EventSourceArn"), src, nil)
				refs(prop(m, "FunctionName"), fn, nil)
				if src[id+"Queue"] && fn[lake.FunctionLogicalID(c.fn)] {
					found = true
					if toJSON(prop(m, "FunctionResponseTypes")) != `["ReportBatchItemFailures"]` {
						t.Errorf("queue mapping without ReportBatchItemFailures")
					}
				}
			}
			if !found {
				t.Errorf("no mapping from %sQueue to %s", id, c.fn)
			}
		})
	}
	// The lineage store is not a zone: its objects must not trigger lineage.
	lin := toJSON(prop(s.one(t, "AWS::Events::Rule", "LineageRule"), "EventPattern"))
	if strings.Contains(lin, "LineageBucket") || strings.Contains(lin, "AthenaResultsBucket") {
		t.Errorf("lineage rule watches a non-zone bucket: %s", lin)
	}
}

func TestQueryAPI(t *testing.T) {
	s := defaultSynth(t)
	route := s.one(t, "AWS::ApiGatewayV2::Route", "QueryApiANYproxy")
	if prop(route, "AuthorizationType") != "AWS_IAM" || prop(route, "RouteKey") != "ANY /{proxy+}" {
		t.Errorf("route %s, want ANY /{proxy+} with AWS_IAM", toJSON(route["Properties"]))
	}
	if n := len(s.resources("AWS::ApiGatewayV2::Route")); n != 3 {
		t.Errorf("%d routes, want 3: ANY /{proxy+}, POST /events, POST /events/{dataset}", n)
	}
	var stage map[string]interface{}
	for _, st := range s.resources("AWS::ApiGatewayV2::Stage") {
		stage = st
	}
	ids := map[string]bool{}
	refs(prop(stage, "AccessLogSettings", "DestinationArn"), ids, nil)
	if !ids["QueryApiAccessLogs"] || !strings.Contains(prop(stage, "AccessLogSettings", "Format").(string), "$context.identity.userArn") {
		t.Errorf("stage access logs %s", toJSON(prop(stage, "AccessLogSettings")))
	}
	perm := s.resources("AWS::Lambda::Permission")
	for _, p := range perm {
		ids := map[string]bool{}
		refs(prop(p, "FunctionName"), ids, nil)
		if (ids["LineagecompactFunction"] || ids["MaintainFunction"]) && prop(p, "Principal") == "events.amazonaws.com" {
			continue // their schedules
		}
		if !(ids["QueryFunction"] || ids["CollectFunction"]) || prop(p, "Principal") != "apigateway.amazonaws.com" {
			t.Errorf("lambda permission %s: only API Gateway may invoke, and only query and collect", toJSON(p["Properties"]))
		}
	}
}

// TestEventsAPI: POST /events and /events/{dataset} reach collect, IAM-authorized like every
// route; collect may put records on the stream and encrypt them, and do nothing else.
func TestEventsAPI(t *testing.T) {
	s := defaultSynth(t)
	integrations := map[string]map[string]interface{}{}
	for id, in := range s.resources("AWS::ApiGatewayV2::Integration") {
		integrations[construct(id)] = in
	}
	routes := map[string]bool{}
	for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
		key, _ := prop(r, "RouteKey").(string)
		if prop(r, "AuthorizationType") != "AWS_IAM" {
			t.Errorf("route %s is not IAM-authorized: %s", key, toJSON(r["Properties"]))
		}
		if !strings.HasPrefix(key, "POST /events") {
			continue
		}
		routes[key] = true
		ids := map[string]bool{}
		refs(prop(r, "Target"), ids, nil)
		for id := range ids {
			fn := map[string]bool{}
			refs(prop(integrations[id], "IntegrationUri"), fn, nil)
			if !fn["CollectFunction"] || prop(integrations[id], "PayloadFormatVersion") != "2.0" {
				t.Errorf("route %s goes to %s, want collect with payload 2.0", key, toJSON(integrations[id]["Properties"]))
			}
		}
		if len(ids) != 1 {
			t.Errorf("route %s targets %v", key, ids)
		}
	}
	if !routes["POST /events"] || !routes["POST /events/{dataset}"] {
		t.Errorf("events routes %v", routes)
	}

	got := map[string]string{}
	for _, st := range s.roleStatements()["CollectRole"] {
		ids := map[string]bool{}
		var lits []string
		refs(st.resources, ids, &lits)
		var named []string
		for id := range ids {
			named = append(named, id)
		}
		sort.Strings(named)
		for _, a := range st.actions {
			if strings.HasPrefix(a, "logs:") || strings.HasPrefix(a, "xray:") {
				continue
			}
			got[a] += strings.Join(named, ",")
		}
	}
	// Every stream: the shared one and each dataset's own, where collect sends that dataset.
	streams := []string{"EventStream"}
	for _, c := range streamed(t) {
		streams = append(streams, lake.DatasetStreamID(c.Name)+"EventStream")
	}
	sort.Strings(streams)
	want := map[string]string{"kinesis:PutRecords": strings.Join(streams, ","), "kms:GenerateDataKey": "LakeKey"}
	if toJSON(got) != toJSON(want) {
		t.Errorf("collect may %s, want exactly %s", toJSON(got), toJSON(want))
	}
	vars := prop(s.one(t, "AWS::Lambda::Function", "CollectFunction"), "Environment", "Variables").(map[string]interface{})
	ids := map[string]bool{}
	refs(vars["SLUICE_STREAM_NAME"], ids, nil)
	mapped := map[string]bool{}
	refs(vars["SLUICE_DATASET_STREAMS"], mapped, nil)
	if !ids["EventStream"] || len(mapped) != len(streams)-1 || mapped["EventStream"] {
		t.Errorf("collect environment %s: want the shared stream and the map of every dataset's own stream", toJSON(vars))
	}
}

func TestAlarmsNotifyTheTopic(t *testing.T) {
	s := defaultSynth(t)
	want := []string{"IngestIteratorAgeAlarm", "FirehoseDeliveryAlarm", "FirehoseFreshnessAlarm", "FirehosePartitionLimitAlarm", "QuarantineRateAlarm"}
	for _, c := range streamed(t) {
		for _, a := range []string{"IteratorAgeAlarm", "FirehoseDeliveryAlarm", "FirehoseFreshnessAlarm", "FirehosePartitionLimitAlarm"} {
			want = append(want, lake.DatasetStreamID(c.Name)+a)
		}
	}
	for _, fn := range lake.Functions {
		want = append(want, capitalizeName(fn)+"ErrorsAlarm", capitalizeName(fn)+"ThrottlesAlarm")
		if fn != "query" && fn != "collect" { // called synchronously: no queue, no DLQ
			want = append(want, capitalizeName(fn)+"DLQDepthAlarm")
		}
	}
	// Scheduled runs are not retried: a failed one shows only as an error, which alarms.
	for _, fn := range lake.Scheduled {
		want = append(want, capitalizeName(fn)+"ErrorsAlarm", capitalizeName(fn)+"ThrottlesAlarm")
	}
	alarms := s.resources("AWS::CloudWatch::Alarm")
	var got []string
	for id, a := range alarms {
		got = append(got, construct(id))
		ids := map[string]bool{}
		refs(prop(a, "AlarmActions"), ids, nil)
		if !ids["AlarmTopic"] {
			t.Errorf("%s does not notify the alarm topic", id)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("alarms %v, want %v", got, want)
	}
	q := toJSON(s.one(t, "AWS::CloudWatch::Alarm", "QuarantineRateAlarm")["Properties"])
	// The alarm must read the metrics the functions really publish (shared/obs, functions/ingest).
	for _, w := range []string{`"MetricName":"RecordsQuarantined"`, `"MetricName":"RecordsWritten"`, `"Namespace":"Sluice"`,
		`{"Name":"function","Value":"ingest"}`, `{"Name":"function","Value":"validate"}`, `"Threshold":5`} {
		if !strings.Contains(q, w) {
			t.Errorf("quarantine alarm lacks %s: %s", w, q)
		}
	}
	topic := s.one(t, "AWS::SNS::Topic", "AlarmTopic")
	ids := map[string]bool{}
	refs(prop(topic, "KmsMasterKeyId"), ids, nil)
	if !ids["LakeKey"] {
		t.Error("alarm topic not encrypted with the lake key")
	}
	if len(s.resources("AWS::CloudWatch::Dashboard")) != 1 {
		t.Error("no dashboard")
	}
}

func TestOutputs(t *testing.T) {
	s := defaultSynth(t)
	outs := s.json["Outputs"].(map[string]interface{})
	for _, k := range []string{"StreamName", "RawBucketName", "CleansedBucketName", "CuratedBucketName", "QuarantineBucketName",
		"AthenaResultsBucketName", "LineageBucketName", "ApiUrl", "ApiCallerRoleArn", "AthenaWorkGroupName", "GlueDatabaseName", "AlarmTopicArn", "ProducerRoleArn"} {
		if _, ok := outs[k]; !ok {
			t.Errorf("no output %s", k)
		}
	}
}

// allowed is what one role may do: its actions, and the constructs its statements may name.
type allowed struct {
	actions    []string
	constructs []string
	literals   []string // substrings every literal ARN part must match one of
}

func TestEachRoleNamesOnlyItsOwnResourcesAndActions(t *testing.T) {
	s := defaultSynth(t)
	logs := []string{"logs:CreateLogStream", "logs:PutLogEvents"}
	xray := []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}
	consume := []string{"sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"}
	kms := []string{"kms:Decrypt", "kms:GenerateDataKey"}
	roles := map[string]allowed{
		"IngestRole": {
			actions: concat(logs, xray, kms, []string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject",
				"kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
				"kinesis:DescribeStream", "kinesis:DescribeStreamConsumer", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
				"kinesis:GetShardIterator", "kinesis:ListShards", "kinesis:ListStreams", "kinesis:SubscribeToShard"}),
			constructs: []string{"IngestLogs", "CleansedBucket", "QuarantineBucket", "LakeKey", "IngestDLQ", "EventStream"},
		},
		"ValidateRole": {
			actions: concat(logs, xray, kms, consume, []string{"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket",
				"s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"}),
			constructs: []string{"ValidateLogs", "RawBucket", "CleansedBucket", "QuarantineBucket", "LakeKey", "ValidateQueue"},
			literals:   []string{"/landing/*", "/*"},
		},
		"PromoteRole": {
			actions: concat(logs, xray, kms, consume, []string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject",
				"s3:ListBucket", "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "glue:GetTable", "glue:CreateTable", "glue:UpdateTable"}),
			constructs: []string{"PromoteLogs", "CleansedBucket", "CuratedBucket", "LakeKey", "PromoteQueue", "PiiHashKey"},
			literals:   []string{"/*", "glue:", ":catalog", "database/sluice_dev", "table/sluice_dev/curated_*", "arn:", ":", ""},
		},
		"LineageRole": {
			actions:    concat(logs, xray, kms, consume, []string{"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:PutObject", "s3:DeleteObject"}),
			constructs: []string{"LineageLogs", "RawBucket", "CleansedBucket", "CuratedBucket", "QuarantineBucket", "ConsumptionBucket", "LineageBucket", "LakeKey", "LineageQueue", "Stream"},
		},
		"SummarizeRole": {
			actions: concat(logs, xray, kms, consume, []string{"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
				"athena:StopQueryExecution", "athena:GetWorkGroup", "glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition",
				"glue:GetPartitions", "s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
				"s3:ListMultipartUploadParts"}),
			constructs: []string{"SummarizeLogs", "CuratedBucket", "ConsumptionBucket", "AthenaResultsBucket", "LakeKey", "AthenaWorkGroup", "SummarizeQueue"},
			literals:   []string{"/results/*", "/*", "athena:", "workgroup/", "glue:", ":catalog", "database/sluice_dev", "table/sluice_dev/curated_*", "arn:", ":", ""},
		},
		"QueryRole": {
			actions: concat(logs, xray, kms, []string{"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
				"athena:StopQueryExecution", "athena:GetWorkGroup", "glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition",
				"glue:GetPartitions", "s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:PutObject", "s3:AbortMultipartUpload",
				"s3:ListMultipartUploadParts", "glue:UpdateTable",
				// POST /erase
				"s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:ListBucketVersions", "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}),
			constructs: []string{"QueryLogs", "RawBucket", "CleansedBucket", "CuratedBucket", "ConsumptionBucket", "QuarantineBucket", "LineageBucket", "AuditBucket", "AthenaResultsBucket", "LakeKey", "AthenaWorkGroup", "PiiHashKey"},
			literals:   []string{"/archive/*", "/results/*", "/lineage/*", "/compacted/*", "/audit/*", "/*/metadata/*", "/*", "athena:", "workgroup/", "glue:", ":catalog", "database/sluice_dev", "table/sluice_dev/*", "table/sluice_dev/curated_*", "arn:", ":", ""},
		},
		"FirehoseRole": {
			actions: []string{"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator", "kinesis:GetRecords",
				"kinesis:ListShards", "s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket",
				"s3:ListBucketMultipartUploads", "s3:PutObject", "kms:Decrypt", "kms:GenerateDataKey", "glue:GetTable",
				"glue:GetTableVersion", "glue:GetTableVersions", "logs:PutLogEvents"},
			constructs: []string{"EventStream", "RawBucket", "LakeKey", "FirehoseLogs"},
		},
		"CollectRole": {
			actions:    concat(logs, xray, []string{"kinesis:PutRecords", "kms:GenerateDataKey"}),
			constructs: []string{"CollectLogs", "EventStream", "LakeKey"},
		},
		"QueryApiCallerRole": {actions: []string{"execute-api:Invoke"}, constructs: []string{"QueryApi"}},
		"ProducerRole":       {actions: concat(lake.ProducerStreamActions, []string{"kms:GenerateDataKey"}), constructs: []string{"EventStream", "LakeKey"}},
		"LineagecompactRole": {
			actions:    concat(logs, xray, kms, []string{"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"}),
			constructs: []string{"LineagecompactLogs", "LineageBucket", "LakeKey"},
		},
		"MaintainRole": {
			actions: concat(logs, xray, kms, []string{"s3:ListBucket", "s3:ListBucketVersions", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject",
				"s3:DeleteObjectVersion", "glue:GetTable", "glue:UpdateTable"}),
			constructs: []string{"MaintainLogs", "CuratedBucket", "LakeKey"},
			literals:   []string{"/*/data/*", "/*/metadata/*", "/_manifests/*", "/_locks/*", "/_cdc/*", "/_erase/*", "/_lineage/*", "/_maintenance/*", "glue:", ":catalog", "database/sluice_dev", "table/sluice_dev/curated_*", "arn:", ":", ""},
		},
	}
	// Each dataset's own stream: ingest reads it, producers write it, its Firehose role reads it.
	for _, c := range streamed(t) {
		id := lake.DatasetStreamID(c.Name)
		for _, r := range []string{"IngestRole", "ProducerRole", "CollectRole"} {
			a := roles[r]
			a.constructs = append(a.constructs, id+"EventStream")
			roles[r] = a
		}
		roles[id+"FirehoseRole"] = allowed{actions: roles["FirehoseRole"].actions, constructs: []string{id + "EventStream", "RawBucket", "LakeKey", "FirehoseLogs"}}
	}
	policies := s.resources("AWS::IAM::Policy")
	seen := map[string]bool{}
	for pid, p := range policies {
		ids := map[string]bool{}
		refs(prop(p, "Roles"), ids, nil)
		for role := range ids {
			want, ok := roles[role]
			if !ok {
				t.Errorf("policy %s attaches to %s, which this test does not know: add what it may do", pid, role)
				continue
			}
			seen[role] = true
			for _, st := range prop(p, "PolicyDocument", "Statement").([]interface{}) {
				stm := st.(map[string]interface{})
				if stm["Effect"] != "Allow" {
					continue
				}
				for _, a := range strs(stm["Action"]) {
					if !slices.Contains(want.actions, a) {
						t.Errorf("%s may %s: not among what it needs", role, a)
					}
				}
				if stm["Resource"] == "*" {
					if !slices.Equal(strs(stm["Action"]), []string{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}) {
						t.Errorf("%s has Resource * for %v: only X-Ray needs it", role, stm["Action"])
					}
					continue
				}
				named := map[string]bool{}
				var lits []string
				refs(stm["Resource"], named, &lits)
				for c := range named {
					if !slices.Contains(want.constructs, c) {
						t.Errorf("%s's policy names %s, which is not its resource (actions %v)", role, c, stm["Action"])
					}
				}
				if strings.Contains(toJSON(stm["Resource"]), `"arn:aws:`) {
					t.Errorf("%s names a hard-coded partition: %s", role, toJSON(stm["Resource"]))
				}
			}
		}
		// Managed policies would grant beyond the lists above.
	}
	for role := range roles {
		if !seen[role] {
			t.Errorf("no policy for %s", role)
		}
	}
	for id, r := range s.resources("AWS::IAM::Role") {
		if prop(r, "ManagedPolicyArns") != nil {
			t.Errorf("role %s has managed policies %v", id, prop(r, "ManagedPolicyArns"))
		}
	}
	// Object grants name key prefixes where a function touches only part of a bucket.
	stmts := toJSON(prop(s.one(t, "AWS::IAM::Policy", "ValidateRoleDefaultPolicy"), "PolicyDocument"))
	if !strings.Contains(stmts, `/landing/*`) {
		t.Errorf("validate may read raw beyond landing/: %s", stmts)
	}
	qstmts := toJSON(prop(s.one(t, "AWS::IAM::Policy", "QueryRoleDefaultPolicy"), "PolicyDocument"))
	for _, w := range []string{"/archive/*", "/results/*", ":table/sluice_dev/*", ":workgroup/"} {
		if !strings.Contains(qstmts, w) {
			t.Errorf("query policy lacks the narrowing %s: %s", w, qstmts)
		}
	}
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// TestMaintainSchedule: the maintain function runs on its own EventBridge rule, every
// maintainEveryHours (default daily), without retries (the next run takes up what is left).
func TestMaintainSchedule(t *testing.T) {
	s := defaultSynth(t)
	found := false
	for _, r := range s.resources("AWS::Events::Rule") {
		ids := map[string]bool{}
		refs(prop(r, "Targets"), ids, nil)
		if !ids["MaintainFunction"] {
			continue
		}
		found = true
		if got := prop(r, "ScheduleExpression"); got != "rate(1 day)" {
			t.Errorf("maintain runs on %v, want rate(1 day) (maintainEveryHours=24)", got)
		}
		if !strings.Contains(toJSON(prop(r, "Targets")), `"MaximumRetryAttempts":0`) {
			t.Errorf("maintain's target %s: want no retries", toJSON(prop(r, "Targets")))
		}
	}
	if !found {
		t.Fatal("no EventBridge rule targets the maintain function")
	}
}
