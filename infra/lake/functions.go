package lake

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"

	"github.com/sluicelake/sluice/shared/envvar"
)

// FunctionSpec is what the benchmarks and the functions' own work size each function at.
type FunctionSpec struct {
	MemoryMB       int
	TimeoutSeconds int
}

// Specs: ingest's measured peak is ~47 MB for a 6 MB batch, but Lambda's CPU share grows with
// memory and the Parquet encode is CPU bound; promote holds a partition's rows to deduplicate them.
var Specs = map[string]FunctionSpec{
	"ingest":   {MemoryMB: 256, TimeoutSeconds: 60},
	"validate": {MemoryMB: 512, TimeoutSeconds: 300},
	"promote":  {MemoryMB: 1024, TimeoutSeconds: 300},
	"lineage":  {MemoryMB: 128, TimeoutSeconds: 30},
	"query":    {MemoryMB: 128, TimeoutSeconds: 29}, // API Gateway gives up at 29 s anyway
	// Reads an hour's lineage objects 16 at a time and writes them as one Parquet file.
	"lineagecompact": {MemoryMB: 512, TimeoutSeconds: 300},
	// Compaction copies row groups into files of up to promote's target (128 MB), held in
	// memory; a run walks every curated table, at most maintain.DefaultCompactPartitions
	// partitions each, in one invocation of at most 15 minutes.
	"maintain": {MemoryMB: 1024, TimeoutSeconds: 900},
	// collect holds a call's body (at most 4 MiB) and its validated rows; more memory is more CPU
	// for validation while the caller waits.
	"collect": {MemoryMB: 256, TimeoutSeconds: 29},
	// summarize waits on Athena and holds a refresh's aggregated rows (a summary's days, not
	// the curated rows they come from).
	"summarize": {MemoryMB: 256, TimeoutSeconds: 600},
}

// FunctionLogicalID is the construct id of a function ("IngestFunction"); its role is
// "<Name>Role" and its log group "<Name>Logs".
func FunctionLogicalID(name string) string { return capitalize(name) + "Function" }

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func newFunctions(stack awscdk.Stack, s Settings, code func(string) awslambda.Code, l *Lake) map[string]awslambda.Function {
	st := l.Storage
	key := l.Key.KeyArn()
	objects := func(b interface{ ArnForObjects(*string) *string }, pattern string) *string {
		return b.ArnForObjects(jsii.String(pattern))
	}

	// The keyed-hash key promote applies to PII fields marked "hash": generated here, never seen
	// by anyone deploying, readable only by promote.
	piiKey := awssecretsmanager.NewSecret(stack, jsii.String("PiiHashKey"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("sluice " + s.Stage + ": HMAC key promote uses to hash PII fields in the curated zone"),
		EncryptionKey: l.Key,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
		},
		// Losing the key would make every hashed value unlinkable to new data.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	l.PIIKey = piiKey

	common := map[string]string{envvar.LogLevel: s.LogLevel}
	type fn struct {
		env        map[string]*string
		statements []awsiam.PolicyStatement
		doc        string
	}
	// Functions that read objects an event named read that event's version (s3:GetObjectVersion),
	// and the object may be gone by then (promote's locks, files compaction merged, a cut-back
	// batch, a deleted drop). Without s3:ListBucket on its bucket S3 answers a read of a missing
	// key with 403 AccessDenied instead of 404, and "gone" could not be told from "forbidden".
	read := func(resources ...*string) awsiam.PolicyStatement {
		return allow([]string{"s3:GetObject", "s3:GetObjectVersion"}, resources...)
	}
	list := func(buckets ...awss3.Bucket) awsiam.PolicyStatement {
		arns := make([]*string, len(buckets))
		for i, b := range buckets {
			arns[i] = b.BucketArn()
		}
		return allow([]string{"s3:ListBucket"}, arns...)
	}
	// ingest and validate delete what they wrote for records they then report failed (ingest cuts
	// an uncommitted batch back; validate clears a file it quarantines whole).
	writeOwn := []string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"}
	encrypt := []string{"kms:GenerateDataKey", "kms:Decrypt"} // Decrypt: multipart uploads under SSE-KMS
	fns := map[string]fn{
		"ingest": {
			doc: "Kinesis batches to validated cleansed Parquet, rejects to quarantine",
			env: map[string]*string{
				envvar.CleansedBucket:   st.Cleansed.BucketName(),
				envvar.QuarantineBucket: st.Quarantine.BucketName(),
				envvar.DefaultDataset:   jsii.String(s.ArchiveDataset),
				// A record without _dataset takes the dataset of the stream it arrived on.
				envvar.DatasetStreams: jsii.String(l.Streams.Encode()),
				envvar.StreamName:     l.Stream.Kinesis.StreamName(),
				// Kafka topics' datasets and Avro schema ids ("" with no Kafka source: kafka.go).
				envvar.KafkaTopics:    jsii.String(s.Kafka.TopicsJSON()),
				envvar.KafkaSchemaIDs: jsii.String(s.Kafka.SchemaIDsJSON()),
			},
			statements: []awsiam.PolicyStatement{
				allow(writeOwn, objects(st.Cleansed, "*"), objects(st.Quarantine, "*")),
				allow(encrypt, key),
			},
		},
		"validate": {
			doc: "files dropped in raw landing/ to validated cleansed Parquet, rejects to quarantine",
			env: map[string]*string{
				envvar.RawBucket:        st.Raw.BucketName(),
				envvar.CleansedBucket:   st.Cleansed.BucketName(),
				envvar.QuarantineBucket: st.Quarantine.BucketName(),
			},
			statements: []awsiam.PolicyStatement{
				read(objects(st.Raw, "landing/*")),
				list(st.Raw),
				allow(writeOwn, objects(st.Cleansed, "*"), objects(st.Quarantine, "*")),
				allow(encrypt, key),
			},
		},
		"promote": {
			doc: "cleansed to curated: deduplicate on the key, apply the PII policy, compact",
			env: map[string]*string{
				envvar.CleansedBucket:  st.Cleansed.BucketName(),
				envvar.CuratedBucket:   st.Curated.BucketName(),
				envvar.PIIKeySecretARN: piiKey.SecretArn(),
				// Curated tables are Iceberg tables in the lake's Glue database.
				envvar.IcebergGlueDatabase: jsii.String(l.Catalog.Name),
			},
			statements: []awsiam.PolicyStatement{
				allow([]string{"s3:GetObject"}, objects(st.Cleansed, "*")),
				allow([]string{"s3:ListBucket"}, st.Cleansed.BucketArn(), st.Curated.BucketArn()),
				// Compaction rewrites a partition's curated files and removes the ones it merged.
				allow([]string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"}, objects(st.Curated, "*")),
				allow([]string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, piiKey.SecretArn()),
				// Each commit swaps curated_<dataset>'s metadata location at the Glue version it read.
				allow([]string{"glue:GetTable", "glue:CreateTable", "glue:UpdateTable"},
					glueARN(stack, "catalog"), glueARN(stack, "database/"+l.Catalog.Name), glueARN(stack, "table/"+l.Catalog.Name+"/curated_*")),
				allow(encrypt, key),
			},
		},
		"lineage": {
			doc: "OpenLineage run events for every object created in a zone",
			env: map[string]*string{
				envvar.LineageBucket:    st.Lineage.BucketName(),
				envvar.OpenLineageURL:   jsii.String(s.OpenLineageURL),
				envvar.RawBucket:        st.Raw.BucketName(),
				envvar.CleansedBucket:   st.Cleansed.BucketName(),
				envvar.CuratedBucket:    st.Curated.BucketName(),
				envvar.QuarantineBucket: st.Quarantine.BucketName(),
				envvar.StreamName:       l.Stream.Kinesis.StreamName(),
				// Each summary refresh's objects, with their column lineage.
				envvar.ConsumptionBucket: st.Consumption.BucketName(),
			},
			statements: []awsiam.PolicyStatement{
				// Object metadata (HeadObject), provenance sidecars and validate's reports, of the
				// version the event names.
				read(objects(st.Raw, "*"), objects(st.Cleansed, "*"), objects(st.Curated, "*"), objects(st.Quarantine, "*"), objects(st.Consumption, "*")),
				list(st.Zones()...),
				// A record is written only if absent (a duplicated event changes nothing), and
				// removed again when forwarding it failed, so that the retry forwards it.
				allow([]string{"s3:PutObject", "s3:DeleteObject"}, objects(st.Lineage, "lineage/*")),
				allow(encrypt, key),
			},
		},
		"lineagecompact": {
			doc: "hourly: rewrites each closed hour of lineage objects as one Parquet generation (shared/lineage/compact)",
			env: map[string]*string{envvar.LineageBucket: st.Lineage.BucketName()},
			statements: []awsiam.PolicyStatement{
				allow([]string{"s3:ListBucket"}, st.Lineage.BucketArn()),
				allow([]string{"s3:GetObject"}, objects(st.Lineage, "lineage/*"), objects(st.Lineage, "compacted/*")),
				// Generations and the record of each run; objects and old generations are
				// deleted once a newer generation holds their rows.
				allow([]string{"s3:PutObject"}, objects(st.Lineage, "compacted/*"), objects(st.Lineage, "compaction-runs/*")),
				allow([]string{"s3:DeleteObject"}, objects(st.Lineage, "lineage/*"), objects(st.Lineage, "compacted/*")),
				allow(encrypt, key),
			},
		},
		"maintain": {
			doc: "scheduled: curated table maintenance: compaction, snapshot expiry, orphan removal (shared/maintain)",
			env: map[string]*string{
				envvar.CuratedBucket:          st.Curated.BucketName(),
				envvar.IcebergGlueDatabase:    jsii.String(l.Catalog.Name),
				envvar.MaintainKeepDays:       jsii.String(strconv.Itoa(s.MaintainKeepDays)),
				envvar.MaintainKeepSnapshots:  jsii.String(strconv.Itoa(s.MaintainKeepSnapshots)),
				envvar.MaintainOrphanAgeHours: jsii.String(strconv.Itoa(s.MaintainOrphanAgeHours)),
			},
			statements: []awsiam.PolicyStatement{
				// Orphan removal lists the tables' folders; the files of snapshots an erasure kept
				// for its grace are deleted with every version (they held the erased rows).
				allow([]string{"s3:ListBucket", "s3:ListBucketVersions"}, st.Curated.BucketArn()),
				allow([]string{"s3:DeleteObjectVersion"}, objects(st.Curated, "*/data/*"), objects(st.Curated, "*/metadata/*")),
				// Tables, promote's manifests, the locks compaction and pruning hold, and the
				// change streams' deletes objects, the erasures' records of snapshots kept for a grace.
				allow([]string{"s3:GetObject"}, objects(st.Curated, "*/data/*"), objects(st.Curated, "*/metadata/*"),
					objects(st.Curated, "_manifests/*"), objects(st.Curated, "_locks/*"), objects(st.Curated, "_cdc/*"), objects(st.Curated, "_erase/*")),
				// Compacted files (with their lineage sidecars), new metadata, the manifests and
				// locks, pruned deletes objects, erasure records rewritten, and the record of each run.
				allow([]string{"s3:PutObject", "s3:AbortMultipartUpload"}, objects(st.Curated, "*/data/*"), objects(st.Curated, "*/metadata/*"),
					objects(st.Curated, "_manifests/*"), objects(st.Curated, "_locks/*"), objects(st.Curated, "_cdc/*"), objects(st.Curated, "_erase/*"), objects(st.Curated, "_lineage/*"), objects(st.Curated, "_maintenance/*")),
				// Expired and orphan files of the tables, deletes objects no snapshot names,
				// cleared erasure records, and the lock on release; nothing else.
				allow([]string{"s3:DeleteObject"}, objects(st.Curated, "*/data/*"), objects(st.Curated, "*/metadata/*"), objects(st.Curated, "_cdc/*"),
					objects(st.Curated, "_erase/*"), objects(st.Curated, "_locks/*")),
				// Each commit (a compaction, an expiry) swaps curated_<dataset>'s metadata at the
				// Glue version it read; maintenance never creates a table.
				allow([]string{"glue:GetTable", "glue:UpdateTable"},
					glueARN(stack, "catalog"), glueARN(stack, "database/"+l.Catalog.Name), glueARN(stack, "table/"+l.Catalog.Name+"/curated_*")),
				allow(encrypt, key),
			},
		},
		"query": {
			doc: "structured queries on Athena behind the HTTP API: start, poll, page",
			env: map[string]*string{
				envvar.AthenaWorkGroup:          l.Catalog.WorkGroup.Ref(),
				envvar.GlueDatabase:             jsii.String(l.Catalog.Name),
				envvar.AthenaResultReuseMinutes: jsii.String(strconv.Itoa(s.ResultReuseMinutes)),
				envvar.RawSQL:                   jsii.String(strconv.FormatBool(s.RawSQL)),
				envvar.CuratedBucket:            st.Curated.BucketName(),
				envvar.AuditBucket:              st.Audit.BucketName(),
				// The catalog (GET /datasets) lists every zone and reads Parquet footers.
				envvar.RawBucket:        st.Raw.BucketName(),
				envvar.CleansedBucket:   st.Cleansed.BucketName(),
				envvar.QuarantineBucket: st.Quarantine.BucketName(),
				// POST /erase hashes a key with promote's PII key to find its curated rows.
				envvar.PIIKeySecretARN: piiKey.SecretArn(),
				envvar.EraseGrace:      jsii.String(s.EraseGrace),
			},
			statements: []awsiam.PolicyStatement{
				// POST /erase (shared/erase; callers need a grant with manage): every object of
				// the zones is read and, where it holds the key, rewritten or deleted, and the
				// noncurrent versions holding it deleted for good; the curated table gets a
				// new snapshot (data files, metadata) and its expired files are deleted.
				allow([]string{"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"},
					objects(st.Raw, "*"), objects(st.Cleansed, "*"), objects(st.Curated, "*"), objects(st.Quarantine, "*")),
				allow([]string{"s3:ListBucket", "s3:ListBucketVersions"}, st.Raw.BucketArn(), st.Cleansed.BucketArn(), st.Curated.BucketArn(), st.Quarantine.BucketArn()),
				allow([]string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, piiKey.SecretArn()),
				// Each request's record, written once; reading the trail back is a query.
				allow([]string{"s3:PutObject"}, objects(st.Audit, "audit/*")),
				// A rollback (POST /tables/{dataset}/rollback) writes a curated table's new
				// metadata and swaps it in Glue; data files are never written here.
				allow([]string{"s3:PutObject"}, objects(st.Curated, "*/metadata/*")),
				allow([]string{"glue:UpdateTable"}, glueARN(stack, "catalog"), glueARN(stack, "database/"+l.Catalog.Name), glueARN(stack, "table/"+l.Catalog.Name+"/curated_*")),
				// The catalog's quality: the rejected records' reasons, shown masked.
				allow([]string{"s3:ListBucket"}, st.Quarantine.BucketArn()),
				allow([]string{"s3:GetObject"}, objects(st.Quarantine, "*")),
				allow([]string{"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup"},
					jsii.String(fmt.Sprintf("arn:%s:athena:%s:%s:workgroup/%s", *stack.Partition(), *stack.Region(), *stack.Account(), *l.Catalog.WorkGroup.Ref()))),
				// Tables come and go with contracts: the grant covers the stage's database, not a list.
				allow([]string{"glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"},
					glueARN(stack, "catalog"), glueARN(stack, "database/"+l.Catalog.Name), glueARN(stack, "table/"+l.Catalog.Name+"/*")),
				// Athena reads table data with the caller's credentials.
				allow([]string{"s3:GetObject"}, objects(st.Raw, "archive/*"), objects(st.Cleansed, "*"), objects(st.Curated, "*"), objects(st.Consumption, "*"), objects(st.Lineage, "lineage/*"), objects(st.Lineage, "compacted/*"), objects(st.Audit, "audit/*")),
				allow([]string{"s3:ListBucket", "s3:GetBucketLocation"}, st.Raw.BucketArn(), st.Cleansed.BucketArn(), st.Curated.BucketArn(), st.Consumption.BucketArn(), st.Lineage.BucketArn(), st.Audit.BucketArn(), st.Results.BucketArn()),
				allow([]string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}, objects(st.Results, "results/*")),
				allow(encrypt, key),
			},
		},
		"summarize": {
			doc: "keeps the consumption zone's summary tables: recomputes the days curated writes touched, on Athena",
			env: map[string]*string{
				envvar.CuratedBucket:     st.Curated.BucketName(),
				envvar.ConsumptionBucket: st.Consumption.BucketName(),
				envvar.AthenaWorkGroup:   l.Catalog.WorkGroup.Ref(),
				envvar.GlueDatabase:      jsii.String(l.Catalog.Name),
			},
			statements: []awsiam.PolicyStatement{
				allow([]string{"athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup"},
					jsii.String(fmt.Sprintf("arn:%s:athena:%s:%s:workgroup/%s", *stack.Partition(), *stack.Region(), *stack.Account(), *l.Catalog.WorkGroup.Ref()))),
				// Athena reads the curated Iceberg tables (metadata and data) with this role.
				allow([]string{"glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"},
					glueARN(stack, "catalog"), glueARN(stack, "database/"+l.Catalog.Name), glueARN(stack, "table/"+l.Catalog.Name+"/curated_*")),
				allow([]string{"s3:GetObject"}, objects(st.Curated, "*")),
				allow([]string{"s3:ListBucket", "s3:GetBucketLocation"}, st.Curated.BucketArn(), st.Results.BucketArn()),
				allow([]string{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"}, objects(st.Results, "results/*")),
				// Each day's object is replaced whole, an emptied day removed; its lineage record
				// goes to a sidecar under _lineage/ when too long for metadata.
				allow([]string{"s3:ListBucket"}, st.Consumption.BucketArn()),
				allow([]string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, objects(st.Consumption, "*")),
				allow(encrypt, key),
			},
		},
		"collect": {
			doc: "events over HTTP: validate each record, put the valid ones on their dataset's stream, answer per record",
			env: map[string]*string{
				envvar.StreamName: l.Stream.Kinesis.StreamName(),
				// Datasets with a stream of their own; the others go to the shared stream, each
				// record with its _dataset.
				envvar.DatasetStreams: jsii.String(l.Streams.Encode()),
			},
			statements: []awsiam.PolicyStatement{
				// PutRecords only: collect never reads a stream. Encrypting a record with the
				// stream's key needs GenerateDataKey, and nothing else of KMS.
				allow([]string{"kinesis:PutRecords"}, streamArns(l)...),
				allow([]string{"kms:GenerateDataKey"}, key),
			},
		},
	}

	out := map[string]awslambda.Function{}
	for _, name := range append(slices.Clone(Functions), Scheduled...) {
		f := fns[name]
		spec := Specs[name]
		id := capitalize(name)
		logs := awslogs.NewLogGroup(stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
			Retention:     retention(s.LogRetentionDays),
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		// A role per function, with no managed policies: what each may do is listed above.
		role := awsiam.NewRole(stack, jsii.String(id+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("sluice " + name + ": " + f.doc),
		})
		role.AddToPolicy(allow([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, jsii.String(*logs.LogGroupArn()+":*")))
		for _, stmt := range f.statements {
			role.AddToPolicy(stmt)
		}
		env := map[string]*string{}
		for k, v := range common {
			env[k] = jsii.String(v)
		}
		for k, v := range f.env {
			env[k] = v
		}
		out[name] = awslambda.NewFunction(stack, jsii.String(FunctionLogicalID(name)), &awslambda.FunctionProps{
			Description:           jsii.String("sluice " + name + ": " + f.doc),
			Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
			Architecture:          awslambda.Architecture_ARM_64(),
			Handler:               jsii.String("bootstrap"),
			Code:                  code(name),
			MemorySize:            jsii.Number(spec.MemoryMB),
			Timeout:               awscdk.Duration_Seconds(jsii.Number(spec.TimeoutSeconds)),
			Role:                  role,
			LogGroup:              logs,
			LoggingFormat:         awslambda.LoggingFormat_JSON,
			ApplicationLogLevelV2: awslambda.ApplicationLogLevel(s.LogLevel),
			SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
			Tracing:               awslambda.Tracing_ACTIVE,
			Environment:           &env,
			// The functions never call themselves; Lambda stops a loop if one ever forms.
			RecursiveLoop: awslambda.RecursiveLoop_TERMINATE,
		})
	}
	return out
}
