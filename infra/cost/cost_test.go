package cost_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/infra/cost"
)

// cents rounds to the cent, as a bill does.
func cents(usd float64) string { return fmt.Sprintf("%.2f", usd) }

func TestKinesisBillsEachRecordRoundedUpTo1KB(t *testing.T) {
	for _, c := range []struct {
		n    int
		want int64
	}{
		{225, 1024}, // the smallest sample record bills 4.6 times its size
		{450, 1024},
		{1024, 1024},
		{1025, 2048},
		{4608, 5120}, // the page's example: 4.5 KB records count as 5 KB
	} {
		if got := cost.KinesisBilledBytes(c.n); got != c.want {
			t.Errorf("KinesisBilledBytes(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

func TestFirehoseBillsEachRecordRoundedUpTo5KB(t *testing.T) {
	for _, c := range []struct {
		n    int
		want int64
	}{
		{225, 5 << 10}, // 22.8 times its size
		{3 << 10, 5 << 10},
		{12 << 10, 15 << 10}, // the page's examples: 3 KB bills 5 KB, 12 KB bills 15 KB,
		{42 << 10, 45 << 10}, // 42 KB bills 45 KB
		{5 << 10, 5 << 10},
	} {
		if got := cost.FirehoseBilledBytes(c.n); got != c.want {
			t.Errorf("FirehoseBilledBytes(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

func TestPUTPayloadUnitsAre25KBChunks(t *testing.T) {
	for _, c := range []struct {
		n    int
		want int64
	}{
		{5 << 10, 1}, // the page: a 5 KB record is one unit, 45 KB two
		{45 << 10, 2},
		{35 << 10, 2},
		// The page says a 1 MB record is 40 units; 1 MB is 1,048,576 bytes, 40.96 chunks of 25 KB,
		// so the rounding it states for every other size gives 41.
		{1 << 20, 41},
	} {
		if got := cost.PUTPayloadUnits(c.n); got != c.want {
			t.Errorf("PUTPayloadUnits(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// A Lambda Kinesis event carries each record in base64, a third larger, inside an envelope:
// the model's size must match every record of the checked-in sample event.
func TestLambdaKinesisRecordSizeMatchesTheSampleEvent(t *testing.T) {
	raw, err := os.ReadFile("../../events/samples/kinesis-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	var batch struct{ Records []json.RawMessage }
	if err := json.Unmarshal(raw, &batch); err != nil {
		t.Fatal(err)
	}
	if len(batch.Records) == 0 {
		t.Fatal("the sample event has no records")
	}
	for i, rec := range batch.Records {
		var r struct {
			Kinesis struct{ Data, PartitionKey string }
		}
		if err := json.Unmarshal(rec, &r); err != nil {
			t.Fatal(err)
		}
		data, err := base64.StdEncoding.DecodeString(r.Kinesis.Data)
		if err != nil {
			t.Fatal(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, rec); err != nil {
			t.Fatal(err)
		}
		want := compact.Len() + 1 // and the comma before the next
		// The sample's arrival times carry 0 to 7 fraction digits where AWS's carry 3: the one
		// field whose length the model cannot know to the byte.
		if got := cost.LambdaKinesisRecordBytes(len(data), len(r.Kinesis.PartitionKey)); got < want-4 || got > want+4 {
			t.Errorf("record %d (%d bytes of data): model says %d bytes in the event, the sample has %d", i, len(data), got, want)
		}
	}
	// The numbers: a 225-byte record travels as 300 bytes of base64 (+33%), and with its
	// envelope as more than three times its size.
	if got := cost.Base64Len(225); got != 300 {
		t.Errorf("Base64Len(225) = %d, want 300", got)
	}
	if got := cost.LambdaKinesisRecordBytes(225, 36); got < 3*225 {
		t.Errorf("a 225-byte record takes %d bytes in the event, want over %d", got, 3*225)
	}
}

// Lambda's 6 MB event, not ingestBatchSize, bounds a batch once the base64 and envelope are
// counted: 10,000 records of 350 bytes would be 10 MB.
func TestIngestBatchesAreCappedBy6MBEvents(t *testing.T) {
	s := cost.Default()
	s.RecordsPerSecond, s.Shards = 5000, 1 // a full batch well within the 10 s window
	b, err := cost.Estimate(s, cost.USEast1)
	if err != nil {
		t.Fatal(err)
	}
	perBatch := (6 << 20) / cost.LambdaKinesisRecordBytes(350, 36)
	want := fmt.Sprintf("%d calls", int(math.Round(5000*30*86400/float64(perBatch))))
	l := line(t, b, "Lambda", "ingest")
	if !strings.HasPrefix(strings.ReplaceAll(l.Usage, ",", ""), want) {
		t.Errorf("ingest usage %q, want %s (%d records a batch)", l.Usage, want, perBatch)
	}
	if perBatch >= 10000 {
		t.Errorf("%d records of 350 bytes fit a 6 MB event: the cap does nothing", perBatch)
	}
}

func TestNoncurrentVersionsAreStoredForTheirExpiryDays(t *testing.T) {
	// 100 GB of merged files a 30-day month, each old version kept 30 days: 100 GB-months,
	// every month, beside the current data; kept 7 days, 7/30 of it.
	if got := cost.NoncurrentGBMonths(100<<30, 30, 30); got != 100 {
		t.Errorf("kept 30 days: %g GB-months, want 100", got)
	}
	if got := cents(cost.USEast1.S3Storage(cost.NoncurrentGBMonths(100<<30, 30, 30))); got != "2.30" {
		t.Errorf("kept 30 days: $%s, want $2.30", got)
	}
	if got := cost.NoncurrentGBMonths(100<<30, 7, 30); math.Abs(got-23.333) > 0.001 {
		t.Errorf("kept 7 days: %g GB-months, want 23.333", got)
	}
	// In the model: fewer days kept, proportionally less noncurrent storage.
	s := cost.Default()
	b30, _ := cost.Estimate(s, cost.USEast1)
	s.NoncurrentDays = 1
	b1, _ := cost.Estimate(s, cost.USEast1)
	nc30, nc1 := line(t, b30, "S3", "curated noncurrent").USD, line(t, b1, "S3", "curated noncurrent").USD
	if nc30 <= 0 || math.Abs(nc30/nc1-30) > 1e-9 {
		t.Errorf("noncurrent storage kept 30 days $%.2f, 1 day $%.2f: want a ratio of 30", nc30, nc1)
	}
}

// AWS's worked examples, to the cent. Each names the page; where the stored copy of the page
// this was written against cut off before the figures, the figures are those of the live page.

// https://aws.amazon.com/firehose/pricing/: 100 records/s of 3 KB for a 30-day month, each billed
// as 5 KB: 1,235.96 GB, $35.84 of ingestion; Parquet conversion $22.25.
func TestFirehoseWorkedExample(t *testing.T) {
	records := 100.0 * 30 * 86400
	in, conv := cost.USEast1.FirehoseIngest(records, 3<<10, true)
	if cents(in) != "35.84" || cents(conv) != "22.25" {
		t.Errorf("ingestion $%s, conversion $%s; want $35.84 and $22.25", cents(in), cents(conv))
	}
	// And through the model, the same numbers on its Firehose lines.
	s := cost.Default()
	s.RecordBytes = 3 << 10
	b, err := cost.Estimate(s, cost.USEast1)
	if err != nil {
		t.Fatal(err)
	}
	if got := cents(line(t, b, "Firehose", "ingestion").USD); got != "35.84" {
		t.Errorf("model's Firehose ingestion $%s, want $35.84", got)
	}
	if got := line(t, b, "Firehose", "ingestion").Usage; got != "1,236 GB" {
		t.Errorf("model's Firehose ingestion usage %q, want 1,236 GB", got)
	}
}

// https://aws.amazon.com/kinesis/data-streams/pricing/ (provisioned): 100 records/s of 35 KB need
// 4 shards; over 31 days $44.64 of shard-hours and 535.68 million PUT payload units, $7.50:
// $52.14.
func TestKinesisProvisionedWorkedExample(t *testing.T) {
	shards, puts := cost.USEast1.KinesisProvisioned(4, 31*24, 100*31*86400, 35<<10)
	if cents(shards) != "44.64" || cents(puts) != "7.50" || cents(shards+puts) != "52.14" {
		t.Errorf("shards $%s + PUT units $%s = $%s; want $44.64 + $7.50 = $52.14", cents(shards), cents(puts), cents(shards+puts))
	}
}

// https://aws.amazon.com/xray/pricing/ (its example 1, in the stored copy): 2,000 requests an
// hour sampled at 10% over 31 days record 148,800 traces; 48,800 beyond the free tier: $0.24.
func TestXRayWorkedExample(t *testing.T) {
	traces := 2000.0 * 24 * 31 * 0.10
	if traces != 148800 {
		t.Fatalf("traces %g", traces)
	}
	if got := cents(cost.USEast1.XRay(traces, true)); got != "0.24" {
		t.Errorf("$%s, want $0.24", got)
	}
	if got := cents(cost.USEast1.XRay(traces, false)); got != "0.74" {
		t.Errorf("without the free tier $%s, want $0.74", got)
	}
}

// https://aws.amazon.com/lambda/pricing/, its long-standing first example: 512 MB, 3 million
// invocations of 1 s in a month, free tier applied: 1.1 million GB-s at $0.00001667 (the x86
// price, rounded as the example rounds it) is $18.34, 2 million requests $0.40: $18.74.
func TestLambdaWorkedExample(t *testing.T) {
	p := cost.USEast1
	p.LambdaGBSecond = 0.00001667
	if got := cents(p.Lambda(3e6, 3e6*1*0.5, true)); got != "18.74" {
		t.Errorf("$%s, want $18.74", got)
	}
}

// https://aws.amazon.com/athena/pricing/: a 3 TB text table scanned in full is $15; gzip'd 3:1,
// $5; as Parquet, reading one column of four, $1.25. A tiny query still bills 10 MB.
func TestAthenaWorkedExample(t *testing.T) {
	for _, c := range []struct {
		scanned int64
		want    string
	}{
		{3 << 40, "15.00"},
		{1 << 40, "5.00"},
		{1 << 38, "1.25"},
	} {
		if got := cents(cost.USEast1.Athena(1, c.scanned)); got != c.want {
			t.Errorf("scanning %d bytes: $%s, want $%s", c.scanned, got, c.want)
		}
	}
	if got, want := cost.AthenaBilledBytes(1024, cost.USEast1.AthenaMinQueryBytes), int64(10<<20); got != want {
		t.Errorf("a 1 KB scan bills %d bytes, want %d", got, want)
	}
	if got, want := cost.AthenaBilledBytes(11<<20+1, cost.USEast1.AthenaMinQueryBytes), int64(12<<20); got != want {
		t.Errorf("11 MB and a byte bills %d bytes, want %d (rounded up to the MB)", got, want)
	}
}

// The default scenario's total is the sum of its lines, each line is priced, and doubling the
// traffic raises every traffic-driven line.
func TestDefaultScenario(t *testing.T) {
	b, err := cost.Estimate(cost.Default(), cost.USEast1)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, l := range b.Lines {
		if l.USD < 0 || math.IsNaN(l.USD) || math.IsInf(l.USD, 0) {
			t.Errorf("%s %s: $%v", l.Part, l.Item, l.USD)
		}
		sum += l.USD
	}
	if sum != b.Total() || sum <= 0 {
		t.Errorf("total $%v, lines sum to $%v", b.Total(), sum)
	}
	// The point: Kinesis and Firehose bill 350-byte records for far more than 350 bytes.
	if in := line(t, b, "Kinesis", "data in"); !strings.Contains(in.Item, "billed as 1 KB") {
		t.Errorf("Kinesis data in: %q", in.Item)
	}
	if in := line(t, b, "Firehose", "ingestion"); !strings.Contains(in.Item, "billed as 5 KB") {
		t.Errorf("Firehose ingestion: %q", in.Item)
	}
	for _, part := range []string{"Kinesis", "Firehose", "Lambda", "S3", "SQS", "EventBridge", "X-Ray", "CloudWatch", "KMS", "Secrets Manager", "Athena", "API Gateway", "Glue"} {
		line(t, b, part, "")
	}

	s := cost.Default()
	s.RecordsPerSecond *= 2
	b2, err := cost.Estimate(s, cost.USEast1)
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range []string{"data in", "ingestion", "Parquet conversion", "storage of each month"} {
		part := map[string]string{"data in": "Kinesis", "ingestion": "Firehose", "Parquet conversion": "Firehose", "storage of each month": "S3"}[item]
		one, two := line(t, b, part, item).USD, line(t, b2, part, item).USD
		if math.Abs(two/one-2) > 1e-9 {
			t.Errorf("%s %s: $%.2f at 100/s, $%.2f at 200/s: want twice", part, item, one, two)
		}
	}
}

func TestFreeTierLowersTheBill(t *testing.T) {
	s := cost.Default()
	list, _ := cost.Estimate(s, cost.USEast1)
	s.FreeTier = true
	free, _ := cost.Estimate(s, cost.USEast1)
	if free.Total() >= list.Total() {
		t.Errorf("free tier $%.2f, list $%.2f", free.Total(), list.Total())
	}
	if got := line(t, free, "CloudWatch", "dashboard").USD; got != 0 {
		t.Errorf("one dashboard within the free three: $%.2f", got)
	}
}

func TestProvisionedStreamBillsShardsNotGB(t *testing.T) {
	s := cost.Default()
	s.StreamMode, s.Shards = "PROVISIONED", 1
	b, err := cost.Estimate(s, cost.USEast1)
	if err != nil {
		t.Fatal(err)
	}
	if got := cents(line(t, b, "Kinesis", "provisioned shard-hours").USD); got != "10.80" { // 720 h x $0.015
		t.Errorf("shard-hours $%s, want $10.80", got)
	}
	for _, l := range b.Lines {
		if l.Part == "Kinesis" && strings.HasPrefix(l.Item, "data") {
			t.Errorf("provisioned stream billed %q", l.Item)
		}
	}
}

func TestInvalidScenariosSayWhatToFix(t *testing.T) {
	for _, mutate := range []func(*cost.Scenario){
		func(s *cost.Scenario) { s.RecordBytes = 0 },
		func(s *cost.Scenario) { s.StreamMode = "on-demand" },
		func(s *cost.Scenario) { s.Days = 0 },
		func(s *cost.Scenario) { s.BadShare = 2 },
		func(s *cost.Scenario) { s.Memory = map[string]int{"ingest": 256} },
	} {
		s := cost.Default()
		mutate(&s)
		if _, err := cost.Estimate(s, cost.USEast1); err == nil || !strings.HasPrefix(err.Error(), "cost: ") {
			t.Errorf("error %v", err)
		}
	}
}

func TestMarkdownTable(t *testing.T) {
	b, _ := cost.Estimate(cost.Default(), cost.USEast1)
	var out strings.Builder
	if err := b.WriteTable(&out, true); err != nil {
		t.Fatal(err)
	}
	rows := strings.Count(out.String(), "\n| ")
	if rows != len(b.Lines)+3 { // header, separator, the lines, the total
		t.Errorf("%d table rows for %d lines:\n%s", rows, len(b.Lines), out.String())
	}
	total := strings.ReplaceAll(out.String()[strings.LastIndex(out.String(), "| **total**"):], ",", "")
	if total != fmt.Sprintf("| **total** | | | **%s** |\n", cents(b.Total())) {
		t.Errorf("no total row:\n%s", out.String())
	}
}

// line finds the first line of a part whose item starts with prefix.
func line(t *testing.T, b cost.Bill, part, prefix string) cost.Line {
	t.Helper()
	for _, l := range b.Lines {
		if l.Part == part && strings.HasPrefix(l.Item, prefix) {
			return l
		}
	}
	t.Fatalf("no %s line %q", part, prefix)
	return cost.Line{}
}

// Promotion merges a partition's small files under their own keys: in a versioned bucket every
// merge leaves the merged bytes behind as noncurrent versions. Two promotions an hour into a
// partition merge it once, whole (P bytes); one promotion an hour merges nothing.
func TestPromotionsLeaveNoncurrentVersions(t *testing.T) {
	s := cost.Default()
	s.Datasets, s.Shards, s.Archive = 1, 1, false
	s.CleansedPerPromotion = 180 // a shard's 360 batches an hour, promoted two at a time
	b, err := cost.Estimate(s, cost.USEast1)
	if err != nil {
		t.Fatal(err)
	}
	parquet := s.RecordsPerSecond * s.Days * 86400 * float64(s.RecordBytes) / s.ParquetRatio
	want := cents(cost.USEast1.S3Storage(parquet / (1 << 30)))
	if got := cents(line(t, b, "S3", "curated noncurrent").USD); got != want {
		t.Errorf("two promotions an hour: noncurrent $%s, want $%s (a month of curated data, kept 30 days)", got, want)
	}
	s.CleansedPerPromotion = 360
	b, _ = cost.Estimate(s, cost.USEast1)
	if got := line(t, b, "S3", "curated noncurrent").USD; got != 0 {
		t.Errorf("one promotion an hour: noncurrent $%.2f, want 0", got)
	}
	// Four promotions an hour of P/4 each, with half the target size at P/2: the second merges
	// P/2 and closes that file, the third starts a new one, the fourth merges P/2 again: P in all,
	// where merging everything every time would be 2.25 P.
	s.CleansedPerPromotion = 90
	s.CompactTargetBytes = parquet / (s.Days * 24)
	b, _ = cost.Estimate(s, cost.USEast1)
	if got := cents(line(t, b, "S3", "curated noncurrent").USD); got != want {
		t.Errorf("four promotions an hour, files closed at P/2: noncurrent $%s, want $%s", got, want)
	}
}

func TestAfterDestroyARetainedStreamKeepsBilling(t *testing.T) {
	s := cost.Default()
	s.StreamRetained = true // as the CDK would leave it
	b, err := cost.AfterDestroy(s, cost.USEast1, 12)
	if err != nil {
		t.Fatal(err)
	}
	if got := cents(line(t, b, "Kinesis", "the retained on-demand stream").USD); got != "28.80" { // 720 h x $0.04
		t.Errorf("retained stream $%s a month, want $28.80", got)
	}
	if got := cents(line(t, b, "KMS", "").USD + line(t, b, "Secrets Manager", "").USD); got != "1.40" {
		t.Errorf("key and secret $%s, want $1.40", got)
	}
	// A year of data: cleansed and curated Parquet in Standard all year; the raw archive (Parquet
	// for the archive dataset, JSON for the other) a month in Standard, two in Standard-IA (after
	// 30 days), nine in Glacier Instant Retrieval (after 90).
	p := cost.USEast1
	json := s.RecordsPerSecond * s.Days * 86400 * float64(s.RecordBytes) / (1 << 30)
	parquet, raw := json/s.ParquetRatio, json*s.ArchiveShare/s.ParquetRatio+json*(1-s.ArchiveShare)
	want := 12*2*parquet*p.S3StandardGBMonth + raw*(p.S3StandardGBMonth+2*p.S3IAGBMonth+9*p.S3GlacierIRGBMonth)
	if got := line(t, b, "S3", "").USD; cents(got) != cents(want) {
		t.Errorf("a year of data kept: $%.2f a month, want $%.2f", got, want)
	}
	b, _ = cost.AfterDestroy(cost.Default(), cost.USEast1, 1) // the stack deletes the stream
	for _, l := range b.Lines {
		if l.Part == "Kinesis" {
			t.Errorf("a stream deleted with the stack still bills: %+v", l)
		}
	}
}

// infra/README.md's cost table is the model's output for the default scenario: regenerate it
// with `make cost COST_ARGS=-md` when this fails.
func TestREADMEShowsTheDefaultScenario(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := cost.Estimate(cost.Default(), cost.USEast1)
	var out strings.Builder
	if err := b.WriteTable(&out, true); err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(out.String(), "\n\n")
	if !strings.Contains(string(readme), table) {
		t.Errorf("infra/README.md lacks the default scenario's table; paste this from `make cost COST_ARGS=-md`:\n%s", table)
	}
}
