// Package firehose is a local Firehose delivery stream with a Kinesis source: the raw archive
// of the local lake. It reads the stream as its own consumer (independently of the event source
// mapping that feeds ingest), partitions each record with the deployed jq program (run with
// gojq), converts what the deployed deserializer would accept to Parquet with the dataset's
// contract schema, and writes it under the deployed prefix and object naming, buffered per
// partition by the stack's size and interval hints. Records it cannot partition or convert go
// under the deployed error prefix, as Firehose's error documents.
package firehose

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/sluicelake/sluice/localstack/esm"
	"github.com/sluicelake/sluice/shared/archive"
	"github.com/sluicelake/sluice/shared/archive/partition"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/parquetfile"
)

// Config describes one delivery stream.
type Config struct {
	// Name names the delivery stream and, as Firehose does, every object it writes.
	// Default "sluice-archive".
	Name string
	// Stream is the Kinesis stream read.
	Stream string
	// Contract is the archived dataset: its partition query, its table's columns.
	Contract *contract.Contract
	// Store is the raw bucket, reached through the same S3 front the functions use.
	Store objectstore.Store
	// BufferInterval and BufferBytes are the buffering hints. Default the stack's (300 s,
	// 128 MB) times Scale.
	BufferInterval time.Duration
	BufferBytes    int
	// Scale shrinks the default hints for a local run (0.01 gives 3 s and 1.28 MB). Default 1.
	Scale float64
	// Poll is how often an idle shard is read again. Default 1 s, as Firehose polls.
	Poll time.Duration
	// StartingPosition is where each shard is read from. Default LATEST, as Firehose starts.
	StartingPosition types.ShardIteratorType
	// Table names the Glue table in conversion error documents.
	Table  archive.CatalogTable
	Logger *slog.Logger
	// Now is the clock for arrival times and buffer ages. Default time.Now.
	Now func() time.Time
}

// Stats counts what the stream has done.
type Stats struct {
	Records   int64 // read from the stream
	Delivered int64 // converted and written as Parquet
	Failed    int64 // written under the error prefix
	Objects   int64 // objects written, both kinds
}

// Stream is a running delivery stream.
type Stream struct {
	cfg     Config
	client  esm.KinesisAPI
	prog    *partition.Program
	deser   *deserializer
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	readers sync.WaitGroup
	flusher sync.WaitGroup

	records, delivered, failed, objects atomic.Int64

	mu      sync.Mutex
	buffers map[string]*buffer   // by evaluated prefix
	idleAt  map[string]time.Time // shard id → start of the latest read that found nothing new (zero while busy)
	writeMu sync.Mutex           // one delivery at a time, so Flush returns after all are written
}

type buffer struct {
	prefix  string
	errType string // "" for converted records
	first   time.Time
	bytes   int
	recs    [][]byte // canonical JSON, or error documents
}

// Start reads the shards' starting iterators (so that every record put after Start returns is
// archived) and starts reading and delivering.
func Start(ctx context.Context, client esm.KinesisAPI, cfg Config) (*Stream, error) {
	if cfg.Contract == nil || cfg.Store == nil || cfg.Stream == "" {
		return nil, errors.New("firehose: Config needs Stream, Contract and Store")
	}
	if cfg.Name == "" {
		cfg.Name = "sluice-archive"
	}
	if cfg.Scale <= 0 {
		cfg.Scale = 1
	}
	if cfg.BufferInterval <= 0 {
		cfg.BufferInterval = time.Duration(float64(archive.DefaultBufferSeconds*time.Second) * cfg.Scale)
	}
	if cfg.BufferBytes <= 0 {
		cfg.BufferBytes = int(float64(archive.DefaultBufferMB<<20) * cfg.Scale)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.StartingPosition == "" {
		cfg.StartingPosition = types.ShardIteratorTypeLatest
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Table.TableName == "" {
		cfg.Table = archive.CatalogTable{DatabaseName: "sluice_local", TableName: "raw_" + cfg.Contract.Name, VersionID: "LATEST"}
	}
	prog, err := partition.Compile(cfg.Contract)
	if err != nil {
		return nil, err
	}
	s := &Stream{cfg: cfg, client: client, prog: prog, deser: newDeserializer(cfg.Contract),
		log: cfg.Logger.With("delivery_stream", cfg.Name), buffers: map[string]*buffer{}, idleAt: map[string]time.Time{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	var shards []types.Shard
	in := &kinesis.ListShardsInput{StreamName: aws.String(cfg.Stream)}
	for {
		out, err := client.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("firehose: list the shards of %s: %w", cfg.Stream, err)
		}
		shards = append(shards, out.Shards...)
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
	for _, sh := range shards {
		it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(cfg.Stream),
			ShardId: sh.ShardId, ShardIteratorType: cfg.StartingPosition})
		if err != nil {
			s.cancel()
			s.readers.Wait()
			return nil, fmt.Errorf("firehose: shard iterator of %s/%s: %w", cfg.Stream, aws.ToString(sh.ShardId), err)
		}
		s.idleAt[aws.ToString(sh.ShardId)] = time.Time{}
		s.readers.Add(1)
		go s.read(aws.ToString(sh.ShardId), it.ShardIterator)
	}
	s.flusher.Add(1)
	go s.flushLoop()
	return s, nil
}

// read polls one shard: what GetRecords returns is buffered at once, an idle shard waits Poll.
func (s *Stream) read(shardID string, iter *string) {
	defer s.readers.Done()
	for iter != nil {
		start := time.Now()
		out, err := s.client.GetRecords(s.ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			s.log.Warn("GetRecords failed; retrying", "shard", shardID, "err", err)
			if !sleep(s.ctx, s.cfg.Poll) {
				return
			}
			continue
		}
		for _, r := range out.Records {
			s.add(r)
		}
		iter = out.NextShardIterator
		idle := len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0
		s.mu.Lock()
		switch {
		case iter == nil: // a closed shard, read to its end: idle for good
			s.idleAt[shardID] = time.Unix(1<<40, 0)
		case idle:
			s.idleAt[shardID] = start
		default:
			s.idleAt[shardID] = time.Time{}
		}
		s.mu.Unlock()
		if idle && !sleep(s.ctx, s.cfg.Poll) {
			return
		}
	}
}

// add partitions and converts one record into its buffer, or describes its failure into an
// error buffer.
func (s *Stream) add(r types.Record) {
	s.records.Add(1)
	arrival := s.cfg.Now()
	if r.ApproximateArrivalTimestamp != nil {
		arrival = *r.ApproximateArrivalTimestamp
	}
	seq := aws.ToString(r.SequenceNumber)
	fail := func(errType, code string, err error) {
		doc, _ := json.Marshal(archive.NewErrorRecord(errType, code, err.Error(), r.Data, arrival, s.cfg.Now(), seq, &s.cfg.Table))
		prefix, perr := archive.Evaluate(archive.ErrorOutputPrefix, archive.Values{ErrorOutputType: errType, Arrival: arrival})
		if perr != nil {
			s.log.Error("cannot name the error prefix; record dropped", "err", perr)
			return
		}
		s.buffer(prefix, errType, arrival, doc)
	}
	v, err := partition.Decode(r.Data)
	if err != nil {
		fail(archive.ProcessingFailed, archive.CodeMetadataExtraction, err)
		return
	}
	keys, err := s.prog.Keys(context.Background(), v) // not the stream's: closing must not fail records
	if err != nil {
		fail(archive.ProcessingFailed, archive.CodeMetadataExtraction, err)
		return
	}
	canon, err := s.deser.canonical(v)
	if err == nil {
		err = s.deser.check(canon)
	}
	if err != nil {
		fail(archive.FormatConversionFailed, archive.CodeMalformedData, err)
		return
	}
	prefix, err := archive.Evaluate(archive.Prefix(s.cfg.Contract.Name), archive.Values{Keys: keys, Arrival: arrival})
	if err != nil {
		fail(archive.ProcessingFailed, archive.CodeMetadataExtraction, err)
		return
	}
	s.buffer(prefix, "", arrival, canon)
}

func (s *Stream) buffer(prefix, errType string, arrival time.Time, data []byte) {
	s.mu.Lock()
	b := s.buffers[prefix]
	if b == nil {
		b = &buffer{prefix: prefix, errType: errType, first: arrival}
		s.buffers[prefix] = b
	}
	b.recs = append(b.recs, data)
	b.bytes += len(data)
	full := b.bytes >= s.cfg.BufferBytes
	if full {
		delete(s.buffers, prefix)
	}
	s.mu.Unlock()
	if full {
		s.deliver(b)
	}
}

// flushLoop delivers every buffer older than the interval, checking often enough that a
// buffer waits at most a tenth of the interval longer.
func (s *Stream) flushLoop() {
	defer s.flusher.Done()
	tick := time.NewTicker(max(s.cfg.BufferInterval/10, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
			s.flush(false)
		}
	}
}

// flush delivers the buffers whose interval has passed, or all of them.
func (s *Stream) flush(all bool) {
	now := s.cfg.Now()
	var due []*buffer
	s.mu.Lock()
	for p, b := range s.buffers {
		if all || now.Sub(b.first) >= s.cfg.BufferInterval {
			due = append(due, b)
			delete(s.buffers, p)
		}
	}
	s.mu.Unlock()
	for _, b := range due {
		s.deliver(b)
	}
}

// deliver writes one buffer as one object, retrying as Firehose does until it is written or the
// stream is closed.
func (s *Stream) deliver(b *buffer) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var body bytes.Buffer
	ext := ""
	if b.errType == "" {
		t, release, err := s.deser.table(b.recs)
		if err != nil {
			s.log.Error("records lost", "prefix", b.prefix, "records", len(b.recs), "err", err)
			return
		}
		err = parquetfile.WriteTable(&body, t, parquetfile.Options{Metadata: map[string]string{
			"sluice.contract": s.cfg.Contract.Name + "@" + s.cfg.Contract.Version, "sluice.writer": "firehose:" + s.cfg.Name}})
		release()
		if err != nil {
			s.log.Error("records lost: Parquet conversion failed", "prefix", b.prefix, "records", len(b.recs), "err", err)
			return
		}
		ext = archive.ParquetExtension
	} else {
		for _, doc := range b.recs {
			body.Write(doc)
			body.WriteByte('\n')
		}
	}
	key := b.prefix + archive.ObjectName(s.cfg.Name, 1, b.first, uuid.NewString(), ext)
	for attempt := 1; ; attempt++ {
		// A fresh context: a delivery that started goes through even while the stream closes.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := s.cfg.Store.Put(ctx, key, body.Bytes(), objectstore.PutOptions{})
		cancel()
		if err == nil {
			break
		}
		if attempt >= 5 && s.ctx.Err() != nil {
			s.log.Error("records lost: the stream closed while delivery kept failing", "key", key, "err", err)
			return
		}
		s.log.Warn("delivery failed; retrying", "key", key, "attempt", attempt, "err", err)
		time.Sleep(min(time.Duration(attempt)*200*time.Millisecond, 5*time.Second))
	}
	s.objects.Add(1)
	if b.errType == "" {
		s.delivered.Add(int64(len(b.recs)))
	} else {
		s.failed.Add(int64(len(b.recs)))
	}
	s.log.Debug("delivered", "key", key, "records", len(b.recs))
}

// Flush delivers every buffer now, whatever its age or size.
func (s *Stream) Flush() { s.flush(true) }

// Stats says what the stream has done so far.
func (s *Stream) Stats() Stats {
	return Stats{Records: s.records.Load(), Delivered: s.delivered.Load(), Failed: s.failed.Load(), Objects: s.objects.Load()}
}

// WaitIdle drains the stream: it waits until every shard has been read to its end by a read
// that started after the call, delivers what is buffered at once (not waiting for the buffering
// interval), and returns when every record read is written.
func (s *Stream) WaitIdle(ctx context.Context) error {
	called := time.Now()
	for {
		s.mu.Lock()
		caught := true
		for _, at := range s.idleAt {
			caught = caught && !at.Before(called)
		}
		s.mu.Unlock()
		if caught {
			break
		}
		if !sleep(ctx, 10*time.Millisecond) {
			return fmt.Errorf("firehose: shards not read to their end: %w", ctx.Err())
		}
	}
	s.Flush()
	for {
		st := s.Stats()
		if st.Records == st.Delivered+st.Failed {
			return nil
		}
		if !sleep(ctx, 10*time.Millisecond) {
			return fmt.Errorf("firehose: not every record delivered (%+v): %w", st, ctx.Err())
		}
	}
}

// Close stops reading and delivers what is buffered.
func (s *Stream) Close() error {
	s.cancel()
	s.readers.Wait()
	s.flusher.Wait()
	s.flush(true)
	return nil
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
