// Command cost prints what the sluice stack bills in a month for a traffic (`make cost`):
//
//	go run ./infra/cost/cmd/cost -rate 1000 -size 400 [-md]
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sluicelake/sluice/infra/cost"
)

func main() {
	s := cost.Default()
	flag.Float64Var(&s.RecordsPerSecond, "rate", s.RecordsPerSecond, "records per second into the stream, mean over the month")
	perDay := flag.Float64("per-day", 0, "records per day (instead of -rate)")
	flag.IntVar(&s.RecordBytes, "size", s.RecordBytes, "mean record size, bytes of JSON")
	flag.IntVar(&s.Datasets, "datasets", s.Datasets, "datasets in the stream")
	flag.Float64Var(&s.BadShare, "bad", s.BadShare, "share of records quarantined (0-1)")
	flag.StringVar(&s.StreamMode, "mode", s.StreamMode, "stream mode: ON_DEMAND or PROVISIONED")
	flag.IntVar(&s.Shards, "shards", s.Shards, "stream shards (an on-demand stream starts with 4)")
	flag.IntVar(&s.Streams, "streams", s.Streams, "on-demand streams billed per hour")
	flag.BoolVar(&s.Archive, "archive", s.Archive, "include the Firehose archive")
	flag.Float64Var(&s.IngestWindowSeconds, "window", s.IngestWindowSeconds, "ingest's batching window, seconds (ingestBatchWindowSeconds)")
	flag.Float64Var(&s.Days, "days", s.Days, "days in the month")
	flag.Float64Var(&s.QueriesPerDay, "queries", s.QueriesPerDay, "queries per day")
	flag.Int64Var(&s.ScanBytesPerQuery, "scan", s.ScanBytesPerQuery, "bytes a query scans")
	flag.Float64Var(&s.FileDropsPerDay, "drops", s.FileDropsPerDay, "files dropped into raw landing/ per day")
	flag.Float64Var(&s.FileDropBytes, "drop-size", s.FileDropBytes, "bytes per dropped file")
	flag.Float64Var(&s.NoncurrentDays, "noncurrent-days", s.NoncurrentDays, "days old versions are kept (noncurrentVersionExpireDays)")
	flag.Float64Var(&s.CleansedPerPromotion, "per-promotion", s.CleansedPerPromotion, "cleansed objects one promotion takes")
	flag.IntVar(&s.FilesPerPromotion, "files-per-promotion", s.FilesPerPromotion, "curated objects a promotion reads and writes")
	flag.Float64Var(&s.LogRetentionDays, "log-days", s.LogRetentionDays, "CloudWatch Logs retention, days (logRetentionDays)")
	flag.Func("ms", "fixed milliseconds per invocation, beside the bytes converted: ingest=100,promote=200,...", func(v string) error {
		for _, kv := range strings.Split(v, ",") {
			fn, ms, ok := strings.Cut(kv, "=")
			f, err := strconv.ParseFloat(ms, 64)
			if _, known := s.FixedMs[fn]; !ok || err != nil || !known {
				return fmt.Errorf("%q: want function=milliseconds, a function of ingest, validate, promote, lineage, query", kv)
			}
			s.FixedMs[fn] = f
		}
		return nil
	})
	flag.BoolVar(&s.FreeTier, "free-tier", s.FreeTier, "subtract the account's monthly free tier")
	flag.BoolVar(&s.CloudTrailDataEvents, "cloudtrail", s.CloudTrailDataEvents, "price the cloudTrailDataEvents setting (S3 data events on the zone and audit buckets)")
	flag.BoolVar(&s.StreamRetained, "stream-retained", s.StreamRetained, "make destroy leaves the stream (the CDK default)")
	destroyed := flag.Float64("destroyed", 0, "print instead what bills after make destroy with this many months of data kept")
	markdown := flag.Bool("md", false, "print a Markdown table")
	flag.Parse()
	if *perDay > 0 {
		s.RecordsPerSecond = *perDay / 86400
	}

	estimate := cost.Estimate
	if *destroyed > 0 {
		estimate = func(s cost.Scenario, p cost.Prices) (cost.Bill, error) { return cost.AfterDestroy(s, p, *destroyed) }
	}
	bill, err := estimate(s, cost.USEast1)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := bill.WriteTable(os.Stdout, *markdown); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
