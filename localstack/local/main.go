// Command local runs the lake on this machine: `make local` (keeps running until Ctrl-C) or
// `make local-run` (produces a sample, checks the counts and exits).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/console"
	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/localstack/lakehost"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/lineage/graph"
	"github.com/sluicelake/sluice/shared/maintain"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/streamput"
	"github.com/sluicelake/sluice/shared/summary"
	"github.com/sluicelake/sluice/shared/zone"
)

func main() {
	os.Exit(run())
}

func run() int {
	dir := flag.String("dir", filepath.Join(".local", "lake"), "where the lake's files go (wiped at start unless --keep)")
	keep := flag.Bool("keep", false, "keep the files of earlier runs")
	binDir := flag.String("bin-dir", filepath.Join(".build", runtime.GOARCH), "where `make build` put the functions")
	amount := flag.Int("amount", 3000, "sample events to produce")
	bad := flag.Float64("bad", 0.05, "share of deliberately invalid events")
	datasets := flag.String("datasets", "all", "datasets to produce (comma separated, or all)")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the fake data")
	once := flag.Bool("once", false, "produce the sample, check the counts and exit")
	logs := flag.String("logs", filepath.Join(".local", "functions.log"), "file for the functions' logs")
	eraseGrace := flag.Duration("erase-grace", 0, "how long POST /erase keeps the curated snapshots that still reference erased rows, for queries already reading them (0 expires them at once)")
	queryAddr := flag.String("query-addr", "127.0.0.1:8088", "where the local query API listens (127.0.0.1:0 for any free port)")
	latency := flag.Duration("query-latency", envDuration(envvar.LocalQueryLatency),
		"least time each local query takes, as Athena's 1-2 s (e.g. 1s; default $SLUICE_LOCAL_QUERY_LATENCY, else none)")
	template := flag.String("template", "", "synthesized CloudFormation template (make synth writes infra/cdk.out/sluice-dev.template.json): "+
		"each function then runs under its own role's policies there and S3 answers AccessDenied as AWS would; empty runs without enforcement")
	kafkaTopics := flag.String("kafka-topics", "sluice.clicks=user_events,sluice.customers=customers,dbserver1.public.customers=customers_changes",
		"Kafka topics of the local broker stand-in, topic=dataset pairs (\"\" runs no Kafka); ingest reads them through a Kafka event source mapping")
	kafkaAmount := flag.Int("kafka-amount", -1, "sample events to produce to the Kafka topics, half of the good ones as Avro in the Confluent wire format (default a fifth of --amount)")
	changes := flag.Int("changes", -1, "changes the simulated source database makes to its customers table, written as Debezium events to the topics of change streams (default half of --amount)")
	flag.Parse()
	topics, err := lakehost.ParseKafkaTopics(*kafkaTopics)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		return 2
	}
	if *kafkaAmount < 0 {
		*kafkaAmount = *amount / 5
	}
	if *changes < 0 {
		*changes = *amount / 2
	}
	// The S3 stand-in (versitygw) changes the working directory while it runs: every path this
	// process uses later must be absolute.
	for _, p := range []*string{dir, binDir, logs, template} {
		if *p == "" {
			continue
		}
		if *p, err = filepath.Abs(*p); err != nil {
			fmt.Fprintln(os.Stderr, "local:", err)
			return 2
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !*keep {
		os.RemoveAll(*dir)
	}
	os.MkdirAll(filepath.Dir(*logs), 0o755)
	logFile, err := os.Create(*logs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		return 1
	}
	defer logFile.Close()

	start := time.Now()
	lake, err := lakehost.Start(ctx, lakehost.Config{Dir: *dir, BinDir: *binDir, Logs: logFile, Template: *template, KafkaTopics: topics})
	if err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		return 1
	}
	defer lake.Close()
	// The summarize function's work, in process on the embedded engine (Athena has no local
	// stand-in); 2 s without a curated write ends a burst, as the queue's window does in AWS.
	summaries, err := lake.StartSummaries(2 * time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local: summaries:", err)
		return 1
	}
	fmt.Printf("sluice local lake up in %s\n", time.Since(start).Round(time.Millisecond))
	if lake.IAM != nil {
		fmt.Printf("  IAM      %s  each function's S3 calls authorized against its role in %s\n", lake.IAM.Endpoint, *template)
	}
	fmt.Printf("  Kinesis  %s  shared stream %s (records name their dataset in _dataset)\n", lake.Kinesis.Endpoint, lake.Stream())
	for _, d := range lake.Streams.Datasets() {
		fmt.Printf("           stream %-22s for %s (records need no _dataset)\n", lake.Streams.StreamFor(d), d)
	}
	if lake.Kafka != nil {
		fmt.Printf("  Kafka    %s  topics %s (%d partitions each) → ingest, schema ids %v\n",
			strings.Join(lake.Kafka.Addrs(), ","), *kafkaTopics, lakehost.KafkaPartitions, lake.SchemaIDs())
	}
	fmt.Printf("  S3       %s  buckets raw, cleansed, curated, quarantine, consumption, lineage in %s\n", lake.S3.Endpoint(), *dir)
	fmt.Printf("  ingest   built bootstrap through the Lambda Runtime API (cold start %s); logs in %s\n",
		lake.Ingest.InitDuration().Round(time.Millisecond), *logs)
	if lake.Archive != nil {
		fmt.Printf("  firehose a local delivery stream per stream: raw archive as Parquet under s3://raw/archive/<dataset>/, failures under s3://raw/archive-errors/\n")
	}
	for name, fn := range map[string]*runtimeapi.Function{"validate": lake.Validate, "promote": lake.Promote, "lineage": lake.Lineage, "collect": lake.Collect} {
		if fn == nil {
			fmt.Printf("  %-8s not built (make build builds every function): skipped\n", name)
		}
	}

	fmt.Printf("producing %d events (%.0f%% bad) ...\n", *amount, 100**bad)
	bar := streamput.Bar(os.Stderr, *amount, false)
	tally, stats, err := lake.Produce(ctx, *datasets, *amount, *bad, *seed, bar.Update)
	bar.Finish()
	if err != nil {
		fmt.Fprintln(os.Stderr, "local: produce:", err)
		return 1
	}
	fmt.Printf("sent %d records in %s (%.0f records/s); bad by kind: %v\n", stats.Sent, stats.Elapsed.Round(time.Millisecond), stats.PerSecond(), tally)
	kafkaTally, err := lake.ProduceKafka(ctx, *kafkaAmount, *bad, *seed+2)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local: produce to Kafka:", err)
		return 1
	}
	if lake.Kafka != nil {
		fmt.Printf("sent %d records to the Kafka topics (JSON and Avro); bad by kind: %v\n", kafkaTally.Total(), kafkaTally)
	}
	changed, err := lake.ProduceChanges(ctx, *changes, *seed+3)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local: change data capture:", err)
		return 1
	}
	var changeRecords, tombstones int
	for _, ch := range changed {
		changeRecords += ch.Records
		tombstones += ch.Tombstones
		fmt.Printf("simulated source database: %d changes of its customers table (%d rows left) as Debezium events to %s: %d records, %d of them tombstones, the last %d written twice (a connector restarted from an earlier offset)\n",
			ch.Changes, len(ch.Model), ch.Topic, ch.Records, ch.Tombstones, ch.Replayed)
	}
	var fileRows, fileBad int
	if lake.Validate != nil {
		files, err := lakehost.SampleFiles(*amount/4, *bad, *seed+1) // not the stream's seed: the files would replay its records
		if err != nil {
			fmt.Fprintln(os.Stderr, "local: sample files:", err)
			return 1
		}
		for _, f := range files {
			if err := lake.DropFile(ctx, f.Dataset, f.Name, f.Body); err != nil {
				fmt.Fprintln(os.Stderr, "local: drop file:", err)
				return 1
			}
			fileRows += f.Rows
			fileBad += f.Bad
			fmt.Printf("dropped s3://raw/landing/%s/%s: %d rows (%d bad) for the validate function\n", f.Dataset, f.Name, f.Rows, f.Bad)
		}
	}
	produced := time.Now()
	if err := lake.WaitIdle(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "local: waiting for ingest:", err)
		return 1
	}
	fmt.Printf("all records ingested and files validated %s after the last was sent\n\n", time.Since(produced).Round(time.Millisecond))
	// The last burst's refresh now rather than after its quiet window; then its lineage.
	refreshes, err := summaries.Flush(ctx)
	if err == nil {
		err = lake.WaitIdle(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "local: summaries:", err)
		return 1
	}
	counts, err := lake.Summary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "local: summary:", err)
		return 1
	}
	lakehost.Print(os.Stdout, counts)
	fmt.Println()
	if err := lakehost.PrintTables(os.Stdout, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "local: curated tables:", err)
	}
	fmt.Println()
	for _, s := range lake.AllStreams() {
		ms := lake.Mappings[s].Stats()
		fmt.Printf("event source mapping %s: %d invocations, %d records, %d retries, %d to the dead-letter folder %s\n",
			s, ms.Invocations, ms.Records, ms.Retries, ms.DLQRecords, lake.DLQDir)
	}
	if m := lake.KafkaMapping; m != nil {
		ks := m.Stats()
		fmt.Printf("Kafka event source mapping: %d invocations, %d records, %d retries, %d to the failure folder %s\n",
			ks.Invocations, ks.Records, ks.Retries, ks.DLQRecords, filepath.Join(lake.DLQDir, "kafka"))
	}
	var days int
	var scanned int64
	for _, r := range refreshes {
		days += len(r.Written) + len(r.Deleted)
		scanned += r.BytesScanned
	}
	fmt.Printf("summaries (consumption zone): %d refreshes, %d days rewritten, %d bytes of curated files read\n", len(refreshes), days, scanned)
	fmt.Printf("\nsummary daily_revenue, latest days (`make query` with {\"dataset\": \"daily_revenue\"} reads it):\n")
	if err := summaries.Print(ctx, os.Stdout, "daily_revenue", 12); err != nil {
		fmt.Fprintln(os.Stderr, "local: summary table:", err)
		return 1
	}
	fmt.Println()
	fmt.Printf("S3 events: %d delivered, %d dead-lettered\n", lake.Events.Delivered.Load(), lake.Events.DeadLettered.Load())
	for _, s := range lake.AllStreams() {
		if a := lake.Archives[s]; a != nil {
			as := a.Stats()
			fmt.Printf("raw archive of %s (local Firehose): %d records read, %d archived as Parquet, %d under the error prefix, in %d objects\n",
				s, as.Records, as.Delivered, as.Failed, as.Objects)
		}
	}

	var cleansed, quarantined int64
	for _, c := range counts {
		switch c.Zone {
		case zone.Cleansed:
			cleansed += c.Rows
		case zone.Quarantine:
			quarantined += c.Rows
		}
	}
	// Tombstones are quarantined (cdc_tombstone): the delete before each came as a change.
	in, wantBad := int64(stats.Sent+fileRows+kafkaTally.Total()+changeRecords), int64(tally.Bad()+fileBad+kafkaTally.Bad()+tombstones)
	ok := cleansed+quarantined == in && quarantined == wantBad
	fmt.Printf("accounted: %d sent = %d cleansed + %d quarantined (%d produced bad, %d tombstones among them): %v\n",
		in, cleansed, quarantined, wantBad, tombstones, map[bool]string{true: "OK", false: "MISMATCH"}[ok])
	for _, ch := range changed {
		rows, diffs, err := lake.CheckChanges(ctx, ch)
		if err != nil {
			fmt.Fprintln(os.Stderr, "local: change data capture:", err)
			ok = false
			continue
		}
		fmt.Printf("change data capture: curated %s has %d rows, the source table %d, row for row the same: %v\n",
			ch.Dataset, rows, len(ch.Model), map[bool]string{true: "OK", false: "MISMATCH"}[len(diffs) == 0])
		for _, d := range diffs {
			fmt.Printf("  %s\n", d)
		}
		ok = ok && len(diffs) == 0
	}
	// Table maintenance once, as its daily schedule would run it (under its role's policy):
	// compaction of small files, snapshot expiry and orphan removal, with each table's record.
	if lake.Maintainer != nil {
		if out, err := lake.Maintain(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "local: table maintenance:", err)
			ok = false
		} else if err := printMaintenance(os.Stdout, out); err != nil {
			fmt.Fprintln(os.Stderr, "local: table maintenance:", err)
			ok = false
		}
	}
	denied := lake.Denials()
	if *template != "" {
		fmt.Printf("IAM (role policies of %s): %d S3 requests denied\n", *template, len(denied))
		// The same denial repeats with every retry: each distinct one once, with its count.
		count := map[string]int{}
		var order []string
		for _, d := range denied {
			if count[d.String()]++; count[d.String()] == 1 {
				order = append(order, d.String())
			}
		}
		for i, d := range order {
			if i == 20 {
				fmt.Printf("  ... and %d more distinct denials\n", len(order)-i)
				break
			}
			fmt.Printf("  AccessDenied %dx %s\n", count[d], d)
		}
	}
	reg, err := events.Registry()
	if err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		return 1
	}
	policy, err := events.Access()
	if err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		return 1
	}
	cat, err := lake.Catalog()
	if err != nil {
		fmt.Fprintln(os.Stderr, "local: catalog:", err)
		return 1
	}
	opts := duckengine.ServeOptions{
		Engine:    duckengine.Options{LakeDir: lake.Dir(), Buckets: lakehost.Buckets, Latency: *latency},
		Contracts: reg, Summaries: summary.Contracts(summaries.Handler.Summaries), Addr: *queryAddr, Access: policy, Catalog: cat, Routes: console.Routes(),
		Audit: audit.Store{Objects: s3store.New(lake.S3Client, lakehost.Buckets[audit.Zone])},
		// History and rollback through the S3 stand-in, as promote commits.
		Tables: func(dataset string) *iceberg.Table {
			return iceberg.Dataset(s3store.New(lake.S3Client, lakehost.Buckets[zone.Curated]), nil, dataset)
		},
		// POST /erase: every zone bucket through the S3 stand-in, with this run's PII key.
		Erase: lake.Eraser(*eraseGrace)}
	if events := lake.EventsAPI(); events != nil {
		opts.Routes["/events"], opts.Routes["/events/"] = events, events
	}
	api, err := duckengine.Serve(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local: query API:", err)
		return 1
	}
	defer api.Close()
	fmt.Printf("\nquery API (the deployed API's twin, embedded engine over the local files): %s\n  %s\n", api.URL, api.SampleCurl())
	fmt.Printf("web console (datasets, quality, lineage, queries): %s%s\n", api.URL, console.Path)
	if lake.Collect != nil {
		fmt.Printf("events API (POST /events/{dataset}: the built collect function, as API Gateway invokes it):\n  curl -s -X POST %s/events/user_events --data-binary @events.jsonl\n", api.URL)
	}
	if lake.Lineage != nil {
		for _, ds := range strings.Split(lineageOf(*datasets), ",") {
			g, err := graph.Build(ctx, api.Engine, graph.Request{Dataset: ds})
			if err != nil {
				fmt.Fprintln(os.Stderr, "local: lineage graph:", err)
				return 1
			}
			fmt.Printf("\nlineage of %s (%d nodes, %d edges; `make lineage DATASET=%s` prints it again, JSON=1 as JSON):\n%s", ds, len(g.Nodes), len(g.Edges), ds, g.Mermaid())
		}
	}
	if *once {
		if !ok || len(denied) > 0 {
			return 1
		}
		return 0
	}
	fmt.Printf("\nThe lake keeps running. Produce more with:\n  AWS_ENDPOINT_URL=%s AWS_REGION=%s AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x go run ./events/producer --stream %s --dataset all --amount 1000\n",
		lake.Kinesis.Endpoint, lake.S3.Region, lake.Stream())
	if s := lake.Streams.StreamFor("customers"); s != lake.Stream() {
		fmt.Printf("or, as the design documents' producer writes customers (no _dataset):\n  AWS_ENDPOINT_URL=%s AWS_DEFAULT_REGION=%s AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x python3 ../shared/reference/seed-producer.py --amount 10 --stream %s\n",
			lake.Kinesis.Endpoint, lake.S3.Region, s)
	}
	fmt.Printf("Ctrl-C stops everything.\n")
	<-ctx.Done()
	fmt.Println("\nstopping ...")
	if counts, err := lake.Summary(); err == nil {
		lakehost.Print(os.Stdout, counts)
	}
	return 0
}

// printMaintenance prints what one maintenance run did to each curated table.
func printMaintenance(w io.Writer, out []byte) error {
	var recs []maintain.Record
	if err := json.Unmarshal(out, &recs); err != nil {
		return fmt.Errorf("the maintain function answered %s: %w", out, err)
	}
	for _, r := range recs {
		fmt.Fprintf(w, "table maintenance of %s: %d partitions compacted (%d files into %d), %d snapshots expired (%d kept), %d files deleted (%d bytes), %d young orphans kept; record s3://%s/%s%s/\n",
			r.Dataset, r.PartitionsCompacted, r.FilesCompacted, r.FilesWritten, r.SnapshotsExpired, r.SnapshotsKept, r.FilesDeleted, r.BytesFreed,
			r.YoungOrphansKept, lakehost.Buckets[zone.Curated], maintain.RecordPrefix, r.Dataset)
	}
	return nil
}

// lineageOf is the datasets whose lineage graph the sample run prints.
func lineageOf(datasets string) string {
	if datasets == "" || datasets == "all" {
		return "user_events,customers"
	}
	return datasets
}

// envDuration reads a duration such as 1s from the environment; unset is zero, and a value
// that is not a duration stops the host rather than running without the latency asked for.
func envDuration(name string) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		fmt.Fprintf(os.Stderr, "local: %s=%q is not a duration such as 1s or 1500ms\n", name, v)
		os.Exit(2)
	}
	return d
}
