// Package streamput writes records to a Kinesis data stream in PutRecords batches.
//
// A Writer fills batches up to Kinesis's limits (500 records and 5 MiB a call, 1 MiB a record
// including its partition key), sends them at an optional rate, and when Kinesis refuses some
// records of a call (FailedRecordCount > 0, an ErrorCode per refused entry, such as
// ProvisionedThroughputExceededException) it sends those records again, and only those, with
// exponential backoff and jitter, up to a bounded number of attempts. Errors of a whole call
// (no such stream, access denied, network) are retried by the SDK's own retryer; what is left
// of them stops the Writer.
package streamput

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"golang.org/x/time/rate"
)

// API is the part of the Kinesis client a Writer uses; *kinesis.Client satisfies it.
type API interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// Kinesis's limits on PutRecords.
const (
	MaxRecordsPerCall = 500
	MaxBytesPerCall   = 5 << 20 // data and partition keys of all records in a call
	MaxRecordBytes    = 1 << 20 // data and partition key of one record
	MaxPartitionKey   = 256     // Unicode characters
)

// Entry is one record to put.
type Entry struct {
	Data         []byte
	PartitionKey string
}

func (e Entry) size() int { return len(e.Data) + len(e.PartitionKey) }

// Failure is a record given up on, with the last reason Kinesis gave.
type Failure struct {
	Entry
	Code, Message string
	Attempts      int
}

// Config tunes a Writer. StreamName or StreamARN is required; the rest has defaults.
type Config struct {
	StreamName string
	StreamARN  string
	// MaxAttempts bounds how often one record is sent before it counts as failed. Default 8.
	MaxAttempts int
	// BaseDelay is the backoff before the first resend; it doubles each attempt, up to
	// MaxDelay. Each wait is drawn from [d/2, d) so that producers do not retry in step.
	// Defaults 100ms and 5s.
	BaseDelay, MaxDelay time.Duration
	// Rate limits records per second, resends included; 0 means as fast as Kinesis takes them.
	// With a rate, batches shrink to a tenth of a second's worth so the flow stays even.
	Rate float64
	// BatchRecords caps records per call below Kinesis's 500 (say, for small test batches).
	BatchRecords int
	// Progress, if set, is called after every PutRecords call with the running totals.
	Progress func(Stats)
}

// Stats are a Writer's running totals.
type Stats struct {
	Sent      int           // records the stream accepted
	Failed    int           // records given up on (see Failures)
	Retries   int           // resends of records the stream refused
	Throttled int           // refusals for ProvisionedThroughputExceededException
	Calls     int           // PutRecords calls
	Bytes     int64         // data and partition keys accepted
	Elapsed   time.Duration // from the first Put to the latest answer
}

// PerSecond is the rate of accepted records.
func (s Stats) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Sent) / s.Elapsed.Seconds()
}

// RecordError says why a record was not accepted for sending; the record is not counted.
type RecordError struct {
	Size, PartitionKeyLen int
	Problem               string
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("streamput: record of %d bytes with a %d-character partition key: %s", e.Size, e.PartitionKeyLen, e.Problem)
}

// Writer batches and sends records. It is not safe for concurrent use, except Stats and
// Failures, which may be called from anywhere (a progress display, say).
type Writer struct {
	api     API
	cfg     Config
	limiter *rate.Limiter
	batch   []Entry
	bytes   int
	start   time.Time
	// outcomes, while PutEach runs, receives each record's result by its index.
	outcomes []Outcome

	mu       sync.Mutex
	stats    Stats
	failures []Failure

	// sleep waits between attempts; tests replace it to observe backoff without waiting.
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
}

// New makes a Writer that sends through api.
func New(api API, cfg Config) (*Writer, error) {
	if api == nil {
		return nil, errors.New("streamput: no Kinesis client given")
	}
	if cfg.StreamName == "" && cfg.StreamARN == "" {
		return nil, errors.New("streamput: name the stream (StreamName or StreamARN)")
	}
	if cfg.Rate < 0 || cfg.BatchRecords < 0 || cfg.MaxAttempts < 0 {
		return nil, errors.New("streamput: Rate, BatchRecords and MaxAttempts must not be negative")
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = 100 * time.Millisecond
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 5 * time.Second
	}
	if cfg.BatchRecords == 0 || cfg.BatchRecords > MaxRecordsPerCall {
		cfg.BatchRecords = MaxRecordsPerCall
	}
	w := &Writer{api: api, cfg: cfg, sleep: sleepCtx, now: time.Now}
	if cfg.Rate > 0 {
		w.cfg.BatchRecords = max(1, min(cfg.BatchRecords, int(cfg.Rate/10)))
		w.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), w.cfg.BatchRecords)
	}
	return w, nil
}

// Put adds a record to the current batch and sends the batch when it is full. A record over
// Kinesis's limits is refused with a *RecordError. An error of a whole call stops the Writer:
// the records of that batch count as failed, and the error says what to check.
func (w *Writer) Put(ctx context.Context, e Entry) error {
	if err := check(e); err != nil {
		return err
	}
	if w.start.IsZero() {
		w.start = w.now()
	}
	if len(w.batch) > 0 && (len(w.batch) == w.cfg.BatchRecords || w.bytes+e.size() > MaxBytesPerCall) {
		if err := w.Flush(ctx); err != nil {
			return err
		}
	}
	w.batch = append(w.batch, e)
	w.bytes += e.size()
	if len(w.batch) == w.cfg.BatchRecords {
		return w.Flush(ctx)
	}
	return nil
}

// Flush sends what is buffered. Call it once the last record is Put.
func (w *Writer) Flush(ctx context.Context) error {
	if len(w.batch) == 0 {
		return nil
	}
	batch := w.batch
	w.batch, w.bytes = nil, 0
	return w.send(ctx, batch, nil)
}

// Outcome is what became of one record given to PutEach: the stream's sequence number and
// shard, or the last refusal's code and message after the Writer's attempts.
type Outcome struct {
	SequenceNumber, ShardID string
	Code, Message           string
	Attempts                int
}

// Accepted tells whether the stream took the record.
func (o Outcome) Accepted() bool { return o.SequenceNumber != "" }

// PutEach sends entries in as few calls as Kinesis's limits allow, resending refused ones as
// Put does, and answers one Outcome per entry, in order, the way PutRecords answers a call. It
// is for callers that owe their own caller a per-record answer (the HTTP ingestion API). An
// entry over Kinesis's limits is refused with a *RecordError before anything is sent. An error
// of a whole call stops it: that call's records and those not yet sent get Code "CallFailed"
// (or "Canceled"), and the error says what to check.
func (w *Writer) PutEach(ctx context.Context, entries []Entry) ([]Outcome, error) {
	for _, e := range entries {
		if err := check(e); err != nil {
			return nil, err
		}
	}
	if err := w.Flush(ctx); err != nil {
		return nil, err
	}
	if w.start.IsZero() {
		w.start = w.now()
	}
	w.outcomes = make([]Outcome, len(entries))
	defer func() { w.outcomes = nil }()
	var err error
	for start := 0; start < len(entries); {
		end, bytes := start, 0
		for end < len(entries) && end-start < w.cfg.BatchRecords && bytes+entries[end].size() <= MaxBytesPerCall {
			bytes += entries[end].size()
			end++
		}
		ids := make([]int, end-start)
		for i := range ids {
			ids[i] = start + i
		}
		if err = w.send(ctx, entries[start:end], ids); err != nil {
			code := "CallFailed"
			if ctx.Err() != nil {
				code = "Canceled"
			}
			for i := end; i < len(entries); i++ {
				w.outcomes[i] = Outcome{Code: code, Message: "not sent: an earlier call failed: " + err.Error()}
			}
			break
		}
		start = end
	}
	return w.outcomes, err
}

// Stats returns the running totals.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Failures returns the records given up on.
func (w *Writer) Failures() []Failure {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Failure(nil), w.failures...)
}

func check(e Entry) error {
	problem := ""
	switch n := utf8.RuneCountInString(e.PartitionKey); {
	case n == 0:
		problem = "the partition key is empty (Kinesis needs 1 to 256 characters)"
	case n > MaxPartitionKey:
		problem = "the partition key is longer than 256 characters: use a shorter key or a hash of it"
	case e.size() > MaxRecordBytes:
		problem = fmt.Sprintf("over Kinesis's limit of %d bytes per record (data plus partition key): split the record or store the payload in S3 and send a reference", MaxRecordBytes)
	}
	if problem == "" {
		return nil
	}
	return &RecordError{Size: len(e.Data), PartitionKeyLen: len(e.PartitionKey), Problem: problem}
}

// send puts one batch, resending refused records until they are in or out of attempts. ids,
// when PutEach calls, are the records' indexes in w.outcomes.
func (w *Writer) send(ctx context.Context, pending []Entry, ids []int) error {
	for attempt := 1; ; attempt++ {
		if w.limiter != nil {
			if err := w.limiter.WaitN(ctx, len(pending)); err != nil {
				w.fail(pending, ids, "Canceled", err.Error(), attempt-1)
				return err
			}
		}
		in := &kinesis.PutRecordsInput{Records: make([]types.PutRecordsRequestEntry, len(pending))}
		if w.cfg.StreamARN != "" {
			in.StreamARN = aws.String(w.cfg.StreamARN)
		} else {
			in.StreamName = aws.String(w.cfg.StreamName)
		}
		for i, e := range pending {
			in.Records[i] = types.PutRecordsRequestEntry{Data: e.Data, PartitionKey: aws.String(e.PartitionKey)}
		}
		out, err := w.api.PutRecords(ctx, in)
		if err == nil && len(out.Records) != len(pending) {
			err = fmt.Errorf("the stream answered %d results for %d records", len(out.Records), len(pending))
		}
		if err != nil {
			w.fail(pending, ids, "CallFailed", err.Error(), attempt)
			w.mu.Lock()
			w.stats.Calls++
			w.mu.Unlock()
			w.progress()
			return w.explain(err)
		}

		var retry []Entry
		var retryIDs []int
		w.mu.Lock()
		w.stats.Calls++
		for i, r := range out.Records {
			if r.ErrorCode == nil {
				w.stats.Sent++
				w.stats.Bytes += int64(pending[i].size())
				if ids != nil {
					w.outcomes[ids[i]] = Outcome{SequenceNumber: aws.ToString(r.SequenceNumber), ShardID: aws.ToString(r.ShardId), Attempts: attempt}
				}
				continue
			}
			code, msg := aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage)
			if code == "ProvisionedThroughputExceededException" {
				w.stats.Throttled++
			}
			if attempt >= w.cfg.MaxAttempts || !retryable(code) {
				w.stats.Failed++
				w.failures = append(w.failures, Failure{Entry: pending[i], Code: code, Message: msg, Attempts: attempt})
				if ids != nil {
					w.outcomes[ids[i]] = Outcome{Code: code, Message: msg, Attempts: attempt}
				}
				continue
			}
			retry = append(retry, pending[i])
			if ids != nil {
				retryIDs = append(retryIDs, ids[i])
			}
		}
		w.stats.Retries += len(retry)
		w.stats.Elapsed = w.now().Sub(w.start)
		w.mu.Unlock()
		w.progress()
		if len(retry) == 0 {
			return nil
		}
		if err := w.sleep(ctx, w.backoff(attempt)); err != nil {
			w.fail(retry, retryIDs, "Canceled", err.Error(), attempt)
			return err
		}
		pending, ids = retry, retryIDs
	}
}

// backoff is the wait after the given attempt: exponential, capped, with equal jitter.
func (w *Writer) backoff(attempt int) time.Duration {
	d := w.cfg.MaxDelay
	if attempt < 30 {
		d = min(w.cfg.MaxDelay, w.cfg.BaseDelay<<(attempt-1))
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}

// retryable tells refusals that may pass on a later attempt from those that will not: the KMS
// errors other than throttling mean the stream's key is unusable.
func retryable(code string) bool {
	switch code {
	case "KMSDisabledException", "KMSInvalidStateException", "KMSNotFoundException",
		"KMSOptInRequired", "KMSAccessDeniedException", "AccessDeniedException":
		return false
	}
	return true
}

func (w *Writer) fail(es []Entry, ids []int, code, msg string, attempts int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats.Failed += len(es)
	for i, e := range es {
		w.failures = append(w.failures, Failure{Entry: e, Code: code, Message: msg, Attempts: attempts})
		if ids != nil {
			w.outcomes[ids[i]] = Outcome{Code: code, Message: msg, Attempts: attempts}
		}
	}
	w.stats.Elapsed = w.now().Sub(w.start)
}

func (w *Writer) progress() {
	if w.cfg.Progress != nil {
		w.cfg.Progress(w.Stats())
	}
}

// explain adds what to check to an error of a whole call.
func (w *Writer) explain(err error) error {
	stream := w.cfg.StreamName
	if stream == "" {
		stream = w.cfg.StreamARN
	}
	var notFound *types.ResourceNotFoundException
	if errors.As(err, &notFound) {
		return fmt.Errorf("streamput: stream %q does not exist at this endpoint: create it (aws kinesis create-stream --stream-name %s --shard-count 2), or check the stream name, AWS_ENDPOINT_URL and AWS_REGION: %w", stream, stream, err)
	}
	return fmt.Errorf("streamput: PutRecords to stream %q failed after the SDK's retries: check the endpoint (AWS_ENDPOINT_URL), the region and the credentials: %w", stream, err)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
