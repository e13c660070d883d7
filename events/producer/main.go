// Command producer writes fake events for the lake's dataset contracts to a Kinesis stream.
//
//	go run ./events/producer --stream NAME --dataset user_events --amount 5000 --rate 1000 --bad 0.05
//
// The endpoint, region and credentials come from the AWS SDK's standard configuration
// (AWS_ENDPOINT_URL, AWS_REGION, AWS_PROFILE...), so the same command feeds a local stand-in,
// LocalStack or AWS. With --sample-event N it writes, instead, a Lambda Kinesis trigger payload
// of N records to stdout (events/samples/kinesis-batch.json is made that way).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/streamput"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command; it returns the exit code: 0 when every record went in, 1 when some
// failed for good, 2 for a usage or setup error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("producer", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var (
		stream   = fl.String("stream", "", "Kinesis stream to write to (required)")
		datasets = fl.String("dataset", "user_events", `dataset(s) to produce, comma-separated, or "all"`)
		amount   = fl.Int("amount", 1000, "number of records")
		rate     = fl.Float64("rate", 0, "records per second, resends included; 0 for as fast as the stream takes them")
		bad      = fl.Float64("bad", 0, "share of deliberately invalid records, 0 to 1 (each of a named kind)")
		seed     = fl.Uint64("seed", 0, "seed for reproducible records; 0 picks one and prints it")
		partFrom = fl.String("partitions-from", "key", `partition key: "key" (the contract's key), "random", or a field name`)
		spread   = fl.Duration("spread", 3*time.Hour, "event times are spread over this long before now")
		nowFlag  = fl.String("now", "", "latest event time, RFC 3339 (default: the current time)")
		attempts = fl.Int("max-attempts", 8, "attempts per record before it counts as failed")
		sample   = fl.Int("sample-event", 0, "write a Lambda Kinesis event of this many records to stdout instead of producing")
		httpURL  = fl.String("http", "", "send through the events API at this URL (POST /events) instead of to a stream, e.g. http://127.0.0.1:8088")
		sigv4    = fl.Bool("sigv4", false, "with --http: sign requests with the environment's AWS credentials (the deployed API uses IAM auth)")
	)
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: producer --stream NAME [--dataset user_events] [--amount N] [--rate R] [--bad 0.05] [--seed N] [--partitions-from key]")
		fmt.Fprintln(stderr, "       producer --http URL [--sigv4] [--dataset user_events] [--amount N] [--bad 0.05] [--seed N]")
		fmt.Fprintln(stderr, "       producer --sample-event N [--dataset all] [--bad 0.3] [--seed N] [--now 2026-11-23T12:00:00Z]")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "producer: "+format+"\n", a...)
		return 2
	}
	if fl.NArg() > 0 {
		return fail("unexpected arguments %q (flags only)", fl.Args())
	}
	now := time.Now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339Nano, *nowFlag)
		if err != nil {
			return fail("--now %q is not an RFC 3339 time with a zone, e.g. 2026-11-23T12:00:00Z", *nowFlag)
		}
		now = t
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
		fmt.Fprintf(stderr, "seed %d (pass --seed %d to repeat this run)\n", *seed, *seed)
	}
	gens, err := generators(*datasets, fake.Options{Seed: *seed, Now: now, Spread: *spread, BadShare: *bad, PartitionFrom: *partFrom})
	if err != nil {
		return fail("%v", err)
	}
	if *sample > 0 {
		data, err := sampleEvent(gens, *sample, now)
		if err != nil {
			return fail("%v", err)
		}
		stdout.Write(data)
		return 0
	}
	if *httpURL != "" {
		return sendHTTP(ctx, gens, httpSettings{url: *httpURL, sigv4: *sigv4, amount: *amount, attempts: *attempts}, stdout, stderr)
	}
	if *stream == "" {
		return fail("--stream is required: the name of the Kinesis stream to write to (or --http URL for the events API)")
	}
	if *amount < 0 {
		return fail("--amount %d must not be negative", *amount)
	}

	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return fail("%v", err)
	}
	if cfg.Region == "" {
		return fail("no AWS region configured: set AWS_REGION (e.g. us-east-1)")
	}
	bar := streamput.Bar(stderr, *amount, isTerminal(stderr))
	w, err := streamput.New(kinesis.NewFromConfig(cfg), streamput.Config{
		StreamName: *stream, Rate: *rate, MaxAttempts: *attempts, Progress: bar.Update})
	if err != nil {
		return fail("%v", err)
	}

	tally, putErr := fake.Produce(ctx, gens, *amount, func(ctx context.Context, r fake.Record) error {
		return w.Put(ctx, streamput.Entry{Data: r.Data, PartitionKey: r.PartitionKey})
	})
	if putErr == nil {
		putErr = w.Flush(ctx)
	}
	bar.Finish()

	s := w.Stats()
	fmt.Fprintf(stdout, "stream %s: sent %d, failed %d, in %s: %.0f records/s (%d calls, %d resends, %d throttled, %.1f MB)\n",
		*stream, s.Sent, s.Failed, s.Elapsed.Round(time.Millisecond), s.PerSecond(), s.Calls, s.Retries, s.Throttled, float64(s.Bytes)/1e6)
	if n := tally.Bad(); n > 0 {
		fmt.Fprintf(stdout, "bad records produced: %d of %d (%.1f%%): %v\n", n, tally.Total(), 100*float64(n)/float64(tally.Total()), tally)
	}
	if putErr != nil {
		fmt.Fprintf(stderr, "producer: stopped: %v\n", putErr)
		return 1
	}
	if s.Failed > 0 {
		codes := map[string]int{}
		for _, f := range w.Failures() {
			codes[f.Code]++
		}
		fmt.Fprintf(stderr, "producer: %d records failed for good (by code: %v): the stream may be under-provisioned; lower --rate or add shards\n", s.Failed, codes)
		return 1
	}
	return 0
}

// generators makes one generator per named dataset; each draws from the same seed.
func generators(names string, opts fake.Options) ([]*fake.Generator, error) {
	reg, err := events.Registry()
	if err != nil {
		return nil, err
	}
	gens, err := fake.Generators(reg, names, opts)
	if err != nil {
		return nil, fmt.Errorf("--dataset: %w", err)
	}
	return gens, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
