// Package esm emulates a Lambda event source mapping for a Kinesis stream: it polls every shard,
// builds the Kinesis event Lambda sends, invokes a function with it and applies Lambda's batching,
// retry, partial-failure, bisect and on-failure rules, shard by shard and in order.
package esm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/uuid"

	"github.com/sluicelake/sluice/localstack/runtimeapi"
)

// Limits and defaults of Lambda's Kinesis event source mappings.
const (
	DefaultBatchSize = 100
	MaxBatchSize     = 10000
	// MaxPayload is the largest event Lambda sends (a synchronous invocation's payload limit).
	MaxPayload = runtimeapi.MaxPayload
	// RetryForever is MaximumRetryAttempts' "infinite" (-1), Lambda's default.
	RetryForever = -1
	// DefaultPollInterval is the rate at which Lambda polls an idle shard.
	DefaultPollInterval = time.Second
	// DefaultRetryBackoff is the first pause before retrying a failed batch; it doubles up to
	// maxRetryBackoff.
	DefaultRetryBackoff = 100 * time.Millisecond
	maxRetryBackoff     = 5 * time.Second
	shardRefresh        = 10 * time.Second
	maxGetRecords       = 10000
)

// Invoker runs the function; *runtimeapi.Function is one.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) (runtimeapi.Result, error)
}

// StartingPosition is where a mapping starts reading a shard it has not read before.
type StartingPosition string

// Starting positions.
const (
	TrimHorizon StartingPosition = "TRIM_HORIZON"
	Latest      StartingPosition = "LATEST"
)

// Config is the event source mapping's configuration, named as in CreateEventSourceMapping.
type Config struct {
	// Stream is the stream's name.
	Stream string
	// StartingPosition defaults to TrimHorizon (AWS makes you choose; locally nothing is lost).
	// Shards that appear later (after a reshard) are always read from their start.
	StartingPosition StartingPosition
	// BatchSize is the most records per invocation: default 100, at most 10,000.
	BatchSize int
	// MaximumBatchingWindow is how long to gather records before invoking, unless BatchSize or
	// MaxPayload is reached first; zero invokes as soon as records are read.
	MaximumBatchingWindow time.Duration
	// MaxPayload caps the event's size in bytes; zero means 6 MB, Lambda's limit.
	MaxPayload int
	// ReportBatchItemFailures is FunctionResponseTypes=["ReportBatchItemFailures"].
	ReportBatchItemFailures bool
	// MaximumRetryAttempts is how often a failed batch is retried before it goes to OnFailure.
	// Zero means no retries (as in AWS when set to 0); RetryForever (-1) is AWS's default.
	MaximumRetryAttempts int
	// BisectBatchOnFunctionError splits a batch in two on a function error; splitting does not
	// consume the retry quota.
	BisectBatchOnFunctionError bool
	// OnFailure receives the batches given up on; nil drops them (logged), as Lambda does
	// without a destination.
	OnFailure Destination

	// FunctionARN names the function in failure records.
	FunctionARN string
	// InvokeIdentityArn is the execution role in each event record; empty means
	// arn:aws:iam::<stream account>:role/lambda-role.
	InvokeIdentityArn string
	// Region is each record's awsRegion; empty means the stream ARN's region.
	Region string

	// PollInterval is how often an idle shard is polled; zero means DefaultPollInterval.
	// WaitIdle polls at once whatever this is.
	PollInterval time.Duration
	// RetryBackoff is the first pause before a retry; zero means DefaultRetryBackoff.
	RetryBackoff time.Duration
	// Logger receives what the mapping does; nil discards it.
	Logger *slog.Logger
}

// KinesisAPI is what the mapping needs from Kinesis; *kinesis.Client has it.
type KinesisAPI interface {
	DescribeStreamSummary(context.Context, *kinesis.DescribeStreamSummaryInput, ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
	ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(context.Context, *kinesis.GetShardIteratorInput, ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(context.Context, *kinesis.GetRecordsInput, ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// Stats counts what a mapping has done.
type Stats struct {
	// Invocations is every call of the function, retries included.
	Invocations int64
	// Batches is the batches read from the stream and invoked for the first time.
	Batches int64
	// Records is the records the function processed successfully (checkpointed past).
	Records int64
	// Retries is the invocations that repeated records after a failure (bisected halves included).
	Retries int64
	// FunctionErrors is the invocations that ended in a function error (or a host error).
	FunctionErrors int64
	// PartialFailures is the invocations answered with batch item failures.
	PartialFailures int64
	// Bisections is how often a failed batch was split in two.
	Bisections int64
	// DLQBatches and DLQRecords count what was sent to the on-failure destination (or dropped
	// without one).
	DLQBatches, DLQRecords int64
}

// Mapping is a running event source mapping.
type Mapping struct {
	cfg    Config
	client KinesisAPI
	fn     Invoker
	uuid   string
	src    source // shardID is filled per shard
	log    *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	invocations, batches, records, retries, functionErrors, partialFailures, bisections, dlqBatches, dlqRecords atomic.Int64

	mu      sync.Mutex
	shards  map[string]*shard
	changed chan struct{} // closed and replaced whenever a shard's state changes
}

type shard struct {
	id     string
	parent string
	kick   chan struct{}
	done   chan struct{} // closed when the shard is closed and fully processed

	// Guarded by Mapping.mu.
	idleAt   time.Time // start of the latest poll that found nothing to do; zero while busy
	finished bool
}

// Start checks the stream, reads the shards' starting iterators (so a LATEST mapping sees every
// record put after Start returns) and starts polling. It stops when ctx ends or on Close.
func Start(ctx context.Context, client KinesisAPI, fn Invoker, cfg Config) (*Mapping, error) {
	if cfg.Stream == "" {
		return nil, errors.New("esm: Config.Stream is empty: name the Kinesis stream to read")
	}
	switch {
	case cfg.BatchSize == 0:
		cfg.BatchSize = DefaultBatchSize
	case cfg.BatchSize < 0 || cfg.BatchSize > MaxBatchSize:
		return nil, fmt.Errorf("esm: BatchSize %d is out of range: Kinesis mappings take 1 to %d", cfg.BatchSize, MaxBatchSize)
	}
	if cfg.MaxPayload <= 0 || cfg.MaxPayload > MaxPayload {
		cfg.MaxPayload = MaxPayload
	}
	if cfg.MaximumRetryAttempts < RetryForever {
		return nil, fmt.Errorf("esm: MaximumRetryAttempts %d is out of range: use -1 (forever) to 10000", cfg.MaximumRetryAttempts)
	}
	switch cfg.StartingPosition {
	case "":
		cfg.StartingPosition = TrimHorizon
	case TrimHorizon, Latest:
	default:
		return nil, fmt.Errorf("esm: StartingPosition %q: use TRIM_HORIZON or LATEST", cfg.StartingPosition)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}

	sum, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(cfg.Stream)})
	if err != nil {
		return nil, fmt.Errorf("esm: describing stream %s (create it first): %w", cfg.Stream, err)
	}
	arn := aws.ToString(sum.StreamDescriptionSummary.StreamARN)
	if cfg.Region == "" {
		cfg.Region = regionOf(arn)
	}
	if cfg.InvokeIdentityArn == "" {
		cfg.InvokeIdentityArn = "arn:aws:iam::" + accountOf(arn) + ":role/lambda-role"
	}

	m := &Mapping{
		cfg:     cfg,
		client:  client,
		fn:      fn,
		uuid:    uuid.NewString(),
		src:     source{streamARN: arn, region: cfg.Region, invokeIdentityArn: cfg.InvokeIdentityArn},
		shards:  map[string]*shard{},
		changed: make(chan struct{}),
	}
	m.log = cfg.Logger.With("mapping", m.uuid, "stream", cfg.Stream)
	m.ctx, m.cancel = context.WithCancel(ctx)
	if err := m.refreshShards(ctx, types.ShardIteratorType(cfg.StartingPosition)); err != nil {
		m.cancel()
		m.wg.Wait()
		return nil, err
	}
	m.wg.Add(1)
	go m.watchShards()
	return m, nil
}

// UUID identifies the mapping (in failure records and their keys).
func (m *Mapping) UUID() string { return m.uuid }

// StreamARN is the stream's ARN, the events' eventSourceARN.
func (m *Mapping) StreamARN() string { return m.src.streamARN }

// Stats returns the counters so far.
func (m *Mapping) Stats() Stats {
	return Stats{
		Invocations:     m.invocations.Load(),
		Batches:         m.batches.Load(),
		Records:         m.records.Load(),
		Retries:         m.retries.Load(),
		FunctionErrors:  m.functionErrors.Load(),
		PartialFailures: m.partialFailures.Load(),
		Bisections:      m.bisections.Load(),
		DLQBatches:      m.dlqBatches.Load(),
		DLQRecords:      m.dlqRecords.Load(),
	}
}

// Close stops polling, waits for the invocation in flight to end (it is cancelled) and returns.
func (m *Mapping) Close() error {
	m.cancel()
	m.wg.Wait()
	return nil
}

// WaitIdle waits until every shard has been read up to the tip it had when WaitIdle was called
// and every record read has been handled (processed, or given up on after its retries). Shards
// are polled at once, whatever the poll interval.
func (m *Mapping) WaitIdle(ctx context.Context) error {
	since := time.Now()
	m.mu.Lock()
	for _, sh := range m.shards {
		poke(sh.kick)
	}
	m.mu.Unlock()
	for {
		m.mu.Lock()
		idle := true
		for _, sh := range m.shards {
			if !sh.finished && !sh.idleAt.After(since) {
				idle = false
				break
			}
		}
		changed := m.changed
		m.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-m.ctx.Done():
			return fmt.Errorf("esm: mapping stopped before it was idle: %w", context.Cause(m.ctx))
		}
	}
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// setState records a shard's progress and wakes WaitIdle; m.mu must not be held.
func (m *Mapping) setState(sh *shard, idleAt time.Time, finished bool) {
	m.mu.Lock()
	sh.idleAt = idleAt
	sh.finished = sh.finished || finished
	close(m.changed)
	m.changed = make(chan struct{})
	m.mu.Unlock()
}

func (m *Mapping) watchShards() {
	defer m.wg.Done()
	t := time.NewTicker(shardRefresh)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
			// New shards after a reshard are read from their start, after their parents.
			if err := m.refreshShards(m.ctx, types.ShardIteratorTypeTrimHorizon); err != nil && m.ctx.Err() == nil {
				m.log.Warn("listing shards", "err", err)
			}
		}
	}
}

// refreshShards starts a worker for every shard not seen before.
func (m *Mapping) refreshShards(ctx context.Context, pos types.ShardIteratorType) error {
	var all []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(m.cfg.Stream)}
	for {
		out, err := m.client.ListShards(ctx, in)
		if err != nil {
			return fmt.Errorf("esm: listing shards of %s: %w", m.cfg.Stream, err)
		}
		all = append(all, out.Shards...)
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
	for _, s := range all {
		id := aws.ToString(s.ShardId)
		m.mu.Lock()
		_, known := m.shards[id]
		m.mu.Unlock()
		if known {
			continue
		}
		it, err := m.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(m.cfg.Stream), ShardId: aws.String(id), ShardIteratorType: pos,
		})
		if err != nil {
			return fmt.Errorf("esm: shard iterator for %s/%s: %w", m.cfg.Stream, id, err)
		}
		sh := &shard{id: id, parent: aws.ToString(s.ParentShardId), kick: make(chan struct{}, 1), done: make(chan struct{})}
		m.mu.Lock()
		m.shards[id] = sh
		m.mu.Unlock()
		m.wg.Add(1)
		go m.runShard(sh, it.ShardIterator)
	}
	return nil
}

// runShard reads one shard in order, invoking the function batch by batch.
func (m *Mapping) runShard(sh *shard, iter *string) {
	defer m.wg.Done()
	ctx := m.ctx
	log := m.log.With("shard", sh.id)
	src := m.src
	src.shardID = sh.id

	// A child shard waits until its parent is fully processed, keeping each key's order.
	m.mu.Lock()
	parent := m.shards[sh.parent]
	m.mu.Unlock()
	if parent != nil {
		select {
		case <-parent.done:
		case <-ctx.Done():
			return
		}
	}

	var (
		pending      []record
		lastFetched  string
		firstPending time.Time // when the oldest pending record was read, for the batching window
		backoff      = m.cfg.RetryBackoff
	)
	for ctx.Err() == nil {
		polled := time.Now()
		var caughtUp bool
		// Read only while short of a full batch, so a backlog stays in the stream, not in memory.
		if iter != nil && len(pending) < m.cfg.BatchSize {
			limit := min(m.cfg.BatchSize-len(pending), maxGetRecords)
			out, err := m.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(int32(limit))})
			var expired *types.ExpiredIteratorException
			switch {
			case ctx.Err() != nil:
				return
			case errors.As(err, &expired):
				fresh, err := m.resumeIterator(ctx, sh.id, lastFetched)
				if err != nil {
					log.Warn("renewing the shard iterator", "err", err)
					sleep(ctx, backoff)
				} else {
					iter = fresh
				}
				continue
			case err != nil:
				log.Warn("GetRecords", "err", err)
				sleep(ctx, backoff)
				backoff = min(backoff*2, maxRetryBackoff)
				continue
			}
			backoff = m.cfg.RetryBackoff
			iter = out.NextShardIterator
			for _, r := range out.Records {
				rec, err := src.encode(r)
				if err != nil {
					log.Error("skipping a record that cannot be encoded", "err", err)
					continue
				}
				if len(pending) == 0 {
					firstPending = time.Now()
				}
				pending = append(pending, rec)
				lastFetched = rec.seq
			}
			caughtUp = len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0
		}

		if len(pending) > 0 && (iter == nil || m.batchReady(pending, firstPending)) {
			n := m.batchLen(pending)
			batch := pending[:n:n]
			pending = pending[n:]
			if len(pending) > 0 {
				firstPending = time.Now()
			}
			m.batches.Add(1)
			if !m.deliver(ctx, log, src, batch, 0, false) {
				return
			}
			if len(pending) > 0 {
				continue // more to do: no pause, as Lambda keeps going until it catches up
			}
		}

		if iter == nil && len(pending) == 0 {
			// The shard was closed by a reshard and everything in it is handled.
			log.Info("shard closed and processed")
			m.setState(sh, polled, true)
			close(sh.done)
			return
		}
		if !caughtUp {
			continue // behind the tip: read on without pausing
		}
		wait := m.cfg.PollInterval
		if len(pending) == 0 {
			m.setState(sh, polled, false)
		} else if left := time.Until(firstPending.Add(m.cfg.MaximumBatchingWindow)); left < wait {
			wait = max(left, 0) // caught up, gathering records until the batching window ends
		}
		select {
		case <-ctx.Done():
			return
		case <-sh.kick:
		case <-time.After(wait):
		}
	}
}

// batchReady says whether pending records make a batch now: the batch is full, the payload limit
// is reached, or the batching window has passed.
func (m *Mapping) batchReady(pending []record, first time.Time) bool {
	if m.cfg.MaximumBatchingWindow <= 0 {
		return true
	}
	if m.batchLen(pending) < len(pending) || len(pending) >= m.cfg.BatchSize {
		return true
	}
	return time.Since(first) >= m.cfg.MaximumBatchingWindow
}

// batchLen is how many of the pending records the next batch takes (always at least one).
func (m *Mapping) batchLen(pending []record) int {
	size := len(eventPrefix) + len(eventSuffix)
	n := 0
	for n < len(pending) && n < m.cfg.BatchSize {
		add := len(pending[n].json)
		if n > 0 {
			add++
		}
		if n > 0 && size+add > m.cfg.MaxPayload {
			break
		}
		size += add
		n++
	}
	return n
}

func (m *Mapping) resumeIterator(ctx context.Context, shardID, after string) (*string, error) {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(m.cfg.Stream), ShardId: aws.String(shardID)}
	if after == "" {
		in.ShardIteratorType = types.ShardIteratorType(m.cfg.StartingPosition)
	} else {
		in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		in.StartingSequenceNumber = aws.String(after)
	}
	out, err := m.client.GetShardIterator(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.ShardIterator, nil
}

// deliver invokes the function with batch until it is handled: processed, or handed to the
// on-failure destination once the retries are used up. retries is how many retries of these
// records have been used already; repeat says the records were invoked before (a bisected half).
// It returns false if the mapping is stopping.
func (m *Mapping) deliver(ctx context.Context, log *slog.Logger, src source, batch []record, retries int, repeat bool) bool {
	backoff := m.cfg.RetryBackoff
	invokes := 0
	for {
		invokes++
		if invokes > 1 || repeat {
			m.retries.Add(1)
		}
		m.invocations.Add(1)
		payload := buildEvent(batch)
		res, err := m.fn.Invoke(ctx, payload)
		if ctx.Err() != nil {
			return false
		}

		var failedFrom int
		var why, functionError string
		switch {
		case err != nil:
			m.functionErrors.Add(1)
			failedFrom, why, functionError = 0, "invoking the function: "+err.Error(), "Unhandled"
		case res.FunctionError != nil:
			m.functionErrors.Add(1)
			failedFrom, why, functionError = 0, res.FunctionError.Error(), "Unhandled"
			if m.cfg.BisectBatchOnFunctionError && len(batch) > 1 {
				m.bisections.Add(1)
				half := len(batch) / 2
				log.Info("function error: bisecting the batch", "records", len(batch), "err", why)
				return m.deliver(ctx, log, src, batch[:half:half], retries, true) &&
					m.deliver(ctx, log, src, batch[half:], retries, true)
			}
		case m.cfg.ReportBatchItemFailures:
			failedFrom, why = firstFailure(res.Payload, batch)
			if failedFrom < len(batch) {
				m.partialFailures.Add(1)
			}
		default:
			failedFrom = len(batch)
		}
		m.records.Add(int64(failedFrom))
		if failedFrom == len(batch) {
			return true
		}
		batch = batch[failedFrom:]

		if m.cfg.MaximumRetryAttempts != RetryForever && retries >= m.cfg.MaximumRetryAttempts {
			return m.giveUp(ctx, log, src, batch, res.RequestID, invokes, functionError, why)
		}
		retries++
		log.Info("retrying", "records", len(batch), "from", batch[0].seq, "retry", retries, "reason", why)
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, maxRetryBackoff)
	}
}

// giveUp sends a failure record for batch to the on-failure destination, retrying the send until
// it succeeds, so no batch is dropped silently.
func (m *Mapping) giveUp(ctx context.Context, log *slog.Logger, src source, batch []record, requestID string, invokes int, functionError, why string) bool {
	first, last := batch[0], batch[len(batch)-1]
	rec := FailureRecord{
		RequestContext: RequestContext{
			RequestID:              requestID,
			FunctionArn:            m.cfg.FunctionARN,
			Condition:              ConditionRetryAttemptsExhausted,
			ApproximateInvokeCount: invokes,
		},
		ResponseContext: ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: functionError},
		Version:         "1.0",
		Timestamp:       time.Now().UTC().Format(timestampLayout),
		KinesisBatchInfo: KinesisBatchInfo{
			ShardID:                         src.shardID,
			StartSequenceNumber:             first.seq,
			EndSequenceNumber:               last.seq,
			ApproximateArrivalOfFirstRecord: first.arrival.UTC().Format(timestampLayout),
			ApproximateArrivalOfLastRecord:  last.arrival.UTC().Format(timestampLayout),
			BatchSize:                       len(batch),
			StreamArn:                       src.streamARN,
		},
		Payload:     buildEvent(batch),
		MappingUUID: m.uuid,
	}
	m.dlqBatches.Add(1)
	m.dlqRecords.Add(int64(len(batch)))
	if m.cfg.OnFailure == nil {
		log.Warn("retries exhausted: dropping records (no on-failure destination)", "records", len(batch), "from", first.seq, "to", last.seq, "reason", why)
		return true
	}
	log.Warn("retries exhausted: sending records to the on-failure destination", "records", len(batch), "from", first.seq, "to", last.seq, "reason", why)
	backoff := m.cfg.RetryBackoff
	for {
		err := m.cfg.OnFailure.Send(ctx, rec)
		if err == nil {
			return true
		}
		log.Error("on-failure destination refused a record; retrying", "err", err)
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, maxRetryBackoff)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
