package lake

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Check runs cdk-nag's AwsSolutions rules on everything under scope when it is synthesized.
// With the context flag @aws-cdk/core:annotationsInValidationReport (set in cdk.json), an
// unsuppressed finding fails the synth.
func Check(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

type suppression struct {
	id, reason string
	// appliesTo narrows an IAM5 suppression to findings whose text matches one of these regexes.
	appliesTo []string
}

func suppress(c constructs.IConstruct, children bool, rules ...suppression) {
	s := make([]*cdknag.NagPackSuppression, len(rules))
	for i, r := range rules {
		s[i] = &cdknag.NagPackSuppression{Id: jsii.String(r.id), Reason: jsii.String(r.reason)}
		if len(r.appliesTo) > 0 {
			applies := make([]interface{}, len(r.appliesTo))
			for j, re := range r.appliesTo {
				applies[j] = &cdknag.RegexAppliesTo{Regex: jsii.String(re)}
			}
			s[i].AppliesTo = &applies
		}
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &s, jsii.Bool(children))
}

// Wildcards every role of the lake carries, and why each is as narrow as AWS allows.
var (
	objectKeys = suppression{"AwsSolutions-IAM5",
		"Object keys (<dataset>/dt=<date>/hr=<hour>/<name>) are only known at run time; the grant names one bucket of the lake and, where the writer only uses one, one key prefix (a dataset's archive: archive/<dataset>/).",
		[]string{`/^Resource::<[A-Za-z]+Bucket[0-9A-F]{8}\.Arn>\/([a-z0-9_-]+\/){0,2}\*$/`}}
	logStreams = suppression{"AwsSolutions-IAM5",
		"Lambda and Firehose create log streams at run time; the grant names the writer's own log group only.",
		[]string{`/^Resource::<[A-Za-z]+Logs[0-9A-F]{8}\.Arn>:\*$/`}}
	xray = suppression{"AwsSolutions-IAM5",
		"X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions (added by Tracing.ACTIVE).",
		[]string{`/^Resource::\*$/`}}
	queueKey = suppression{"AwsSolutions-IAM5",
		"CDK's grant on an SQS queue encrypted with the lake key (kms:GenerateDataKey*, kms:ReEncrypt*); the resource is that one key.",
		[]string{`/^Action::kms:(GenerateDataKey|ReEncrypt)\*$/`}}
	glueTables = suppression{"AwsSolutions-IAM5",
		"Tables are added with dataset contracts; the grant covers the tables of this stage's Glue database only (or only its curated_ Iceberg tables, which promote creates at a dataset's first commit), which holds nothing but the lake's tables.",
		[]string{`/^Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table\/sluice_[a-z0-9]+\/(curated_)?\*$/`}}
	tableMetadata = suppression{"AwsSolutions-IAM5",
		"An Iceberg table's metadata files (<dataset>/metadata/<version>.metadata.json, manifest lists, manifests) are named at each commit; the grant names the curated bucket's metadata folders only.",
		[]string{`/^Resource::<CuratedBucket[0-9A-F]{8}\.Arn>\/\*\/metadata\/\*$/`}}
	tableData = suppression{"AwsSolutions-IAM5",
		"An Iceberg table's data files (<dataset>/data/dt=<date>/hr=<hour>/part-<n>-<hash>.parquet) are named by their content at each commit; the grant names the curated bucket's data folders only (table maintenance: compaction writes them, expiry and orphan removal delete them).",
		[]string{`/^Resource::<CuratedBucket[0-9A-F]{8}\.Arn>\/\*\/data\/\*$/`}}
	apiRoutes = suppression{"AwsSolutions-IAM5",
		"The caller role may invoke any route and stage of this one API: its routes are the query API and POST /events.",
		[]string{`/^Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<QueryApi[0-9A-F]{8}>\/\*$/`}}
)

// addSuppressions records, beside each construct, why an AwsSolutions finding does not apply.
func addSuppressions(l *Lake) {
	for _, fn := range l.Functions {
		suppress(fn.Role(), true, objectKeys, logStreams, xray, queueKey, glueTables, tableMetadata, tableData)
	}
	for _, st := range append([]*Stream{l.Stream}, datasetStreams(l)...) {
		suppress(st.Role, true, objectKeys, logStreams)
		suppress(st.Policy, true, objectKeys, logStreams)
		suppress(st.Firehose, false, suppression{id: "AwsSolutions-KDF1", reason: "Firehose offers server-side encryption only for Direct PUT streams; this one reads the Kinesis stream, which is encrypted with the lake key, and writes the raw zone with SSE-KMS under the same key."})
		suppress(st.Kinesis, true, suppression{id: "AwsSolutions-KDS3", reason: "The lake's customer-managed key encrypts the stream so that one key policy governs all of the lake's data."})
	}
	suppress(l.API.CallerRole, true, apiRoutes)
	suppress(l.PIIKey, true, suppression{id: "AwsSolutions-SMG4", reason: "The PII hash key must stay stable: rotating it changes every hashed value and breaks joins across time. Re-keying is a deliberate operation (new secret, re-promote)."})
	suppress(l.Queues["ingest"].DLQ, true, suppression{id: "AwsSolutions-SQS3", reason: "This queue is itself a dead-letter queue: the on-failure destination of the ingest Kinesis event source mapping."})
	for name, q := range l.Queues {
		if name == "ingest" {
			continue
		}
		suppress(q.DLQ, true, suppression{id: "AwsSolutions-SQS3", reason: "This queue is itself a dead-letter queue; a dead-letter queue of it would never be read."})
	}
}
