// Package cost estimates what the sluice stack bills in a month for a given traffic: every part
// infra/lake creates, priced per the rules AWS bills by (per-record rounding, minimums, requests
// per object), from list prices kept as data in this package. `make cost` prints the table and
// infra/README.md's cost note is its output.
package cost

import (
	"errors"
	"fmt"
	"math"
)

// Scenario is the traffic and the stack settings a month is estimated for. Default mirrors
// infra/lake's Defaults and Specs (TestDefaultScenarioMatchesTheStack holds it to them).
type Scenario struct {
	Days float64 // the month

	// The stream.
	RecordsPerSecond  float64 // mean rate over the month
	RecordBytes       int     // mean JSON record
	PartitionKeyBytes int
	Datasets          int     // datasets in the stream: ingest writes an object per dataset per batch
	BadShare          float64 // share of records quarantined
	StreamMode        string  // ON_DEMAND or PROVISIONED
	Shards            int     // shards of the stream; an on-demand stream starts with 4
	Streams           int     // on-demand streams billed per hour
	Archive           bool    // the Firehose archive reads the stream too
	// ArchiveShare is the share of records of the archive dataset: Firehose converts those to
	// Parquet, and writes the others, as the JSON they came as, under archive-errors/.
	ArchiveShare float64
	// StreamRetained: `make destroy` leaves the stream, which bills its hours until deleted by
	// hand. The CDK's default for a Kinesis stream; infra/lake deletes it with the stack since
	// main's f1b546c ("stream removed on destroy").
	StreamRetained bool

	// How the functions batch and run (infra/lake Defaults and Specs).
	IngestBatchSize       int
	IngestWindowSeconds   float64
	FirehoseBufferSeconds float64
	FirehoseBufferMB      float64
	Memory                map[string]int // MB per function
	// IngestMBPerCPUSecond is ingest's measured conversion rate (`make bench`), JSON MB (10^6
	// bytes) per vCPU-second; Lambda gives 1 vCPU per 1,769 MB, so GB-s per MB do not depend on
	// the memory size below that. IOWaitFactor scales it for the time spent on S3.
	IngestMBPerCPUSecond  float64
	PromoteMBPerCPUSecond float64
	IOWaitFactor          float64
	FixedMs               map[string]float64 // per invocation, beside the bytes it converts
	ParquetRatio          float64            // JSON bytes per Parquet byte

	// Promotion: each cleansed object is promoted into its curated hour partition, writing its
	// rows as a new file and merging the partition's files under half the target size, under
	// their own keys: the bytes merged become noncurrent versions in the versioned curated bucket.
	CleansedPerPromotion float64 // cleansed objects one promotion takes (promote's SQS batch)
	FilesPerPromotion    int     // curated objects a promotion reads and writes
	CompactTargetBytes   float64 // promote's target file size
	NoncurrentDays       float64 // noncurrentVersionExpireDays
	RawIADays            float64 // rawInfrequentAccessDays: raw objects move to Standard-IA
	RawGlacierDays       float64 // rawGlacierDays: and then to Glacier Instant Retrieval
	LogRetentionDays     float64
	AccessLogsDays       float64 // accessLogsExpireDays

	// File drops into raw landing/ (validate).
	FileDropsPerDay float64
	FileDropBytes   float64

	// Queries through the API.
	QueriesPerDay       float64
	ScanBytesPerQuery   int64 // Parquet bytes a query scans
	APIRequestsPerQuery float64
	S3GetsPerQuery      float64 // objects Athena reads per query

	// Operations.
	Alarms, AlarmMetrics int // 18 alarms; the quarantine-rate one is metric math over two metrics
	Dashboards, Keys     int
	Secrets              int
	CustomMetrics        int     // EMF: RecordsWritten and RecordsQuarantined for ingest and validate
	LogBytesPerInvoke    float64 // platform START/REPORT records plus our JSON lines
	KMSDataKeyUsers      float64 // principal-and-resource pairs asking KMS for a data key every 5 minutes
	SQSPollers           float64 // Lambda's long pollers per SQS queue, 20 s a poll
	// CloudTrailDataEvents prices the cloudTrailDataEvents setting: every S3 request on the zone
	// and audit buckets becomes a data event.
	CloudTrailDataEvents bool

	FreeTier bool // subtract the account's monthly free tier
}

// Default is the README's sample: 100 records a second of ~350 bytes over the two sample
// datasets, on an on-demand stream, with the stack's default settings and 100 queries a day.
func Default() Scenario {
	return Scenario{
		Days:                  30,
		RecordsPerSecond:      100,
		RecordBytes:           350,
		PartitionKeyBytes:     36,
		Datasets:              2,
		StreamMode:            "ON_DEMAND",
		Shards:                4,
		Streams:               1,
		Archive:               true,
		ArchiveShare:          0.5,
		StreamRetained:        false,
		IngestBatchSize:       10000,
		IngestWindowSeconds:   10,
		FirehoseBufferSeconds: 300,
		FirehoseBufferMB:      128,
		Memory:                map[string]int{"ingest": 256, "validate": 512, "promote": 1024, "lineage": 128, "query": 128},
		IngestMBPerCPUSecond:  95,
		PromoteMBPerCPUSecond: 80,
		IOWaitFactor:          2,
		FixedMs:               map[string]float64{"ingest": 100, "validate": 100, "promote": 200, "lineage": 100, "query": 200},
		ParquetRatio:          5.9,
		CleansedPerPromotion:  1,
		FilesPerPromotion:     2,
		CompactTargetBytes:    128 << 20,
		NoncurrentDays:        30,
		RawIADays:             30,
		RawGlacierDays:        90,
		LogRetentionDays:      30,
		AccessLogsDays:        90,
		QueriesPerDay:         100,
		ScanBytesPerQuery:     50 << 20,
		APIRequestsPerQuery:   3,
		S3GetsPerQuery:        20,
		Alarms:                18,
		AlarmMetrics:          19,
		Dashboards:            1,
		Keys:                  1,
		Secrets:               1,
		CustomMetrics:         4,
		LogBytesPerInvoke:     1536,
		KMSDataKeyUsers:       40,
		SQSPollers:            5,
	}
}

// Line is one billed item of a month.
type Line struct {
	Part  string // the service
	Item  string // what it bills for
	Usage string // the quantity billed, with its unit
	USD   float64
}

// Bill is a month of a scenario.
type Bill struct {
	Scenario Scenario
	Prices   Prices
	Lines    []Line
}

// Total is the sum of the lines.
func (b Bill) Total() float64 {
	var t float64
	for _, l := range b.Lines {
		t += l.USD
	}
	return t
}

// Validate reports the first parameter that makes no sense.
func (s Scenario) Validate() error {
	switch {
	case s.Days <= 0:
		return errors.New("cost: Days must be positive")
	case s.RecordsPerSecond < 0:
		return errors.New("cost: RecordsPerSecond must not be negative")
	case s.RecordBytes < 1 || s.RecordBytes > 1<<20:
		return errors.New("cost: RecordBytes must be 1 byte to 1 MB (Kinesis's record limit)")
	case s.Datasets < 1:
		return errors.New("cost: Datasets must be at least 1")
	case s.StreamMode != "ON_DEMAND" && s.StreamMode != "PROVISIONED":
		return fmt.Errorf("cost: StreamMode %q: use ON_DEMAND or PROVISIONED", s.StreamMode)
	case s.Shards < 1:
		return errors.New("cost: Shards must be at least 1")
	case s.IngestBatchSize < 1 || s.IngestWindowSeconds <= 0:
		return errors.New("cost: IngestBatchSize and IngestWindowSeconds must be positive")
	case s.BadShare < 0 || s.BadShare > 1 || s.ArchiveShare < 0 || s.ArchiveShare > 1:
		return errors.New("cost: BadShare and ArchiveShare are shares, 0 to 1")
	case s.ParquetRatio <= 0 || s.IngestMBPerCPUSecond <= 0 || s.PromoteMBPerCPUSecond <= 0:
		return errors.New("cost: ParquetRatio and the MB per CPU-second rates must be positive")
	case s.CleansedPerPromotion <= 0 || s.FirehoseBufferSeconds <= 0:
		return errors.New("cost: CleansedPerPromotion and FirehoseBufferSeconds must be positive")
	}
	for _, fn := range functionNames {
		if s.Memory[fn] < 128 {
			return fmt.Errorf("cost: Memory[%q] must be at least 128 MB", fn)
		}
	}
	return nil
}

// Estimate prices a month of the scenario.
func Estimate(s Scenario, p Prices) (Bill, error) {
	if err := s.Validate(); err != nil {
		return Bill{}, err
	}
	m := month{s: s, p: p, secs: s.Days * 86400, hours: s.Days * 24}
	m.stream()
	m.functions()
	m.storage()
	m.messaging()
	m.operations()
	m.queries()
	return Bill{Scenario: s, Prices: p, Lines: m.lines}, nil
}

// month accumulates the lines, and the counts one part hands the next (objects written,
// invocations), as it walks the stack from the stream to the queries.
type month struct {
	s            Scenario
	p            Prices
	secs, hours  float64
	lines        []Line
	records      float64
	invocations  map[string]float64
	gbSeconds    map[string]float64
	puts, gets   float64 // S3 requests
	zoneEvents   float64 // object-created events in raw, cleansed, curated, quarantine
	cleansed     float64 // objects ingest writes to cleansed
	promotions   float64
	rewritten    float64 // curated bytes promotions merge (and make noncurrent)
	archiveObjs  float64
	parquetBytes float64 // one copy of the month's records as Parquet
}

func (m *month) add(part, item, usage string, usd float64) {
	m.lines = append(m.lines, Line{Part: part, Item: item, Usage: usage, USD: usd})
}

// free subtracts an account's free allowance when the scenario asks for it.
func (m *month) free(q, allowance float64) float64 {
	if !m.s.FreeTier {
		return q
	}
	return max(q-allowance, 0)
}

func (m *month) stream() {
	s, p := m.s, m.p
	m.records = s.RecordsPerSecond * m.secs
	m.parquetBytes = m.records * float64(s.RecordBytes) * (1 - s.BadShare) / s.ParquetRatio
	consumers := 1.0 // ingest
	if s.Archive {
		consumers++
	}
	if s.StreamMode == "ON_DEMAND" {
		gb := m.records * float64(KinesisBilledBytes(s.RecordBytes)) / gib
		streams, in, out := p.KinesisOnDemand(float64(s.Streams), m.hours, m.records, s.RecordBytes, consumers)
		m.add("Kinesis", "on-demand stream-hours", fmt.Sprintf("%s h", num(float64(s.Streams)*m.hours)), streams)
		m.add("Kinesis", fmt.Sprintf("data in, %d B records billed as %s", s.RecordBytes, size(KinesisBilledBytes(s.RecordBytes))), gbs(gb), in)
		m.add("Kinesis", fmt.Sprintf("data out, %g consumers (ingest, Firehose), same rounding", consumers), gbs(consumers*gb), out)
	} else {
		shards, puts := p.KinesisProvisioned(float64(s.Shards), m.hours, m.records, s.RecordBytes)
		m.add("Kinesis", "provisioned shard-hours", fmt.Sprintf("%s h", num(float64(s.Shards)*m.hours)), shards)
		m.add("Kinesis", "PUT payload units (25 KB)", fmt.Sprintf("%s M", num(m.records*float64(PUTPayloadUnits(s.RecordBytes))/1e6)), puts)
	}
	if !s.Archive {
		return
	}
	ingested := m.records * float64(FirehoseBilledBytes(s.RecordBytes)) / gib
	ingestUSD, conversionUSD := p.FirehoseIngest(m.records, s.RecordBytes, true)
	delivered := m.records * float64(s.RecordBytes) / gib
	// An object per buffer interval while records flow, or per full buffer when that comes first;
	// the records arrive in event-time order, so one hour partition is open at a time, and the
	// error prefix is a second destination when some records are of other datasets.
	outputs := 1.0
	if s.ArchiveShare < 1 {
		outputs++
	}
	m.archiveObjs = outputs * max(m.secs/s.FirehoseBufferSeconds, delivered*1024/s.FirehoseBufferMB/outputs)
	if m.records == 0 {
		m.archiveObjs = 0
	}
	m.add("Firehose", fmt.Sprintf("ingestion, %d B records billed as %s", s.RecordBytes, size(FirehoseBilledBytes(s.RecordBytes))), gbs(ingested), ingestUSD)
	m.add("Firehose", "Parquet conversion, same 5 KB rounding", gbs(ingested), conversionUSD)
	m.add("Firehose", "dynamic partitioning, data (records' own bytes, an upper bound)", gbs(delivered), delivered*p.FirehosePartitionGB)
	m.add("Firehose", "dynamic partitioning, objects", fmt.Sprintf("%s objects", num(m.archiveObjs)), m.archiveObjs/1000*p.FirehosePer1000Objects)
	jq := 0.0
	if m.records > 0 {
		jq = m.hours // upper bound: every hour records flow is a JQ processing hour
	}
	m.add("Firehose", "jq processing hours (upper bound: every hour)", fmt.Sprintf("%s h", num(jq)), jq*p.FirehoseJQHour)
	m.puts += m.archiveObjs
	m.zoneEvents += m.archiveObjs
}

func (m *month) functions() {
	s := m.s
	m.invocations = map[string]float64{}
	m.gbSeconds = map[string]float64{}
	gb := func(fn string) float64 { return float64(s.Memory[fn]) / 1024 }
	// CPU-bound GB-s of converting bytes at mbps per vCPU: independent of memory below 1 vCPU.
	cpu := func(bytes, mbps float64) float64 { return bytes / (mbps * 1e6) * 1769 / 1024 * s.IOWaitFactor }

	// ingest: one invocation per shard per batch; a batch is what a shard gathers in the window,
	// up to the batch size and to what fits Lambda's 6 MB event.
	perShard := s.RecordsPerSecond / float64(s.Shards)
	fit := float64(LambdaPayloadLimit / LambdaKinesisRecordBytes(s.RecordBytes, s.PartitionKeyBytes))
	batch := max(min(float64(s.IngestBatchSize), fit, perShard*s.IngestWindowSeconds), 1)
	ingest := m.records / batch
	m.invocations["ingest"] = ingest
	m.gbSeconds["ingest"] = cpu(m.records*float64(s.RecordBytes), s.IngestMBPerCPUSecond) + ingest*s.FixedMs["ingest"]/1000*gb("ingest")
	m.cleansed = ingest * min(float64(s.Datasets), batch)
	quarantined := 0.0
	if s.BadShare > 0 {
		quarantined = ingest
	}
	m.puts += m.cleansed + quarantined
	m.zoneEvents += m.cleansed + quarantined

	// validate: a file drop each.
	drops := s.FileDropsPerDay * s.Days
	m.invocations["validate"] = drops
	m.gbSeconds["validate"] = cpu(drops*s.FileDropBytes, s.IngestMBPerCPUSecond) + drops*s.FixedMs["validate"]/1000*gb("validate")
	m.zoneEvents += 2 * drops // the drop itself and its cleansed object
	m.puts += drops
	m.gets += drops
	m.cleansed += drops

	// promote: each promotion appends a file to its hour partition, then merges the partition's
	// files under half the target size into one, under their own keys: the merged bytes become
	// noncurrent versions. Promotions into a partition grow one small file until it passes half
	// the target, and start the next.
	m.promotions = m.cleansed / s.CleansedPerPromotion
	partitionHours := float64(s.Datasets) * m.hours
	if m.promotions > 0 {
		n := max(math.Round(m.promotions/partitionHours), 1)
		step := m.parquetBytes / partitionHours / n
		var small, perPartition float64
		for k := 1.0; k <= n; k++ {
			if small > 0 {
				perPartition += small + step
			}
			if small += step; small >= s.CompactTargetBytes/2 {
				small = 0
			}
		}
		m.rewritten = perPartition * partitionHours
	}
	files := float64(s.FilesPerPromotion)
	m.invocations["promote"] = m.promotions
	m.gbSeconds["promote"] = cpu(m.rewritten+m.parquetBytes, s.PromoteMBPerCPUSecond) + m.promotions*s.FixedMs["promote"]/1000*gb("promote")
	m.puts += m.promotions * (files + 4) // files, manifest, lock; LISTs of cleansed and curated
	m.gets += m.promotions * (files + 2) // files, cleansed object, manifest
	m.zoneEvents += m.promotions * files
	bookkeeping := m.promotions * 2 // the manifest and the lock are curated objects too

	// lineage: an invocation per event (its SQS batches hold one or two at these rates); a data
	// object's metadata and provenance are read and a record written, bookkeeping is looked at
	// and skipped.
	m.invocations["lineage"] = m.zoneEvents + bookkeeping
	m.gbSeconds["lineage"] = m.invocations["lineage"] * s.FixedMs["lineage"] / 1000 * gb("lineage")
	m.puts += m.zoneEvents
	m.gets += 2*m.zoneEvents + bookkeeping
	m.zoneEvents += bookkeeping

	apiRequests := s.QueriesPerDay * s.Days * s.APIRequestsPerQuery
	m.invocations["query"] = apiRequests
	m.gbSeconds["query"] = apiRequests * s.FixedMs["query"] / 1000 * gb("query")

	// The free tier is the account's, not a function's: it is shared out in proportion to each
	// function's list price.
	var inv, gbSecs float64
	for _, fn := range functionNames {
		inv += m.invocations[fn]
		gbSecs += m.gbSeconds[fn]
	}
	list, billed := m.p.Lambda(inv, gbSecs, false), m.p.Lambda(inv, gbSecs, s.FreeTier)
	for _, fn := range functionNames {
		usd := m.p.Lambda(m.invocations[fn], m.gbSeconds[fn], false)
		if list > 0 {
			usd *= billed / list
		}
		m.add("Lambda", fmt.Sprintf("%s, arm64 %d MB", fn, s.Memory[fn]), fmt.Sprintf("%s calls, %s GB-s", num(m.invocations[fn]), num(m.gbSeconds[fn])), usd)
	}
}

var functionNames = []string{"ingest", "validate", "promote", "lineage", "query"}

func (m *month) storage() {
	s, p := m.s, m.p
	m.add("S3", "PUT and LIST requests (ingest, Firehose, promote, lineage, validate)", num(m.puts), m.puts/1000*p.S3PutPer1000)
	m.add("S3", "GET requests (promote, lineage, validate)", num(m.gets), m.gets/1000*p.S3GetPer1000)
	kept := m.kept()
	m.add("S3", "storage of each month of data kept (archive, cleansed, curated; Standard)", gbs(kept/gib)+"-month", p.S3Storage(kept/gib))
	nc := NoncurrentGBMonths(m.rewritten, s.NoncurrentDays, s.Days)
	m.add("S3", fmt.Sprintf("curated noncurrent versions, merged files kept %g days", s.NoncurrentDays), gbs(nc)+"-month", p.S3Storage(nc))
	// Server access logs: a record of ~400 bytes per request, kept accessLogsExpireDays.
	logs := (m.puts + m.gets) * 400 / gib * s.AccessLogsDays / s.Days
	m.add("S3", fmt.Sprintf("server access logs, kept %g days", s.AccessLogsDays), gbs(logs)+"-month", p.S3Storage(logs))
}

// kept is the bytes a month of records leaves in the buckets: Parquet in cleansed and curated,
// and in the raw archive, Parquet for the archive dataset and JSON for the rest.
func (m *month) kept() float64 {
	kept := 2 * m.parquetBytes
	if m.s.Archive {
		json := m.records * float64(m.s.RecordBytes)
		kept += json*m.s.ArchiveShare/m.s.ParquetRatio + json*(1-m.s.ArchiveShare)
	}
	return kept
}

func (m *month) messaging() {
	s, p := m.s, m.p
	// Promote, lineage and validate each read their SQS queue: EventBridge sends each event,
	// Lambda receives and deletes it, and long-polls the queue while it is empty.
	messages := m.cleansed + m.zoneEvents + s.FileDropsPerDay*s.Days
	polls := 3 * s.SQSPollers * m.secs / 20
	req := m.free(3*messages+polls, p.Free.SQSRequests)
	m.add("SQS", "requests: send, receive, delete per event; idle long polls", num(3*messages+polls), req/1e6*p.SQSPerMillion)
	m.add("EventBridge", "S3 object-created events on the default bus (free)", num(messages), messages/1e6*p.EventBridgeAWSEventsPerMillion)
}

func (m *month) operations() {
	s, p := m.s, m.p
	// Active tracing samples, per function, the first request each second and 5% of the rest.
	var traces float64
	for _, inv := range m.invocations {
		r := inv / m.secs
		traces += (min(r, 1) + 0.05*max(r-1, 0)) * m.secs
	}
	m.add("X-Ray", "traces recorded (1 a second + 5% per function)", num(traces), p.XRay(traces, s.FreeTier))

	var inv float64
	for _, v := range m.invocations {
		inv += v
	}
	logGB := (inv*s.LogBytesPerInvoke + m.invocations["query"]*600) / gib // + API access logs
	m.add("CloudWatch", "logs ingested (functions, API access)", gbs(logGB), m.free(logGB, p.Free.LogsGB)*p.LogsIngestGB)
	stored := logGB * s.LogRetentionDays / s.Days
	m.add("CloudWatch", fmt.Sprintf("logs stored %g days (uncompressed, an upper bound)", s.LogRetentionDays), gbs(stored)+"-month", stored*p.LogsStoreGBMonth)
	m.add("CloudWatch", fmt.Sprintf("%d alarms", s.Alarms), fmt.Sprintf("%d metrics", s.AlarmMetrics), m.free(float64(s.AlarmMetrics), p.Free.AlarmMetrics)*p.AlarmMetricMonth)
	m.add("CloudWatch", "dashboard", fmt.Sprint(s.Dashboards), m.free(float64(s.Dashboards), p.Free.Dashboards)*p.DashboardMonth)
	m.add("CloudWatch", "custom metrics (EMF)", fmt.Sprint(s.CustomMetrics), m.free(float64(s.CustomMetrics), p.Free.CustomMetrics)*p.CustomMetricMonth)

	m.add("KMS", "customer-managed key", fmt.Sprint(s.Keys), float64(s.Keys)*p.KMSKeyMonth)
	// Bucket keys, and Kinesis's and SQS's data-key reuse, leave a request per user and resource
	// every few minutes rather than one per object or record.
	kms := s.KMSDataKeyUsers * m.secs / 300
	m.add("KMS", "requests (bucket keys: per user every 5 min, not per object)", num(kms), m.free(kms, p.Free.KMSRequests)/1e4*p.KMSPer10000Requests)
	m.add("Secrets Manager", "PII hashing key", fmt.Sprint(s.Secrets), float64(s.Secrets)*p.SecretMonth)
}

func (m *month) queries() {
	s, p := m.s, m.p
	queries := s.QueriesPerDay * s.Days
	billed := queries * float64(AthenaBilledBytes(s.ScanBytesPerQuery, p.AthenaMinQueryBytes)) / tib
	m.add("Athena", fmt.Sprintf("%s queries of %s scanned (10 MB minimum)", num(queries), size(s.ScanBytesPerQuery)), fmt.Sprintf("%.3f TB", billed), p.Athena(queries, s.ScanBytesPerQuery))
	gets := queries * s.S3GetsPerQuery
	m.add("S3", "Athena's GETs and result PUTs", num(gets+2*queries), gets/1000*p.S3GetPer1000+2*queries/1000*p.S3PutPer1000)
	api := m.invocations["query"]
	m.add("API Gateway", "HTTP API requests (under 512 KB each)", num(api), api/1e6*p.HTTPAPIPerMillion)
	// The audit trail: one write-once object per API request.
	m.add("S3", "audit records (a PUT per API request)", num(api), api/1000*p.S3PutPer1000)
	if s.CloudTrailDataEvents {
		events := m.puts + m.gets + gets + 2*queries + api
		m.add("CloudTrail", "S3 data events on the zone and audit buckets (cloudTrailDataEvents)", num(events), events/1e5*p.CloudTrailDataEventsPer100k)
	}
	glue := m.free(queries*3, p.Free.GlueRequests)
	m.add("Glue", "Data Catalog requests (Athena's table lookups)", num(queries*3), glue/1e6*p.GluePerMillionRequests)
}

// AfterDestroy is what keeps billing each month once `make destroy` has run with monthsKept
// months of data in the lake: the parts the stack retains on purpose (the data buckets, the
// lake key, the PII secret) and the stream, which the CDK retains by default and which bills
// its hours (on-demand) or shards (provisioned) while it exists, carrying no traffic.
func AfterDestroy(s Scenario, p Prices, monthsKept float64) (Bill, error) {
	if err := s.Validate(); err != nil {
		return Bill{}, err
	}
	m := month{s: s, p: p, secs: s.Days * 86400, hours: s.Days * 24}
	m.records = s.RecordsPerSecond * m.secs
	m.parquetBytes = m.records * float64(s.RecordBytes) * (1 - s.BadShare) / s.ParquetRatio
	if s.StreamRetained && s.StreamMode == "ON_DEMAND" {
		streams, _, _ := p.KinesisOnDemand(float64(s.Streams), m.hours, 0, s.RecordBytes, 0)
		m.add("Kinesis", "the retained on-demand stream's hours", fmt.Sprintf("%s h", num(float64(s.Streams)*m.hours)), streams)
	}
	if s.StreamRetained && s.StreamMode == "PROVISIONED" {
		shards, _ := p.KinesisProvisioned(float64(s.Shards), m.hours, 0, s.RecordBytes)
		m.add("Kinesis", "the retained stream's shard-hours", fmt.Sprintf("%s h", num(float64(s.Shards)*m.hours)), shards)
	}
	m.add("KMS", "the retained lake key", fmt.Sprint(s.Keys), float64(s.Keys)*p.KMSKeyMonth)
	m.add("Secrets Manager", "the retained PII secret", fmt.Sprint(s.Secrets), float64(s.Secrets)*p.SecretMonth)
	// Cleansed and curated stay in Standard; the raw archive moves down its tiers as it ages
	// (each month of data taken at its middle day).
	var gbMonths, usd float64
	raw := m.kept() - 2*m.parquetBytes
	for age := 0.0; age < monthsKept; age++ {
		share := min(monthsKept-age, 1)
		days := (age + share/2) * s.Days
		rawPrice := p.S3StandardGBMonth
		switch {
		case days >= s.RawGlacierDays:
			rawPrice = p.S3GlacierIRGBMonth
		case days >= s.RawIADays:
			rawPrice = p.S3IAGBMonth
		}
		gbMonths += share * m.kept() / gib
		usd += share * (p.S3Storage(2*m.parquetBytes/gib) + raw/gib*rawPrice)
	}
	m.add("S3", fmt.Sprintf("the retained buckets, %g months of data (raw tiered by age)", monthsKept), gbs(gbMonths)+"-month", usd)
	return Bill{Scenario: s, Prices: p, Lines: m.lines}, nil
}
