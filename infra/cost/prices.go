package cost

// Prices are the list prices, in USD, of every part the sluice stack bills for, in one region on
// one date, and the monthly free tiers that apply when a scenario asks for them. They are data:
// when AWS changes a price, change the number here and rerun `make cost`.
type Prices struct {
	Region string
	AsOf   string // the date the prices were read

	// Kinesis Data Streams, https://aws.amazon.com/kinesis/data-streams/pricing/
	KinesisStreamHour         float64 // on-demand: per stream and hour
	KinesisIngestGB           float64 // on-demand: per GB written, each record rounded up to 1 KB
	KinesisRetrievalGB        float64 // on-demand: per GB read, per consumer
	KinesisShardHour          float64 // provisioned: per shard and hour
	KinesisPUTUnitsPerMillion float64 // provisioned: per million PUT payload units of 25 KB

	// Amazon Data Firehose, https://aws.amazon.com/firehose/pricing/
	FirehoseIngestGB       float64 // Kinesis or Direct PUT source, first 500 TB, 5 KB increments per record
	FirehoseConversionGB   float64 // JSON to Parquet, on the same 5 KB-rounded GB as ingestion
	FirehosePartitionGB    float64 // dynamic partitioning, per GB delivered to S3
	FirehosePer1000Objects float64 // dynamic partitioning, per 1,000 S3 objects delivered
	FirehoseJQHour         float64 // dynamic partitioning, per JQ processing hour

	// AWS Lambda, https://aws.amazon.com/lambda/pricing/
	LambdaGBSecond           float64 // arm64, first 7.5 billion GB-s a month
	LambdaRequestsPerMillion float64

	// Amazon S3, https://aws.amazon.com/s3/pricing/
	S3StandardGBMonth  float64 // first 50 TB; noncurrent versions bill the same
	S3IAGBMonth        float64 // Standard-Infrequent Access
	S3GlacierIRGBMonth float64 // Glacier Instant Retrieval
	S3PutPer1000       float64 // PUT, COPY, POST, LIST
	S3GetPer1000       float64 // GET and all other requests
	// CloudTrailDataEventsPer100k is CloudTrail's price of data events delivered by a trail,
	// https://aws.amazon.com/cloudtrail/pricing/: $0.10 per 100,000.
	CloudTrailDataEventsPer100k float64

	// AWS KMS, https://aws.amazon.com/kms/pricing/
	KMSKeyMonth         float64 // per customer-managed key
	KMSPer10000Requests float64 // symmetric requests

	// Amazon Athena, https://aws.amazon.com/athena/pricing/
	AthenaPerTB         float64 // per TB scanned, rounded up to the MB,
	AthenaMinQueryBytes int64   // with a minimum per query

	// AWS X-Ray, https://aws.amazon.com/xray/pricing/
	XRayPerMillionRecorded float64

	// Amazon CloudWatch, https://aws.amazon.com/cloudwatch/pricing/
	LogsIngestGB      float64 // standard log class
	LogsStoreGBMonth  float64 // log storage (archived)
	AlarmMetricMonth  float64 // per standard-resolution alarm metric (a metric-math alarm bills each metric)
	DashboardMonth    float64
	CustomMetricMonth float64 // first 10,000 custom metrics (what EMF log lines publish)

	SQSPerMillion                  float64 // Amazon SQS, https://aws.amazon.com/sqs/pricing/: standard, per million requests of up to 64 KB
	HTTPAPIPerMillion              float64 // API Gateway, https://aws.amazon.com/api-gateway/pricing/: HTTP API, first 300 million, per 512 KB
	SecretMonth                    float64 // AWS Secrets Manager, https://aws.amazon.com/secrets-manager/pricing/
	GluePerMillionRequests         float64 // AWS Glue Data Catalog, https://aws.amazon.com/glue/pricing/
	EventBridgeAWSEventsPerMillion float64 // EventBridge, https://aws.amazon.com/eventbridge/pricing/: events AWS services put on the default bus

	Free FreeTier
}

// FreeTier is what AWS gives each account every month at no charge. An account usually holds
// more than the lake, so the default scenario leaves it out.
type FreeTier struct {
	LambdaGBSeconds, LambdaRequests float64
	XRayRecorded                    float64
	SQSRequests, KMSRequests        float64
	GlueRequests                    float64
	LogsGB                          float64
	AlarmMetrics, Dashboards        float64
	CustomMetrics                   float64
}

// USEast1 are the us-east-1 on-demand list prices, read 2026-12-04. The stored copies of AWS's
// pricing pages this was checked against confirm the rounding rules (Kinesis 1,024 bytes, PUT
// payload units of 25 KB, Firehose 5 KB per record also for conversion, Athena per MB with a
// 10 MB minimum, HTTP APIs per 512 KB) and the X-Ray prices; third-party pages that quote the
// AWS pages confirm the Lambda, S3 request and Standard storage, KMS, CloudWatch, SQS, HTTP API,
// Glue and Kinesis provisioned prices. "unconfirmed" marks a price no stored page showed: it is
// AWS's long-standing published figure, and the first to check against the live page.
var USEast1 = Prices{
	Region: "us-east-1",
	AsOf:   "2026-12-04",

	KinesisStreamHour:           0.04, // unconfirmed
	KinesisIngestGB:             0.08, // unconfirmed
	KinesisRetrievalGB:          0.04, // unconfirmed
	KinesisShardHour:            0.015,
	KinesisPUTUnitsPerMillion:   0.014,
	FirehoseIngestGB:            0.029, // unconfirmed
	FirehoseConversionGB:        0.018, // unconfirmed
	FirehosePartitionGB:         0.020, // unconfirmed
	FirehosePer1000Objects:      0.005, // unconfirmed
	FirehoseJQHour:              0.07,  // unconfirmed
	LambdaGBSecond:              0.0000133334,
	LambdaRequestsPerMillion:    0.20,
	S3StandardGBMonth:           0.023,
	S3IAGBMonth:                 0.0125, // unconfirmed
	S3GlacierIRGBMonth:          0.004,  // unconfirmed
	S3PutPer1000:                0.005,
	S3GetPer1000:                0.0004,
	CloudTrailDataEventsPer100k: 0.10,
	KMSKeyMonth:                 1.00,
	KMSPer10000Requests:         0.03,
	AthenaPerTB:                 5.00,
	AthenaMinQueryBytes:         10 * mib,
	XRayPerMillionRecorded:      5.00,
	LogsIngestGB:                0.50,
	LogsStoreGBMonth:            0.03,
	AlarmMetricMonth:            0.10,
	DashboardMonth:              3.00,
	CustomMetricMonth:           0.30,
	SQSPerMillion:               0.40,
	HTTPAPIPerMillion:           1.00,
	SecretMonth:                 0.40, // unconfirmed
	GluePerMillionRequests:      1.00,
	// "State change events published by AWS services are free": S3's object-created events
	// reach our rules on the default bus at no charge. Unconfirmed.
	EventBridgeAWSEventsPerMillion: 0,

	Free: FreeTier{
		LambdaGBSeconds: 400_000, LambdaRequests: 1_000_000,
		XRayRecorded: 100_000,
		SQSRequests:  1_000_000, KMSRequests: 20_000,
		GlueRequests: 1_000_000,
		LogsGB:       5,
		AlarmMetrics: 10, Dashboards: 3,
		CustomMetrics: 10,
	},
}
