package streamput

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// flaky is a stand-in for Kinesis that refuses chosen records a set number of times, the way
// a hot shard does. Kinesis stand-ins never refuse records, so this branch needs its own fake.
type flaky struct {
	refuse map[string]int    // data -> refusals left
	code   map[string]string // data -> error code, default ProvisionedThroughputExceededException
	calls  [][]string        // data of each call
	bytes  []int             // size of each call
	err    error             // returned for every call, when set
	stored []string
}

func (f *flaky) PutRecords(_ context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	var call []string
	size := 0
	out := &kinesis.PutRecordsOutput{}
	failed := int32(0)
	for i, r := range in.Records {
		d := string(r.Data)
		call = append(call, d)
		size += len(r.Data) + len(aws.ToString(r.PartitionKey))
		if f.refuse[d] > 0 {
			f.refuse[d]--
			code := f.code[d]
			if code == "" {
				code = "ProvisionedThroughputExceededException"
			}
			out.Records = append(out.Records, types.PutRecordsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("Rate exceeded for shard shardId-000000000001")})
			failed++
			continue
		}
		f.stored = append(f.stored, d)
		out.Records = append(out.Records, types.PutRecordsResultEntry{
			SequenceNumber: aws.String(fmt.Sprint(len(f.stored))), ShardId: aws.String("shardId-000000000001")})
		_ = i
	}
	out.FailedRecordCount = aws.Int32(failed)
	f.calls = append(f.calls, call)
	f.bytes = append(f.bytes, size)
	return out, nil
}

func newTestWriter(t *testing.T, api API, cfg Config) (*Writer, *[]time.Duration) {
	t.Helper()
	if cfg.StreamName == "" {
		cfg.StreamName = "s"
	}
	w, err := New(api, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	w.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	return w, &waits
}

func put(t *testing.T, w *Writer, n int, data func(i int) string) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if err := w.Put(ctx, Entry{Data: []byte(data(i)), PartitionKey: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestResendsOnlyRefusedRecords(t *testing.T) {
	f := &flaky{refuse: map[string]int{"r3": 1, "r7": 2, "r8": 1}}
	w, waits := newTestWriter(t, f, Config{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second})
	put(t, w, 10, func(i int) string { return fmt.Sprintf("r%d", i) })

	want := [][]string{
		{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"},
		{"r3", "r7", "r8"},
		{"r7"},
	}
	if fmt.Sprint(f.calls) != fmt.Sprint(want) {
		t.Fatalf("calls %v, want %v", f.calls, want)
	}
	s := w.Stats()
	if s.Sent != 10 || s.Failed != 0 || s.Retries != 4 || s.Throttled != 4 || s.Calls != 3 {
		t.Fatalf("stats %+v, want 10 sent, 0 failed, 4 retries, 4 throttled, 3 calls", s)
	}
	// Backoff doubles and is jittered within [d/2, d].
	if len(*waits) != 2 {
		t.Fatalf("waits %v, want 2", *waits)
	}
	for i, d := range *waits {
		hi := 100 * time.Millisecond << i
		if d < hi/2 || d > hi {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, d, hi/2, hi)
		}
	}
	if len(f.stored) != 10 {
		t.Fatalf("stored %d records, want 10", len(f.stored))
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	f := &flaky{
		refuse: map[string]int{"stuck": 100, "kms": 100},
		code:   map[string]string{"kms": "KMSAccessDeniedException"},
	}
	w, waits := newTestWriter(t, f, Config{MaxAttempts: 4, BaseDelay: time.Second, MaxDelay: 3 * time.Second})
	put(t, w, 3, func(i int) string { return []string{"ok", "stuck", "kms"}[i] })

	s := w.Stats()
	if s.Sent != 1 || s.Failed != 2 || s.Calls != 4 || s.Retries != 3 {
		t.Fatalf("stats %+v, want 1 sent, 2 failed, 4 calls, 3 retries", s)
	}
	fails := w.Failures()
	byData := map[string]Failure{}
	for _, f := range fails {
		byData[string(f.Data)] = f
	}
	if f := byData["stuck"]; f.Attempts != 4 || f.Code != "ProvisionedThroughputExceededException" {
		t.Errorf("stuck: %+v, want 4 attempts and the throttling code", f)
	}
	// A key the stream cannot use will not work on a later attempt either.
	if f := byData["kms"]; f.Attempts != 1 || f.Code != "KMSAccessDeniedException" {
		t.Errorf("kms: %+v, want 1 attempt", f)
	}
	// The cap holds: 1s, 2s, then 3s instead of 4s.
	for i, hi := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
		if d := (*waits)[i]; d < hi/2 || d > hi {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, d, hi/2, hi)
		}
	}
}

func TestBatchLimits(t *testing.T) {
	f := &flaky{}
	w, _ := newTestWriter(t, f, Config{})
	put(t, w, 1234, func(i int) string { return fmt.Sprintf("r%d", i) })
	var sizes []int
	for _, c := range f.calls {
		sizes = append(sizes, len(c))
	}
	if fmt.Sprint(sizes) != "[500 500 234]" {
		t.Errorf("batch sizes %v, want [500 500 234]", sizes)
	}

	// Large records: 5 MiB a call is the limit before 500 records is.
	f = &flaky{}
	w, _ = newTestWriter(t, f, Config{})
	big := strings.Repeat("x", 900<<10)
	put(t, w, 12, func(i int) string { return fmt.Sprint(i%10) + big })
	sizes = nil
	for i, c := range f.calls {
		sizes = append(sizes, len(c))
		if f.bytes[i] > MaxBytesPerCall {
			t.Errorf("call %d carried %d bytes, over %d", i, f.bytes[i], MaxBytesPerCall)
		}
	}
	if fmt.Sprint(sizes) != "[5 5 2]" {
		t.Errorf("batch sizes %v, want [5 5 2]", sizes)
	}
	if w.Stats().Sent != 12 {
		t.Errorf("sent %d, want 12", w.Stats().Sent)
	}

	// A rate makes batches a tenth of a second's worth.
	f = &flaky{}
	w, _ = newTestWriter(t, f, Config{Rate: 1e6, BatchRecords: 40})
	put(t, w, 100, func(i int) string { return fmt.Sprint(i) })
	if len(f.calls) != 3 || len(f.calls[0]) != 40 {
		t.Errorf("with BatchRecords 40: %d calls, first of %d", len(f.calls), len(f.calls[0]))
	}
}

func TestRefusesRecordsKinesisWouldReject(t *testing.T) {
	w, _ := newTestWriter(t, &flaky{}, Config{})
	ctx := context.Background()
	cases := map[string]Entry{
		"over Kinesis's limit": {Data: bytes.Repeat([]byte("x"), MaxRecordBytes-2), PartitionKey: "abc"},
		"empty":                {Data: []byte("{}")},
		"longer than 256":      {Data: []byte("{}"), PartitionKey: strings.Repeat("k", 257)},
	}
	for want, e := range cases {
		err := w.Put(ctx, e)
		var re *RecordError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), want) {
			t.Errorf("want a RecordError saying %q, got %v", want, err)
		}
	}
	// Exactly at the limit is fine: 1 MiB including the key.
	if err := w.Put(ctx, Entry{Data: bytes.Repeat([]byte("x"), MaxRecordBytes-3), PartitionKey: "abc"}); err != nil {
		t.Errorf("a record of exactly 1 MiB with its key: %v", err)
	}
}

func TestCallErrorStopsWithAHint(t *testing.T) {
	f := &flaky{err: &types.ResourceNotFoundException{Message: aws.String("Stream nope under account 000000000000 not found.")}}
	w, _ := newTestWriter(t, f, Config{StreamName: "nope", BatchRecords: 2})
	ctx := context.Background()
	_ = w.Put(ctx, Entry{Data: []byte("a"), PartitionKey: "a"})
	err := w.Put(ctx, Entry{Data: []byte("b"), PartitionKey: "b"})
	if err == nil || !strings.Contains(err.Error(), "create-stream --stream-name nope") {
		t.Fatalf("want an error that says how to create the stream, got %v", err)
	}
	if s := w.Stats(); s.Failed != 2 || s.Sent != 0 {
		t.Fatalf("stats %+v, want the batch's 2 records failed", s)
	}
}

func TestCanceledDuringBackoff(t *testing.T) {
	f := &flaky{refuse: map[string]int{"a": 5}}
	w, _ := newTestWriter(t, f, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	w.sleep = func(context.Context, time.Duration) error { cancel(); return ctx.Err() }
	_ = w.Put(ctx, Entry{Data: []byte("a"), PartitionKey: "a"})
	_ = w.Put(ctx, Entry{Data: []byte("b"), PartitionKey: "b"})
	if err := w.Flush(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Flush = %v, want context.Canceled", err)
	}
	if s := w.Stats(); s.Sent != 1 || s.Failed != 1 {
		t.Fatalf("stats %+v, want 1 sent and the refused one failed", s)
	}
}

func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	bar := Bar(&out, 1000, false)
	for done := 0; done <= 1000; done += 50 {
		bar.Update(Stats{Sent: done, Elapsed: time.Second})
	}
	bar.Finish()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 11 || strings.Contains(out.String(), "\r") {
		t.Fatalf("without redraw want 11 lines (each tenth), no carriage returns; got %q", out.String())
	}
	if want := "[##############################] 1000/1000 100%"; !strings.HasPrefix(lines[10], want) {
		t.Errorf("last line %q, want it to start %q", lines[10], want)
	}

	out.Reset()
	bar = Bar(&out, 10, true)
	bar.Update(Stats{Sent: 5, Elapsed: time.Second})
	bar.Finish()
	if got := out.String(); !strings.HasPrefix(got, "\r[###############...............]  5/10  50%       5 rec/s") || !strings.HasSuffix(got, "\n") {
		t.Errorf("redrawn bar %q", got)
	}
}

// PutEach answers every record in order, resending only the refused ones, and carries the
// stream's sequence number and shard to each accepted record.
func TestPutEachAnswersInOrder(t *testing.T) {
	f := &flaky{
		refuse: map[string]int{"b": 1, "d": 99},
		code:   map[string]string{"d": "KMSAccessDeniedException"},
	}
	w, waits := newTestWriter(t, f, Config{BatchRecords: 3})
	var entries []Entry
	for _, d := range []string{"a", "b", "c", "d", "e"} {
		entries = append(entries, Entry{Data: []byte(d), PartitionKey: "k"})
	}
	out, err := w.PutEach(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 5 {
		t.Fatalf("%d outcomes for 5 records", len(out))
	}
	// Call 1: a b c (b refused); resend: b; call 2: d e (d refused for good, not retryable).
	if got := fmt.Sprint(f.calls); got != "[[a b c] [b] [d e]]" {
		t.Errorf("calls %s", got)
	}
	want := []string{"a:1", "b:3", "c:2", "d:KMSAccessDeniedException", "e:4"}
	for i, o := range out {
		got := string(entries[i].Data) + ":" + o.SequenceNumber
		if !o.Accepted() {
			got = string(entries[i].Data) + ":" + o.Code
		}
		if got != want[i] {
			t.Errorf("record %d: %s, want %s", i, got, want[i])
		}
		if o.Accepted() && o.ShardID != "shardId-000000000001" {
			t.Errorf("record %d: shard %q", i, o.ShardID)
		}
	}
	if out[1].Attempts != 2 || len(*waits) != 1 {
		t.Errorf("b took %d attempts, %d waits", out[1].Attempts, len(*waits))
	}
	if s := w.Stats(); s.Sent != 4 || s.Failed != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestPutEachCallFailureAnswersTheRest(t *testing.T) {
	f := &flaky{err: errors.New("connection refused")}
	w, _ := newTestWriter(t, f, Config{BatchRecords: 2})
	entries := []Entry{{Data: []byte("a"), PartitionKey: "k"}, {Data: []byte("b"), PartitionKey: "k"}, {Data: []byte("c"), PartitionKey: "k"}}
	out, err := w.PutEach(context.Background(), entries)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err %v", err)
	}
	for i, o := range out {
		if o.Accepted() || o.Code != "CallFailed" {
			t.Errorf("record %d: %+v", i, o)
		}
	}
	if _, err := w.PutEach(context.Background(), []Entry{{Data: []byte("x")}}); err == nil {
		t.Error("an entry without a partition key was taken")
	}
}
