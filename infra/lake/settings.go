package lake

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/constructs-go/constructs/v10"

	"github.com/sluicelake/sluice/shared/archive"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/maintain"
)

// Settings are the deploy-time choices an operator makes, read from CDK context (cdk.json or
// `cdk deploy -c key=value`). Defaults holds the value of each when the context is silent; the
// README's settings table lists the same keys.
type Settings struct {
	Stage                    string   // stage: names the Glue database (sluice_<stage>), workgroup and stack
	LogLevel                 string   // logLevel: DEBUG, INFO, WARN or ERROR for every function
	LogRetentionDays         int      // logRetentionDays: CloudWatch Logs retention of functions, Firehose and API access logs
	StreamMode               string   // streamMode: ON_DEMAND or PROVISIONED
	StreamShards             int      // streamShards: shard count when PROVISIONED
	StreamRetentionHours     int      // streamRetentionHours: how long records stay replayable in Kinesis
	AlarmEmail               string   // alarmEmail: subscribed to the alarm topic when set
	APIPrincipals            []string // apiPrincipals: IAM principal ARNs allowed to assume the query API caller role; empty means this account
	BytesScannedCutoff       int64    // athenaBytesScannedCutoff: Athena cancels a query that scans more (bytes, >= 10 MB)
	ResultReuseMinutes       int      // athenaResultReuseMinutes: how long the query function reuses an identical query's results
	RawSQL                   bool     // queryRawSql: lets the query API accept SQL text besides structured queries
	ArchiveDataset           string   // archiveDataset: the dataset Firehose converts to Parquet in the raw archive
	RawInfrequentAccessDays  int      // rawInfrequentAccessDays: raw objects move to S3 Standard-IA after this many days
	RawGlacierDays           int      // rawGlacierDays: raw objects move to Glacier Instant Retrieval after this many days
	ResultsExpireDays        int      // athenaResultsExpireDays: Athena results are deleted after this many days
	QuarantineExpireDays     int      // quarantineExpireDays: quarantined records are deleted after this many days
	AccessLogsExpireDays     int      // accessLogsExpireDays: S3 server access logs are deleted after this many days
	NoncurrentExpireDays     int      // noncurrentVersionExpireDays: overwritten or deleted versions in versioned buckets are kept this long
	OpenLineageURL           string   // openLineageUrl: optional HTTP endpoint the lineage function also posts events to
	QuarantineAlarmPercent   float64  // quarantineAlarmPercent: alarm when more than this share of records is quarantined in 15 minutes
	IteratorAgeAlarmSeconds  int      // iteratorAgeAlarmSeconds: alarm when ingest falls this far behind the stream
	FirehoseBufferSeconds    int      // firehoseBufferSeconds: Firehose flush interval (60-900)
	FirehoseBufferMB         int      // firehoseBufferMB: Firehose flush size (64-128 with Parquet conversion)
	IngestBatchSize          int      // ingestBatchSize: records per ingest invocation (<= 10000; 6 MB cap applies)
	IngestBatchWindowSeconds int      // ingestBatchWindowSeconds: how long Lambda gathers records before invoking ingest
	IngestParallelization    int      // ingestParallelization: concurrent ingest batches per shard (1-10)
	PromoteMaxConcurrency    int      // promoteMaxConcurrency: most promote invocations the SQS trigger runs at once (2-1000)
	MaintainEveryHours       int      // maintainEveryHours: how often the maintain function runs over the curated tables (1-168)
	MaintainKeepDays         int      // maintainKeepDays: curated snapshots younger than this are kept (time travel reaches this far)
	MaintainKeepSnapshots    int      // maintainKeepSnapshots: the newest this many curated snapshots are kept whatever their age
	MaintainOrphanAgeHours   int      // maintainOrphanAgeHours: an unreferenced file under a table younger than this is left (a commit in flight)
	ProjectionStart          string   // projectionStart: the first dt (yyyy-MM-dd) Athena's partition projection looks for
	EraseGrace               string   // eraseGrace: how long POST /erase keeps curated snapshots that still reference erased rows (a Go duration)
	ProducerPrincipals       []string // producerPrincipals: IAM principal ARNs allowed to assume the producer role; empty means this account
	DatasetStreams           bool     // datasetStreams: each dataset gets a Kinesis stream (and Firehose archive) of its own besides the shared stream
	SharedStreamDatasets     []string // sharedStreamDatasets: datasets left on the shared stream only (their records name them in _dataset)
	AuditRetentionDays       int      // auditRetentionDays: how long the query API's audit records are kept
	CloudTrailDataEvents     bool     // cloudTrailDataEvents: a CloudTrail trail of S3 data events (every object read and write) on the zone buckets
	LakeFormation            bool     // lakeFormation: the catalog under Lake Formation, with LF-tags from the contracts and grants from events/access
	LakeFormationAdmins      []string // lakeFormationAdmins: further Lake Formation administrators besides the CDK deployment role

	// Kafka holds the kafka* settings: Kafka topics as a source of ingest (kafka.go), off by default.
	Kafka KafkaSettings
}

// Defaults are the settings when the context names none.
var Defaults = Settings{
	Stage:                    "dev",
	LogLevel:                 "INFO",
	LogRetentionDays:         30,
	StreamMode:               "ON_DEMAND",
	StreamShards:             1,
	StreamRetentionHours:     24,
	BytesScannedCutoff:       10 << 30,
	ResultReuseMinutes:       60,
	ArchiveDataset:           "user_events",
	RawInfrequentAccessDays:  30,
	RawGlacierDays:           90,
	ResultsExpireDays:        7,
	QuarantineExpireDays:     30,
	AccessLogsExpireDays:     90,
	NoncurrentExpireDays:     30,
	QuarantineAlarmPercent:   5,
	IteratorAgeAlarmSeconds:  300,
	FirehoseBufferSeconds:    archive.DefaultBufferSeconds,
	FirehoseBufferMB:         archive.DefaultBufferMB,
	IngestBatchSize:          10000,
	IngestBatchWindowSeconds: 10,
	IngestParallelization:    1,
	PromoteMaxConcurrency:    2,
	MaintainEveryHours:       24,
	MaintainKeepDays:         maintain.DefaultKeepDays,
	MaintainKeepSnapshots:    maintain.DefaultKeepSnapshots,
	MaintainOrphanAgeHours:   int(iceberg.DefaultOrphanAge / time.Hour),
	// A fixed date, not the day of the synth, so the same settings always give the same template.
	ProjectionStart: "2026-11-01",
	// Athena's longest query runs 30 minutes by default: a reader that loaded the table before
	// an erasure has finished with its snapshot by then.
	EraseGrace:     "30m",
	DatasetStreams: true,
	// Long enough for a yearly access review.
	AuditRetentionDays: 400,
	Kafka:              KafkaDefaults,
}

var stagePattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)

// retentionDays are the values CloudWatch Logs accepts.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// SettingsFromContext reads the settings from a construct's context, starting from Defaults.
// Context from cdk.json arrives typed (numbers, booleans); from `-c key=value` it is always a
// string: both are accepted.
func SettingsFromContext(node constructs.Node) (Settings, error) {
	s := Defaults
	r := ctxReader{node: node}
	r.str("stage", &s.Stage)
	r.str("logLevel", &s.LogLevel)
	r.num("logRetentionDays", &s.LogRetentionDays)
	r.str("streamMode", &s.StreamMode)
	r.num("streamShards", &s.StreamShards)
	r.num("streamRetentionHours", &s.StreamRetentionHours)
	r.str("alarmEmail", &s.AlarmEmail)
	r.list("apiPrincipals", &s.APIPrincipals)
	r.list("producerPrincipals", &s.ProducerPrincipals)
	var cutoff int
	if r.num("athenaBytesScannedCutoff", &cutoff) {
		s.BytesScannedCutoff = int64(cutoff)
	}
	r.num("athenaResultReuseMinutes", &s.ResultReuseMinutes)
	r.boolean("queryRawSql", &s.RawSQL)
	r.str("archiveDataset", &s.ArchiveDataset)
	r.num("rawInfrequentAccessDays", &s.RawInfrequentAccessDays)
	r.num("rawGlacierDays", &s.RawGlacierDays)
	r.num("athenaResultsExpireDays", &s.ResultsExpireDays)
	r.num("quarantineExpireDays", &s.QuarantineExpireDays)
	r.num("accessLogsExpireDays", &s.AccessLogsExpireDays)
	r.num("noncurrentVersionExpireDays", &s.NoncurrentExpireDays)
	r.str("openLineageUrl", &s.OpenLineageURL)
	var pct int
	if r.num("quarantineAlarmPercent", &pct) {
		s.QuarantineAlarmPercent = float64(pct)
	}
	r.num("iteratorAgeAlarmSeconds", &s.IteratorAgeAlarmSeconds)
	r.num("firehoseBufferSeconds", &s.FirehoseBufferSeconds)
	r.num("firehoseBufferMB", &s.FirehoseBufferMB)
	r.num("ingestBatchSize", &s.IngestBatchSize)
	r.num("ingestBatchWindowSeconds", &s.IngestBatchWindowSeconds)
	r.num("ingestParallelization", &s.IngestParallelization)
	r.num("promoteMaxConcurrency", &s.PromoteMaxConcurrency)
	r.num("maintainEveryHours", &s.MaintainEveryHours)
	r.num("maintainKeepDays", &s.MaintainKeepDays)
	r.num("maintainKeepSnapshots", &s.MaintainKeepSnapshots)
	r.num("maintainOrphanAgeHours", &s.MaintainOrphanAgeHours)
	r.str("projectionStart", &s.ProjectionStart)
	r.str("eraseGrace", &s.EraseGrace)
	r.boolean("datasetStreams", &s.DatasetStreams)
	r.list("sharedStreamDatasets", &s.SharedStreamDatasets)
	r.num("auditRetentionDays", &s.AuditRetentionDays)
	r.boolean("cloudTrailDataEvents", &s.CloudTrailDataEvents)
	r.boolean("lakeFormation", &s.LakeFormation)
	r.list("lakeFormationAdmins", &s.LakeFormationAdmins)
	readKafka(&r, &s.Kafka)
	if r.err != nil {
		return s, r.err
	}
	return s, s.Validate()
}

// Validate reports the first setting AWS would reject, naming the context key to change.
func (s Settings) Validate() error {
	bad := func(key string, v any, want string) error {
		return fmt.Errorf("context %s=%v: %s (set it in infra/cdk.json or with -c %s=...)", key, v, want, key)
	}
	switch {
	case !stagePattern.MatchString(s.Stage):
		return bad("stage", s.Stage, "want 1-16 lowercase letters and digits, starting with a letter")
	case !slices.Contains([]string{"DEBUG", "INFO", "WARN", "ERROR"}, s.LogLevel):
		return bad("logLevel", s.LogLevel, "want DEBUG, INFO, WARN or ERROR")
	case !slices.Contains(retentionDays, s.LogRetentionDays):
		return bad("logRetentionDays", s.LogRetentionDays, fmt.Sprintf("want one of %v", retentionDays))
	case !slices.Contains([]string{"ON_DEMAND", "PROVISIONED"}, s.StreamMode):
		return bad("streamMode", s.StreamMode, "want ON_DEMAND or PROVISIONED")
	case s.StreamShards < 1:
		return bad("streamShards", s.StreamShards, "want at least 1")
	case s.StreamRetentionHours < 24 || s.StreamRetentionHours > 8760:
		return bad("streamRetentionHours", s.StreamRetentionHours, "want 24 to 8760")
	case s.BytesScannedCutoff < 10_000_000:
		return bad("athenaBytesScannedCutoff", s.BytesScannedCutoff, "Athena's minimum is 10000000 bytes")
	case s.ResultReuseMinutes < 0 || s.ResultReuseMinutes > 10080:
		return bad("athenaResultReuseMinutes", s.ResultReuseMinutes, "want 0 to 10080 (7 days)")
	case s.RawInfrequentAccessDays < 30:
		return bad("rawInfrequentAccessDays", s.RawInfrequentAccessDays, "S3 allows Standard-IA from 30 days")
	case s.RawGlacierDays < s.RawInfrequentAccessDays+30:
		return bad("rawGlacierDays", s.RawGlacierDays, "want at least 30 days after rawInfrequentAccessDays")
	case s.ResultsExpireDays < 1, s.QuarantineExpireDays < 1, s.AccessLogsExpireDays < 1, s.NoncurrentExpireDays < 1:
		return fmt.Errorf("context athenaResultsExpireDays, quarantineExpireDays, accessLogsExpireDays and noncurrentVersionExpireDays must each be at least 1")
	case s.QuarantineAlarmPercent <= 0 || s.QuarantineAlarmPercent > 100:
		return bad("quarantineAlarmPercent", s.QuarantineAlarmPercent, "want 1 to 100")
	case s.IteratorAgeAlarmSeconds < 1:
		return bad("iteratorAgeAlarmSeconds", s.IteratorAgeAlarmSeconds, "want at least 1")
	case s.FirehoseBufferSeconds < 60 || s.FirehoseBufferSeconds > 900:
		return bad("firehoseBufferSeconds", s.FirehoseBufferSeconds, "want 60 to 900")
	case s.FirehoseBufferMB < 64 || s.FirehoseBufferMB > 128:
		return bad("firehoseBufferMB", s.FirehoseBufferMB, "Parquet conversion needs 64 to 128")
	case s.IngestBatchSize < 1 || s.IngestBatchSize > 10000:
		return bad("ingestBatchSize", s.IngestBatchSize, "want 1 to 10000")
	case s.IngestBatchWindowSeconds < 0 || s.IngestBatchWindowSeconds > 300:
		return bad("ingestBatchWindowSeconds", s.IngestBatchWindowSeconds, "want 0 to 300")
	case s.IngestParallelization < 1 || s.IngestParallelization > 10:
		return bad("ingestParallelization", s.IngestParallelization, "want 1 to 10")
	case s.PromoteMaxConcurrency < 2 || s.PromoteMaxConcurrency > 1000:
		return bad("promoteMaxConcurrency", s.PromoteMaxConcurrency, "Lambda accepts 2 to 1000")
	case s.MaintainEveryHours < 1 || s.MaintainEveryHours > 168:
		return bad("maintainEveryHours", s.MaintainEveryHours, "want 1 to 168 (a week)")
	case s.MaintainKeepDays < 1:
		return bad("maintainKeepDays", s.MaintainKeepDays, "want at least 1")
	case s.MaintainKeepSnapshots < 1:
		return bad("maintainKeepSnapshots", s.MaintainKeepSnapshots, "want at least 1 (the current snapshot is always kept)")
	case s.MaintainOrphanAgeHours < 24:
		return bad("maintainOrphanAgeHours", s.MaintainOrphanAgeHours, "want at least 24: a younger unreferenced file may belong to a commit still in flight")
	case s.AuditRetentionDays < 1:
		return bad("auditRetentionDays", s.AuditRetentionDays, "want at least 1")
	}
	if d, err := time.ParseDuration(s.EraseGrace); err != nil || d < 0 {
		return bad("eraseGrace", s.EraseGrace, "want a duration such as 0s, 30m or 24h")
	}
	if _, err := time.Parse(time.DateOnly, s.ProjectionStart); err != nil {
		return bad("projectionStart", s.ProjectionStart, "want a date as yyyy-MM-dd, the day of the oldest event you will load")
	}
	if err := s.Kafka.validate(nil); err != nil {
		return err
	}
	for key, arns := range map[string][]string{"apiPrincipals": s.APIPrincipals, "producerPrincipals": s.ProducerPrincipals, "lakeFormationAdmins": s.LakeFormationAdmins} {
		for _, p := range arns {
			if !strings.HasPrefix(p, "arn:") {
				return bad(key, p, "want comma-separated IAM ARNs")
			}
		}
	}
	return nil
}

// OwnStream says whether a dataset gets a stream of its own.
func (s Settings) OwnStream(dataset string) bool {
	return s.DatasetStreams && !slices.Contains(s.SharedStreamDatasets, dataset)
}

// GlueDatabase is the catalog database the stage's tables live in.
func (s Settings) GlueDatabase() string { return "sluice_" + s.Stage }

type ctxReader struct {
	node constructs.Node
	err  error
}

func (r *ctxReader) get(key string) (any, bool) {
	v := r.node.TryGetContext(&key)
	if v == nil {
		return nil, false
	}
	return v, true
}

func (r *ctxReader) str(key string, dst *string) bool {
	v, ok := r.get(key)
	if !ok {
		return false
	}
	*dst = fmt.Sprint(v)
	return true
}

// list reads a comma-separated list, dropping empty entries.
func (r *ctxReader) list(key string, dst *[]string) bool {
	var v string
	if !r.str(key, &v) {
		return false
	}
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			*dst = append(*dst, e)
		}
	}
	return true
}

func (r *ctxReader) num(key string, dst *int) bool {
	v, ok := r.get(key)
	if !ok {
		return false
	}
	switch n := v.(type) {
	case float64:
		*dst = int(n)
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil && r.err == nil {
			r.err = fmt.Errorf("context %s=%q: want a whole number", key, n)
		}
		*dst = i
	default:
		if r.err == nil {
			r.err = fmt.Errorf("context %s=%v: want a whole number", key, v)
		}
	}
	return true
}

func (r *ctxReader) boolean(key string, dst *bool) bool {
	v, ok := r.get(key)
	if !ok {
		return false
	}
	switch b := v.(type) {
	case bool:
		*dst = b
	case string:
		p, err := strconv.ParseBool(b)
		if err != nil && r.err == nil {
			r.err = fmt.Errorf("context %s=%q: want true or false", key, b)
		}
		*dst = p
	default:
		if r.err == nil {
			r.err = fmt.Errorf("context %s=%v: want true or false", key, v)
		}
	}
	return true
}
