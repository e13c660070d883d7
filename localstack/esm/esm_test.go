package esm_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/sluicelake/sluice/infra/bundle"
	"github.com/sluicelake/sluice/localstack/esm"
	"github.com/sluicelake/sluice/localstack/kinesislocal"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
)

// One kinesis-mock and one build of the handlers under testdata/ serve every test; each test
// uses its own stream.
var (
	server    *kinesislocal.Server
	handlers  string
	streamSeq atomic.Int64
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "esm-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := bundle.Build(context.Background(), "", runtime.GOARCH, dir+string(filepath.Separator),
		"./testdata/partial", "./testdata/reject", "./testdata/poison"); err != nil {
		fmt.Fprintf(os.Stderr, "building test handlers: %v\n", err)
		return 1
	}
	handlers = dir

	server, err = kinesislocal.Start(context.Background(), kinesislocal.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer server.Close()
	return m.Run()
}

func newStream(t *testing.T, shards int) (*kinesis.Client, string) {
	t.Helper()
	client := server.Client()
	// Unique per run, so -count=N does not reuse a stream that already holds records.
	name := fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), streamSeq.Add(1))
	if err := kinesislocal.CreateStream(context.Background(), client, name, shards); err != nil {
		t.Fatal(err)
	}
	return client, name
}

func startFunction(t *testing.T, handler string, env ...string) *runtimeapi.Function {
	t.Helper()
	cfg := runtimeapi.Config{Name: handler, Binary: filepath.Join(handlers, handler), Env: env, Region: kinesislocal.Region}
	if testing.Verbose() {
		cfg.Stderr = os.Stderr
	}
	fn, err := runtimeapi.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fn.Close() })
	return fn
}

func startMapping(t *testing.T, client *kinesis.Client, fn esm.Invoker, cfg esm.Config) *esm.Mapping {
	t.Helper()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	cfg.RetryBackoff = 5 * time.Millisecond
	if testing.Verbose() {
		cfg.Logger = slogToTest(t)
	}
	m, err := esm.Start(context.Background(), client, fn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// put writes records with the given data, each with its data (up to 256 bytes) as partition key,
// in order, in one PutRecords call (kinesis-mock takes ~0.1 s per call on a busy machine).
func put(t *testing.T, client *kinesis.Client, stream string, data ...string) map[string]string {
	t.Helper()
	var entries []types.PutRecordsRequestEntry
	for _, d := range data {
		entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(d[:min(len(d), 256)]), Data: []byte(d)})
	}
	out, err := client.PutRecords(context.Background(), &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
	if err != nil {
		t.Fatal(err)
	}
	if n := aws.ToInt32(out.FailedRecordCount); n != 0 {
		t.Fatalf("PutRecords: %d records failed", n)
	}
	seqs := map[string]string{}
	for i, r := range out.Records {
		seqs[data[i]] = aws.ToString(r.SequenceNumber)
	}
	return seqs
}

func waitIdle(t *testing.T, m *esm.Mapping) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.WaitIdle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v (stats %+v)", err, m.Stats())
	}
}

type logLine struct {
	Req, Shard, Seq, Data, Key, Source, Region, Role, Name string
	Arrive                                                 float64
}

func readLog(t *testing.T, path string) []logLine {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []logLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func TestPartialBatchFailureRetriesFromTheReportedRecord(t *testing.T) {
	client, stream := newStream(t, 2)
	dir := t.TempDir()
	logFile := filepath.Join(dir, "log.jsonl")
	fn := startFunction(t, "partial", "LOG_FILE="+logFile, "FAIL_DATA=rec-07", "FAIL_DATA_MARKER="+filepath.Join(dir, "failed-once"))

	var data []string
	for i := range 20 {
		data = append(data, fmt.Sprintf("rec-%02d", i))
	}
	seqs := put(t, client, stream, data...)

	m := startMapping(t, client, fn, esm.Config{
		Stream:                  stream,
		ReportBatchItemFailures: true,
		MaximumRetryAttempts:    2,
		FunctionARN:             fn.ARN(),
	})
	waitIdle(t, m)

	lines := readLog(t, logFile)
	seen := map[string]int{}
	var batches [][]logLine // in invocation order
	for i, l := range lines {
		seen[l.Data]++
		if i == 0 || l.Req != lines[i-1].Req {
			batches = append(batches, nil)
		}
		batches[len(batches)-1] = append(batches[len(batches)-1], l)
		if l.Seq != seqs[l.Data] || l.Key != l.Data || l.Source != m.StreamARN() || l.Region != kinesislocal.Region ||
			l.Role != "arn:aws:iam::000000000000:role/lambda-role" || l.Name != "aws:kinesis:record" || l.Arrive < 1e9 {
			t.Errorf("record as the function saw it: %+v (put as seq %s)", l, seqs[l.Data])
		}
	}
	for _, d := range data {
		if seen[d] == 0 {
			t.Errorf("%s never reached the function", d)
		}
	}
	if seen["rec-07"] != 2 {
		t.Errorf("rec-07 was delivered %d times, want 2 (reported failed once)", seen["rec-07"])
	}

	// Every batch is one shard's records in order. The batch that failed at rec-07 is followed on
	// its shard by a retry starting exactly at rec-07; what came before it is not redelivered.
	lastOnShard := map[string][]logLine{}
	retried := false
	for i, b := range batches {
		for j := 1; j < len(b); j++ {
			if b[j].Shard != b[0].Shard || !seqLess(b[j-1].Seq, b[j].Seq) {
				t.Fatalf("batch %d is not one shard's records in order: %+v", i, b)
			}
		}
		shard := b[0].Shard
		if prev := lastOnShard[shard]; prev != nil && !seqLess(prev[len(prev)-1].Seq, b[0].Seq) {
			// A redelivery: only the retry from the reported record may repeat records.
			if b[0].Data != "rec-07" || !slices.ContainsFunc(prev, func(l logLine) bool { return l.Data == "rec-07" }) {
				t.Errorf("batch %d on %s starts at %s, inside the previous batch %+v", i, shard, b[0].Data, prev)
			}
			retried = true
		}
		lastOnShard[shard] = b
	}
	if !retried {
		t.Errorf("no batch was retried from rec-07; batches: %+v", batches)
	}
	for d, n := range seen {
		if n > 1 && seqLess(seqs[d], seqs["rec-07"]) && shardOf(lines, d) == shardOf(lines, "rec-07") {
			t.Errorf("%s, before the failed record on its shard, was delivered %d times", d, n)
		}
	}

	st := m.Stats()
	if st.Records != 20 || st.PartialFailures != 1 || st.Retries != 1 || st.DLQRecords != 0 || st.Invocations != st.Batches+1 {
		t.Errorf("stats = %+v", st)
	}
}

func shardOf(lines []logLine, data string) string {
	for _, l := range lines {
		if l.Data == data {
			return l.Shard
		}
	}
	return ""
}

func TestFailingBatchesGoToTheOnFailureDirectoryAndTheMappingMovesOn(t *testing.T) {
	client, stream := newStream(t, 1)
	fn := startFunction(t, "reject")
	dlq := t.TempDir()
	seqs := put(t, client, stream, "a", "b", "c", "d", "e")

	m := startMapping(t, client, fn, esm.Config{
		Stream:               stream,
		BatchSize:            3,
		MaximumRetryAttempts: 2,
		OnFailure:            esm.DirDestination(dlq),
		FunctionARN:          fn.ARN(),
	})
	waitIdle(t, m)

	st := m.Stats()
	if st.Batches != 2 || st.Invocations != 6 || st.Retries != 4 || st.FunctionErrors != 6 ||
		st.DLQBatches != 2 || st.DLQRecords != 5 || st.Records != 0 {
		t.Errorf("stats = %+v, want 2 batches each invoked 3 times, then sent on", st)
	}
	failures, err := esm.ReadFailures(dlq)
	if err != nil {
		t.Fatal(err)
	}
	if len(failures) != 2 {
		t.Fatalf("%d failure records, want 2", len(failures))
	}
	var got []string
	for i, f := range failures {
		info := f.KinesisBatchInfo
		if f.RequestContext.Condition != esm.ConditionRetryAttemptsExhausted || f.RequestContext.FunctionArn != fn.ARN() ||
			f.RequestContext.ApproximateInvokeCount != 3 || f.ResponseContext.FunctionError != "Unhandled" ||
			f.Version != "1.0" || info.ShardID != "shardId-000000000000" || info.StreamArn != m.StreamARN() {
			t.Errorf("failure record %d = %+v %+v %+v", i, f.RequestContext, f.ResponseContext, info)
		}
		var ev events.KinesisEvent
		if err := json.Unmarshal(f.Payload, &ev); err != nil {
			t.Fatalf("failure record %d payload: %v", i, err)
		}
		if len(ev.Records) != info.BatchSize || ev.Records[0].Kinesis.SequenceNumber != info.StartSequenceNumber ||
			ev.Records[len(ev.Records)-1].Kinesis.SequenceNumber != info.EndSequenceNumber {
			t.Errorf("failure record %d: payload does not match its batch info %+v", i, info)
		}
		for _, r := range ev.Records {
			got = append(got, string(r.Kinesis.Data))
		}
	}
	if strings.Join(got, "") != "abcde" || failures[0].KinesisBatchInfo.StartSequenceNumber != seqs["a"] {
		t.Errorf("records given up on: %q, first batch from %s", got, failures[0].KinesisBatchInfo.StartSequenceNumber)
	}
	// The directory holds them where an S3 destination would.
	want := filepath.Join(dlq, "aws", "lambda", m.UUID(), "shardId-000000000000")
	if _, err := os.Stat(want); err != nil {
		t.Errorf("failure records not under %s: %v", want, err)
	}

	// Records put later are still read: the mapping moved past the failed ones.
	put(t, client, stream, "f")
	waitIdle(t, m)
	if st := m.Stats(); st.DLQRecords != 6 {
		t.Errorf("after one more record: stats = %+v", st)
	}
}

func TestBisectIsolatesThePoisonRecord(t *testing.T) {
	client, stream := newStream(t, 1)
	logFile := filepath.Join(t.TempDir(), "ok.txt")
	fn := startFunction(t, "poison", "LOG_FILE="+logFile)
	data := []string{"r0", "r1", "r2", "r3", "r4", "poison", "r6", "r7"}
	seqs := put(t, client, stream, data...)

	var mu sync.Mutex
	var failed []esm.FailureRecord
	m := startMapping(t, client, fn, esm.Config{
		Stream:                     stream,
		BatchSize:                  8,
		MaximumRetryAttempts:       1,
		BisectBatchOnFunctionError: true,
		OnFailure: esm.DestinationFunc(func(_ context.Context, rec esm.FailureRecord) error {
			mu.Lock()
			defer mu.Unlock()
			failed = append(failed, rec)
			return nil
		}),
	})
	waitIdle(t, m)

	mu.Lock()
	defer mu.Unlock()
	if len(failed) != 1 || failed[0].KinesisBatchInfo.BatchSize != 1 || failed[0].KinesisBatchInfo.StartSequenceNumber != seqs["poison"] {
		for _, f := range failed {
			t.Errorf("failure record %+v %+v", f.RequestContext, f.KinesisBatchInfo)
		}
		t.Fatalf("%d failure records, want one for the poison record %s", len(failed), seqs["poison"])
	}
	ok, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(ok)); strings.Join(got, ",") != "r0,r1,r2,r3,r4,r6,r7" {
		t.Errorf("processed %v, want every other record once, in order", got)
	}
	// [8] fails → [4] ok, [4] fails → [2] ok, [2] fails → [1] ok, [poison] fails and is retried
	// once: 8 invocations, 5 function errors, 3 bisections that cost no retries.
	if st := m.Stats(); st.Bisections != 3 || st.Records != 7 || st.DLQRecords != 1 || st.Invocations != 8 || st.FunctionErrors != 5 {
		t.Errorf("stats = %+v", st)
	}
}

func TestLatestSkipsEarlierRecordsAndCancelStops(t *testing.T) {
	client, stream := newStream(t, 1)
	dir := t.TempDir()
	logFile := filepath.Join(dir, "log.jsonl")
	fn := startFunction(t, "partial", "LOG_FILE="+logFile)
	put(t, client, stream, "before")

	ctx, cancel := context.WithCancel(context.Background())
	m, err := esm.Start(ctx, client, fn, esm.Config{Stream: stream, StartingPosition: esm.Latest, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	put(t, client, stream, "after")
	waitIdle(t, m)
	lines := readLog(t, logFile)
	if len(lines) != 1 || lines[0].Data != "after" {
		t.Errorf("the function saw %+v, want only the record put after Start", lines)
	}

	cancel()
	m.Close() // returns once every shard's poller has stopped
	if err := m.WaitIdle(context.Background()); err == nil {
		t.Error("WaitIdle on a stopped mapping returned nil, want an error saying it stopped")
	}
}

// An in-process invoker lets the test see the exact events the mapping sends.
type recorder struct {
	mu       sync.Mutex
	payloads [][]byte
}

func (r *recorder) Invoke(_ context.Context, payload []byte) (runtimeapi.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.payloads = append(r.payloads, payload)
	return runtimeapi.Result{Payload: []byte("null")}, nil
}

func TestBatchesRespectMaxPayloadAndBatchSize(t *testing.T) {
	client, stream := newStream(t, 1)
	var data []string
	for i := range 30 {
		data = append(data, fmt.Sprintf("%03d-%s", i, strings.Repeat("x", 600)))
	}
	put(t, client, stream, data...)

	rec := &recorder{}
	const maxPayload = 4000
	m := startMapping(t, client, rec, esm.Config{Stream: stream, BatchSize: 10, MaxPayload: maxPayload})
	waitIdle(t, m)

	rec.mu.Lock()
	defer rec.mu.Unlock()
	var got []string
	for _, p := range rec.payloads {
		if len(p) > maxPayload {
			t.Errorf("event of %d bytes, over MaxPayload %d", len(p), maxPayload)
		}
		var ev events.KinesisEvent
		if err := json.Unmarshal(p, &ev); err != nil {
			t.Fatal(err)
		}
		if len(ev.Records) == 0 || len(ev.Records) > 10 {
			t.Errorf("batch of %d records", len(ev.Records))
		}
		for _, r := range ev.Records {
			got = append(got, string(r.Kinesis.Data))
		}
	}
	if !slices.Equal(got, data) {
		t.Errorf("records delivered out of order or not exactly once: %d of %d", len(got), len(data))
	}
	if len(rec.payloads) < 30*600*4/3/maxPayload {
		t.Errorf("%d batches: the payload limit did not split them", len(rec.payloads))
	}
}

func TestFullBatchDoesNotWaitForTheBatchingWindow(t *testing.T) {
	client, stream := newStream(t, 1)
	put(t, client, stream, "1", "2", "3", "4", "5")
	rec := &recorder{}
	// Were the hour-long window applied to a full batch, WaitIdle would give up after a minute.
	m := startMapping(t, client, rec, esm.Config{Stream: stream, BatchSize: 5, MaximumBatchingWindow: time.Hour})
	waitIdle(t, m)
	if st := m.Stats(); st.Batches != 1 || st.Records != 5 {
		t.Errorf("stats = %+v, want one batch of 5", st)
	}
}
