// Package kafkaesm emulates a Lambda event source mapping for Kafka (Amazon MSK or self-managed):
// it consumes topics as a consumer group, builds the Kafka event Lambda sends (records grouped
// by "<topic>-<partition>", values base64), invokes the function, and applies Lambda's rules for
// Kafka: no partial batch response, so a function error retries the whole batch; after the
// retries, the batch goes to the on-failure destination; offsets are committed only after a
// batch succeeds or is given up on. It is for the local host and tests; no Lambda binary links it.
package kafkaesm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicelake/sluice/localstack/esm"
)

// Lambda's limits and defaults for Kafka event source mappings.
const (
	DefaultBatchSize = 100
	MaxBatchSize     = 10000
	// DefaultBatchingWindow is Lambda's default MaximumBatchingWindowInSeconds for Kafka (500 ms).
	DefaultBatchingWindow = 500 * time.Millisecond
	MaxPayload            = esm.MaxPayload
	RetryForever          = esm.RetryForever
	DefaultRetryBackoff   = esm.DefaultRetryBackoff
	maxRetryBackoff       = 5 * time.Second

	// Event sources as the events name them.
	SelfManaged = "SelfManagedKafka"
	MSK         = "aws:kafka"
)

// Config is the mapping's configuration, named as in CreateEventSourceMapping.
type Config struct {
	// Brokers are the bootstrap servers; Topics the topics to read.
	Brokers []string
	Topics  []string
	// ConsumerGroup is the group id; empty means the mapping's UUID, as Lambda does.
	ConsumerGroup string
	// EventSource is SelfManaged (default) or MSK; ClusterARN is the MSK event's eventSourceArn.
	EventSource, ClusterARN string
	// BatchSize is the most records per invocation: default 100, at most 10,000.
	BatchSize int
	// MaximumBatchingWindow is how long to gather records before invoking; zero means 500 ms.
	MaximumBatchingWindow time.Duration
	// MaxPayload caps the event's size in bytes; zero means 6 MB.
	MaxPayload int
	// MaximumRetryAttempts is how often a failed batch is retried before it goes to OnFailure;
	// RetryForever (-1) retries until it succeeds. Zero means no retries.
	MaximumRetryAttempts int
	// OnFailure receives the batches given up on; nil drops them (logged).
	OnFailure Destination
	// RetryBackoff is the first pause before a retry; zero means DefaultRetryBackoff.
	RetryBackoff time.Duration
	// FunctionARN names the function in failure records.
	FunctionARN string
	Logger      *slog.Logger
}

// Invoker runs the function; *runtimeapi.Function is one.
type Invoker = esm.Invoker

// Stats counts what a mapping has done.
type Stats struct {
	Invocations, Batches, Records, Retries, FunctionErrors, DLQBatches, DLQRecords int64
}

// Mapping is a running event source mapping.
type Mapping struct {
	cfg    Config
	fn     Invoker
	client *kgo.Client
	uuid   string
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	invocations, batches, records, retries, functionErrors, dlqBatches, dlqRecords atomic.Int64

	mu   sync.Mutex
	next map[string]int64 // "<topic>-<partition>" → offset after the last one handled
}

// Start joins the consumer group and starts consuming; a new group starts at the earliest
// offsets (TRIM_HORIZON). It stops on Close or when ctx ends.
func Start(ctx context.Context, fn Invoker, cfg Config) (*Mapping, error) {
	if len(cfg.Brokers) == 0 || len(cfg.Topics) == 0 {
		return nil, errors.New("kafkaesm: Config.Brokers and Config.Topics must be set")
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > MaxBatchSize {
		return nil, fmt.Errorf("kafkaesm: BatchSize %d: want 1 to %d", cfg.BatchSize, MaxBatchSize)
	}
	if cfg.MaximumBatchingWindow == 0 {
		cfg.MaximumBatchingWindow = DefaultBatchingWindow
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = MaxPayload
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cfg.EventSource == "" {
		cfg.EventSource = SelfManaged
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Mapping{cfg: cfg, fn: fn, uuid: uuid.NewString(), done: make(chan struct{}), next: map[string]int64{}}
	if m.cfg.ConsumerGroup == "" {
		m.cfg.ConsumerGroup = m.uuid
	}
	m.log = cfg.Logger.With("mapping", m.uuid, "topics", strings.Join(cfg.Topics, ","))
	var err error
	m.client, err = kgo.NewClient(
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumerGroup(m.cfg.ConsumerGroup),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Offsets are committed by the mapping once a batch is handled, never in the background:
		// a record is read again after a crash rather than lost.
		kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		return nil, fmt.Errorf("kafkaesm: consumer for %v: %w", cfg.Brokers, err)
	}
	ctx, m.cancel = context.WithCancel(ctx)
	go m.run(ctx)
	return m, nil
}

// UUID identifies the mapping (the default consumer group).
func (m *Mapping) UUID() string { return m.uuid }

// Stats reports what the mapping has done so far.
func (m *Mapping) Stats() Stats {
	return Stats{Invocations: m.invocations.Load(), Batches: m.batches.Load(), Records: m.records.Load(),
		Retries: m.retries.Load(), FunctionErrors: m.functionErrors.Load(), DLQBatches: m.dlqBatches.Load(), DLQRecords: m.dlqRecords.Load()}
}

// Close stops consuming and waits for the batch in hand to end.
func (m *Mapping) Close() error {
	m.cancel()
	<-m.done
	m.client.Close()
	return nil
}

// WaitIdle returns once every record on the topics when it is called has been handled
// (processed, or given up on).
func (m *Mapping) WaitIdle(ctx context.Context) error {
	ends, err := m.endOffsets(ctx)
	if err != nil {
		return err
	}
	for {
		m.mu.Lock()
		caught := true
		for tp, end := range ends {
			if m.next[tp] < end {
				caught = false
			}
		}
		m.mu.Unlock()
		if caught {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-m.done:
			return errors.New("kafkaesm: the mapping stopped before it caught up")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (m *Mapping) run(ctx context.Context) {
	defer close(m.done)
	var pending []*kgo.Record
	for ctx.Err() == nil {
		// Wait as long as it takes for a first record, then gather up to BatchSize for at most
		// the batching window.
		for len(pending) == 0 && ctx.Err() == nil {
			pending = m.poll(ctx, pending)
		}
		deadline := time.Now().Add(m.cfg.MaximumBatchingWindow)
		for len(pending) < m.cfg.BatchSize && ctx.Err() == nil && time.Now().Before(deadline) {
			pctx, cancel := context.WithDeadline(ctx, deadline)
			pending = m.poll(pctx, pending)
			cancel()
		}
		if len(pending) == 0 {
			continue
		}
		n, payload := m.fit(pending)
		batch := pending[:n]
		if !m.deliver(ctx, batch, payload) {
			return
		}
		// Committed only now: a batch still being retried is read again after a restart.
		if err := m.client.CommitRecords(ctx, batch...); err != nil && ctx.Err() == nil {
			m.log.Error("commit failed; the batch will be read again after a restart", "err", err)
		}
		m.mu.Lock()
		for _, r := range batch {
			m.next[tpKey(r.Topic, r.Partition)] = r.Offset + 1
		}
		m.mu.Unlock()
		pending = append(pending[:0:0], pending[n:]...)
	}
}

// fit is how many of the records one event holds under MaxPayload, and that event.
func (m *Mapping) fit(recs []*kgo.Record) (int, []byte) {
	n := len(recs)
	for {
		payload := m.event(recs[:n])
		if len(payload) <= m.cfg.MaxPayload || n == 1 {
			return n, payload
		}
		n = max(1, min(n-1, n*m.cfg.MaxPayload/len(payload)))
	}
}

// event builds the Kafka event Lambda sends for the records.
func (m *Mapping) event(recs []*kgo.Record) []byte {
	ev := events.KafkaEvent{EventSource: m.cfg.EventSource, BootstrapServers: strings.Join(m.cfg.Brokers, ","),
		Records: map[string][]events.KafkaRecord{}}
	if m.cfg.EventSource == MSK {
		ev.EventSourceARN = m.cfg.ClusterARN
	}
	for _, r := range recs {
		kr := events.KafkaRecord{Topic: r.Topic, Partition: int64(r.Partition), Offset: r.Offset,
			Timestamp: events.MilliSecondsEpochTime{Time: r.Timestamp}, TimestampType: "CREATE_TIME",
			Headers: []map[string]events.JSONNumberBytes{}}
		if r.Attrs.TimestampType() == 1 {
			kr.TimestampType = "LOG_APPEND_TIME"
		}
		if r.Key != nil {
			kr.Key = base64.StdEncoding.EncodeToString(r.Key)
		}
		if r.Value != nil {
			kr.Value = base64.StdEncoding.EncodeToString(r.Value)
		}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, map[string]events.JSONNumberBytes{h.Key: h.Value})
		}
		k := tpKey(r.Topic, r.Partition)
		ev.Records[k] = append(ev.Records[k], kr)
	}
	b, _ := json.Marshal(ev) // only strings, numbers and byte slices: cannot fail
	return b
}

// deliver invokes the function with the batch until it succeeds, or gives the batch up after
// MaximumRetryAttempts retries. It returns false only when ctx ended.
func (m *Mapping) deliver(ctx context.Context, batch []*kgo.Record, payload []byte) bool {
	m.batches.Add(1)
	backoff := m.cfg.RetryBackoff
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			m.retries.Add(1)
		}
		m.invocations.Add(1)
		res, err := m.fn.Invoke(ctx, payload)
		if ctx.Err() != nil {
			return false
		}
		why := ""
		switch {
		case err != nil:
			why = "invoking the function: " + err.Error()
		case res.FunctionError != nil:
			why = res.FunctionError.Error()
		default:
			m.records.Add(int64(len(batch)))
			return true
		}
		m.functionErrors.Add(1)
		if m.cfg.MaximumRetryAttempts != RetryForever && attempt >= m.cfg.MaximumRetryAttempts {
			return m.giveUp(ctx, batch, payload, res.RequestID, attempt+1, why)
		}
		m.log.Info("function error: retrying the whole batch", "records", len(batch), "retry", attempt+1, "reason", why)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxRetryBackoff)
	}
}

// giveUp sends the batch to the on-failure destination, retrying the send until it succeeds.
func (m *Mapping) giveUp(ctx context.Context, batch []*kgo.Record, payload []byte, requestID string, invokes int, why string) bool {
	rec := FailureRecord{
		RequestContext: esm.RequestContext{RequestID: requestID, FunctionArn: m.cfg.FunctionARN,
			Condition: esm.ConditionRetryAttemptsExhausted, ApproximateInvokeCount: invokes},
		ResponseContext: esm.ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: "Unhandled"},
		Version:         "1.0",
		Timestamp:       time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		KafkaBatchInfo: KafkaBatchInfo{BatchSize: len(batch), BootstrapServers: strings.Join(m.cfg.Brokers, ","),
			ConsumerGroupID: m.cfg.ConsumerGroup, PayloadSize: len(payload), RecordsInfo: map[string]RecordsInfo{}},
		Payload:     payload,
		MappingUUID: m.uuid,
	}
	for _, r := range batch {
		k := tpKey(r.Topic, r.Partition)
		info, ok := rec.KafkaBatchInfo.RecordsInfo[k]
		ts := r.Timestamp.UTC().Format("2006-01-02T15:04:05.000Z")
		if !ok {
			info.FirstRecordOffset, info.FirstRecordTimestamp = strconv.FormatInt(r.Offset, 10), ts
		}
		info.LastRecordOffset, info.LastRecordTimestamp = strconv.FormatInt(r.Offset, 10), ts
		rec.KafkaBatchInfo.RecordsInfo[k] = info
	}
	m.dlqBatches.Add(1)
	m.dlqRecords.Add(int64(len(batch)))
	if m.cfg.OnFailure == nil {
		m.log.Warn("retries exhausted: dropping the batch (no on-failure destination)", "records", len(batch), "reason", why)
		return true
	}
	m.log.Warn("retries exhausted: sending the batch to the on-failure destination", "records", len(batch), "reason", why)
	backoff := m.cfg.RetryBackoff
	for {
		err := m.cfg.OnFailure.Send(ctx, rec)
		if err == nil {
			return true
		}
		m.log.Error("on-failure destination refused a record; retrying", "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxRetryBackoff)
	}
}

// poll appends what one poll returns to pending.
func (m *Mapping) poll(ctx context.Context, pending []*kgo.Record) []*kgo.Record {
	fetches := m.client.PollRecords(ctx, m.cfg.BatchSize-len(pending))
	if err := fetchError(fetches); err != nil {
		m.log.Warn("fetch failed; polling again", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	return append(pending, fetches.Records()...)
}

func (m *Mapping) endOffsets(ctx context.Context) (map[string]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(m.cfg.Brokers...))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, m.cfg.Topics...)
	if err != nil {
		return nil, fmt.Errorf("kafkaesm: end offsets of %v: %w", m.cfg.Topics, err)
	}
	out := map[string]int64{}
	var errs []error
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", tpKey(o.Topic, o.Partition), o.Err))
		}
		out[tpKey(o.Topic, o.Partition)] = o.Offset
	})
	return out, errors.Join(errs...)
}

func tpKey(topic string, partition int32) string { return topic + "-" + strconv.Itoa(int(partition)) }

func fetchError(f kgo.Fetches) error {
	var errs []error
	f.EachError(func(t string, p int32, err error) {
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("%s: %w", tpKey(t, p), err))
		}
	})
	return errors.Join(errs...)
}

// FailureRecord is what Lambda sends a Kafka mapping's on-failure destination: where the batch
// was, why it was given up, and (as an S3 destination gets it) the event itself.
type FailureRecord struct {
	RequestContext  esm.RequestContext  `json:"requestContext"`
	ResponseContext esm.ResponseContext `json:"responseContext"`
	Version         string              `json:"version"`
	Timestamp       string              `json:"timestamp"`
	KafkaBatchInfo  KafkaBatchInfo      `json:"KafkaBatchInfo"`
	Payload         json.RawMessage     `json:"payload,omitempty"`
	MappingUUID     string              `json:"-"`
}

// KafkaBatchInfo locates the batch's records.
type KafkaBatchInfo struct {
	BatchSize        int                    `json:"batchSize"`
	BootstrapServers string                 `json:"bootstrapServers"`
	ConsumerGroupID  string                 `json:"consumerGroupId"`
	PayloadSize      int                    `json:"payloadSize"`
	RecordsInfo      map[string]RecordsInfo `json:"recordsInfo"`
}

// RecordsInfo is one partition's range in the batch.
type RecordsInfo struct {
	FirstRecordOffset    string `json:"firstRecordOffset"`
	FirstRecordTimestamp string `json:"firstRecordTimestamp"`
	LastRecordOffset     string `json:"lastRecordOffset"`
	LastRecordTimestamp  string `json:"lastRecordTimestamp"`
}

// Destination receives the batches a mapping gives up on.
type Destination interface {
	Send(ctx context.Context, rec FailureRecord) error
}

// DestinationFunc adapts a function to a Destination.
type DestinationFunc func(ctx context.Context, rec FailureRecord) error

// Send calls f.
func (f DestinationFunc) Send(ctx context.Context, rec FailureRecord) error { return f(ctx, rec) }

// DirDestination writes each failure record as a JSON file under dir, at the key an S3
// on-failure destination would use: aws/lambda/<mapping uuid>/YYYY/MM/DD/<timestamp>-<uuid>.
func DirDestination(dir string) Destination {
	return DestinationFunc(func(_ context.Context, rec FailureRecord) error {
		now := time.Now().UTC()
		return esm.WriteRecordFile(filepath.Join(dir, "aws", "lambda", rec.MappingUUID, now.Format("2006"), now.Format("01"), now.Format("02"),
			now.Format("2006-01-02T15.04.05")+"-"+uuid.NewString()), rec)
	})
}

// ReadFailures reads the failure records DirDestination wrote under dir.
func ReadFailures(dir string) ([]FailureRecord, error) {
	return esm.ReadRecordFiles[FailureRecord](dir)
}
