// Command cost prints what the sluice stack bills in a month for a traffic (`make cost`):
//
//	go run ./infra/cost/cmd/cost -rate 1000 -size 400 [-md]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sluicelake/sluice/infra/cost"
)

func main() {
	s := cost.Default()
	flag.Float64Var(&s.RecordsPerSecond, "rate", s.RecordsPerSecond, "records per second into the stream, mean over the month")
	flag.IntVar(&s.RecordBytes, "size", s.RecordBytes, "mean record size, bytes of JSON")
	flag.IntVar(&s.Datasets, "datasets", s.Datasets, "datasets in the stream")
	flag.Float64Var(&s.BadShare, "bad", s.BadShare, "share of records quarantined (0-1)")
	flag.StringVar(&s.StreamMode, "mode", s.StreamMode, "stream mode: ON_DEMAND or PROVISIONED")
	flag.IntVar(&s.Shards, "shards", s.Shards, "stream shards (an on-demand stream starts with 4)")
	flag.BoolVar(&s.Archive, "archive", s.Archive, "include the Firehose archive")
	flag.Float64Var(&s.IngestWindowSeconds, "window", s.IngestWindowSeconds, "ingest's batching window, seconds (ingestBatchWindowSeconds)")
	flag.Float64Var(&s.Days, "days", s.Days, "days in the month")
	flag.Float64Var(&s.QueriesPerDay, "queries", s.QueriesPerDay, "queries per day")
	flag.Int64Var(&s.ScanBytesPerQuery, "scan", s.ScanBytesPerQuery, "bytes a query scans")
	flag.Float64Var(&s.FileDropsPerDay, "drops", s.FileDropsPerDay, "files dropped into raw landing/ per day")
	flag.Float64Var(&s.FileDropBytes, "drop-size", s.FileDropBytes, "bytes per dropped file")
	flag.Float64Var(&s.NoncurrentDays, "noncurrent-days", s.NoncurrentDays, "days old versions are kept (noncurrentVersionExpireDays)")
	flag.Float64Var(&s.CleansedPerPromotion, "per-promotion", s.CleansedPerPromotion, "cleansed objects one promotion takes")
	flag.BoolVar(&s.FreeTier, "free-tier", s.FreeTier, "subtract the account's monthly free tier")
	flag.BoolVar(&s.StreamRetained, "stream-retained", s.StreamRetained, "make destroy leaves the stream (the CDK default)")
	destroyed := flag.Float64("destroyed", 0, "print instead what bills after make destroy with this many months of data kept")
	markdown := flag.Bool("md", false, "print a Markdown table")
	flag.Parse()

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
