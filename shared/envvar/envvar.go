// Package envvar names the environment variables that configure the functions: the stack
// (infra/lake) sets them, the functions read them, the local host (localstack/lakehost) sets them
// as the stack would. Each function's variables are declared once, in Functions; the stack's
// tests check it sets exactly a function's Set, and startup refuses to read a variable the
// function does not declare.
package envvar

import (
	"fmt"
	"slices"
	"strings"
)

// The variables, each read by the functions named after it.
const (
	LogLevel = "SLUICE_LOG_LEVEL" // every function (shared/obs): debug, info, warn or error
	Tracing  = "SLUICE_TRACING"   // every function (shared/tracing): force X-Ray tracing on or off

	RawBucket        = "SLUICE_RAW_BUCKET"        // validate, lineage
	CleansedBucket   = "SLUICE_CLEANSED_BUCKET"   // ingest, validate, promote, lineage
	CuratedBucket    = "SLUICE_CURATED_BUCKET"    // promote, lineage, query
	QuarantineBucket = "SLUICE_QUARANTINE_BUCKET" // ingest, validate, lineage
	LineageBucket    = "SLUICE_LINEAGE_BUCKET"    // lineage
	AuditBucket      = "SLUICE_AUDIT_BUCKET"      // query: where every API request is recorded
	// summarize: where the summary tables go; lineage and query: a zone like the others.
	ConsumptionBucket = "SLUICE_CONSUMPTION_BUCKET"

	DefaultDataset = "SLUICE_DEFAULT_DATASET" // ingest: the dataset of a record that names none

	// KafkaTopics is the JSON object Kafka topic → dataset (ingest: the dataset of a topic's
	// records without _dataset); KafkaSchemaIDs the JSON object schema id → dataset or
	// "dataset@contract version" (ingest: how Avro values in the Confluent wire format are read).
	KafkaTopics    = "SLUICE_KAFKA_TOPICS"
	KafkaSchemaIDs = "SLUICE_KAFKA_SCHEMA_IDS"

	ValidateChunkRows      = "SLUICE_VALIDATE_CHUNK_ROWS"       // validate: rows per cleansed file
	ValidateMaxGunzipBytes = "SLUICE_VALIDATE_MAX_GUNZIP_BYTES" // validate: the most a gzip may expand to

	PIIKeySecretARN    = "SLUICE_PII_KEY_SECRET_ARN"   // promote: the secret holding the PII hashing key
	PIIKey             = "SLUICE_PII_KEY"              // promote: the key itself, where there is no secret (the local host)
	PromoteTargetBytes = "SLUICE_PROMOTE_TARGET_BYTES" // promote: curated file size
	PromoteStepBytes   = "SLUICE_PROMOTE_STEP_BYTES"   // promote: bytes converted per step
	// promote: the Glue database that catalogs the curated Iceberg tables; unset keeps each
	// table's pointer in the curated bucket.
	IcebergGlueDatabase = "SLUICE_ICEBERG_GLUE_DATABASE"

	StreamName        = "SLUICE_STREAM_NAME"         // lineage: the stream ingest reads, an input of cleansed files; collect: the shared stream
	OpenLineageURL    = "SLUICE_OPENLINEAGE_URL"     // lineage: where run events are forwarded, if set
	OpenLineageAPIKey = "SLUICE_OPENLINEAGE_API_KEY" // lineage: the bearer token for it

	AthenaWorkGroup          = "SLUICE_ATHENA_WORKGROUP"            // query
	GlueDatabase             = "SLUICE_GLUE_DATABASE"               // query
	AthenaResultReuseMinutes = "SLUICE_ATHENA_RESULT_REUSE_MINUTES" // query
	RawSQL                   = "SLUICE_RAW_SQL"                     // query: accept SELECTs beside structured queries
	// query: how long POST /erase keeps the curated snapshots that still reference erased
	// rows (a Go duration, e.g. 1h), for queries already reading them; default 0.
	EraseGrace = "SLUICE_ERASE_GRACE"

	CompactLookbackHours = "SLUICE_COMPACT_LOOKBACK_HOURS" // lineagecompact: how many closed hours a run looks back
	CompactMaxObjects    = "SLUICE_COMPACT_MAX_OBJECTS"    // lineagecompact: lineage objects per hour and run

	// maintain (curated table maintenance, shared/maintain): snapshots kept younger than days
	// and at least this many, the age below which an unreferenced file is left, the metadata
	// files the log keeps, the partitions compacted per table and run, and the days a change
	// stream's deleted keys are remembered after their delete.
	MaintainKeepDays               = "SLUICE_MAINTAIN_KEEP_DAYS"
	MaintainKeepSnapshots          = "SLUICE_MAINTAIN_KEEP_SNAPSHOTS"
	MaintainOrphanAgeHours         = "SLUICE_MAINTAIN_ORPHAN_AGE_HOURS"
	MaintainKeepMetadataFiles      = "SLUICE_MAINTAIN_KEEP_METADATA_FILES"
	MaintainCompactPartitions      = "SLUICE_MAINTAIN_COMPACT_PARTITIONS"
	MaintainCDCDeleteRetentionDays = "SLUICE_MAINTAIN_CDC_DELETE_RETENTION_DAYS"

	// DatasetStreams is the JSON object dataset → stream name (shared/streammap): which stream
	// carries which dataset.
	DatasetStreams = "SLUICE_DATASET_STREAMS"

	QueryURL = "SLUICE_QUERY_URL" // the query CLI (make query, make lineage): the API's base URL
	Caller   = "SLUICE_CALLER"    // the query CLI against the local host: the caller ARN requests are made as

	// Tools and LocalQueryLatency configure the local host, not a function: where `make tools`
	// put the npm stand-ins, and the least time each local query takes (as Athena's 1-2 s).
	Tools             = "SLUICE_TOOLS"
	LocalQueryLatency = "SLUICE_LOCAL_QUERY_LATENCY"
)

// Vars are the variables one function reads.
type Vars struct {
	// Set are what the stack sets on the function, and all of them are read.
	Set []string
	// Tunable are read when set and never set by the stack: an operator's override of a
	// default, or what the local host sets in place of an AWS service.
	Tunable []string
}

// Every function starts through shared/startup, which logs through shared/obs; those that trace
// their AWS calls (all but lineage) link shared/tracing.
var (
	common        = []string{LogLevel}
	commonTunable = []string{Tracing}
)

// Functions declares each function's variables.
var Functions = map[string]Vars{
	"ingest": {
		Set:     with(CleansedBucket, QuarantineBucket, DefaultDataset, DatasetStreams, StreamName, KafkaTopics, KafkaSchemaIDs),
		Tunable: tunable(),
	},
	"validate": {
		Set:     with(RawBucket, CleansedBucket, QuarantineBucket),
		Tunable: tunable(ValidateChunkRows, ValidateMaxGunzipBytes),
	},
	"promote": {
		Set:     with(CleansedBucket, CuratedBucket, PIIKeySecretARN, IcebergGlueDatabase),
		Tunable: tunable(PIIKey, PromoteTargetBytes, PromoteStepBytes),
	},
	"lineage": {
		Set: with(LineageBucket, OpenLineageURL, RawBucket, CleansedBucket, CuratedBucket, QuarantineBucket, ConsumptionBucket, StreamName),
		// No Tracing: lineage links no X-Ray SDK (Lambda's active tracing still records it).
		Tunable: []string{OpenLineageAPIKey},
	},
	"query": {
		Set:     with(AthenaWorkGroup, GlueDatabase, AthenaResultReuseMinutes, RawSQL, CuratedBucket, AuditBucket, RawBucket, CleansedBucket, QuarantineBucket, PIIKeySecretARN, EraseGrace),
		Tunable: tunable(PIIKey),
	},
	"collect": {
		Set:     with(StreamName, DatasetStreams),
		Tunable: tunable(),
	},
	"summarize": {
		Set:     with(CuratedBucket, ConsumptionBucket, AthenaWorkGroup, GlueDatabase),
		Tunable: tunable(),
	},
	"lineagecompact": {
		Set: with(LineageBucket),
		// No Tracing: lineagecompact links no X-Ray SDK.
		Tunable: []string{CompactLookbackHours, CompactMaxObjects},
	},
	"maintain": {
		Set: with(CuratedBucket, IcebergGlueDatabase, MaintainKeepDays, MaintainKeepSnapshots, MaintainOrphanAgeHours),
		// No Tracing: maintain links no X-Ray SDK.
		Tunable: []string{MaintainKeepMetadataFiles, MaintainCompactPartitions, MaintainCDCDeleteRetentionDays, PromoteTargetBytes},
	},
}

func with(names ...string) []string    { return append(slices.Clone(common), names...) }
func tunable(names ...string) []string { return append(slices.Clone(commonTunable), names...) }

// Check says whether function fn may read the variable name: an error when fn does not declare
// it (variables outside SLUICE_, set by Lambda or by the SDK's conventions, are not checked).
func Check(fn, name string) error {
	if !strings.HasPrefix(name, "SLUICE_") {
		return nil
	}
	v, ok := Functions[fn]
	if !ok {
		return fmt.Errorf("function %q is not in envvar.Functions: declare the variables it reads there", fn)
	}
	if slices.Contains(v.Set, name) || slices.Contains(v.Tunable, name) {
		return nil
	}
	return fmt.Errorf("function %s reads %s, which envvar.Functions[%q] does not declare: add it to Set (and set it in infra/lake/functions.go) or to Tunable", fn, name, fn)
}
