package cost

// The billing rules that make a small record cost more than its bytes. Sizes are in bytes; AWS's
// KB, MB, GB and TB here are the binary ones its pricing pages use (1 KB = 1,024 bytes, and
// its worked examples divide KB by 1,048,576 to get GB).
const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
	tib = 1 << 40

	// KinesisUnit is what Kinesis on-demand rounds each record up to, written and read.
	KinesisUnit = kib
	// PUTPayloadUnit is the chunk provisioned Kinesis counts a record's PUT in.
	PUTPayloadUnit = 25 * kib
	// FirehoseUnit is what Firehose rounds each record up to for ingestion and format conversion.
	FirehoseUnit = 5 * kib
	// LambdaPayloadLimit caps the event of one invocation: a Kinesis batch holds fewer records
	// than its batch size when their encoded form would exceed it.
	LambdaPayloadLimit = 6 * mib
	// HTTPAPIUnit is the size an HTTP API meters a request in.
	HTTPAPIUnit = 512 * kib

	// KinesisEventEnvelope is what a Lambda Kinesis event adds around each record's base64 data,
	// besides the partition key: eventID, ARNs, the 56-digit sequence number twice, schema
	// version, arrival time. Measured on the first record of events/samples/kinesis-batch.json
	// (865 bytes, 300 of base64 data, a 36-byte partition key, a whole-second arrival time), plus
	// the 4 bytes of the millisecond fraction AWS's arrival times carry; account, region and
	// stream names are those of the sample's length.
	KinesisEventEnvelope = 865 - 300 - 36 + 4
)

// roundUp rounds n up to a multiple of unit.
func roundUp(n, unit int64) int64 { return (n + unit - 1) / unit * unit }

// KinesisBilledBytes is the size Kinesis on-demand bills a record of n bytes as.
func KinesisBilledBytes(n int) int64 { return roundUp(int64(n), KinesisUnit) }

// FirehoseBilledBytes is the size Firehose bills a record of n bytes as.
func FirehoseBilledBytes(n int) int64 { return roundUp(int64(n), FirehoseUnit) }

// PUTPayloadUnits is how many units provisioned Kinesis bills a record of n bytes as.
func PUTPayloadUnits(n int) int64 { return roundUp(int64(n), PUTPayloadUnit) / PUTPayloadUnit }

// Base64Len is the length of n bytes in standard, padded base64.
func Base64Len(n int) int { return (n + 2) / 3 * 4 }

// LambdaKinesisRecordBytes is the size one record of n bytes, with a partition key of keyLen
// bytes, takes in the event Lambda hands a function: its data in base64 (a third larger) inside
// the per-record envelope, plus the comma between records.
func LambdaKinesisRecordBytes(n, keyLen int) int {
	return Base64Len(n) + keyLen + KinesisEventEnvelope + 1
}

// AthenaBilledBytes is what Athena bills a query scanning n bytes for: rounded up to the MB, at
// least minimum.
func AthenaBilledBytes(n, minimum int64) int64 { return max(roundUp(n, mib), minimum) }

// NoncurrentGBMonths is the storage, in GB-months per month, that versions made noncurrent at a
// steady rate of bytesPerMonth occupy while a lifecycle rule keeps each for keepDays.
func NoncurrentGBMonths(bytesPerMonth float64, keepDays, daysPerMonth float64) float64 {
	return bytesPerMonth / gib * keepDays / daysPerMonth
}
