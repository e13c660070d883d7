// Package ingest turns a batch of stream records into validated Parquet in the cleansed zone and
// quarantine entries for the rest. It knows nothing of Lambda: the function adapts its event to
// a []Record and the Result back to a batch response.
//
// Retry semantics. A stream consumer checkpoints at the lowest record it reports as failed and
// redelivers everything after it. So the batch commits a prefix: if any object cannot be
// written, every record from the first one in that object on is reported failed, and objects
// already written are cut back to the records before it (or deleted). Because an object is
// named after the position of its first record, the redelivered records rewrite the same
// objects, and a replayed batch changes nothing: no record is lost, none is doubled.
package ingest

import (
	"bytes"
	"context"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/streammap"
	"github.com/sluicelake/sluice/shared/zone"
)

// Record is one stream record with its position.
type Record struct {
	Data         []byte
	Stream       string
	Shard        string
	Sequence     string
	PartitionKey string
	Arrival      time.Time

	// Kafka records (see ProcessKafka) have a Topic, Partition and Offset instead of a Stream;
	// Shard and Sequence then hold "<topic>-<partition>" and the zero-padded offset, which name
	// the objects.
	Topic     string
	Partition int32
	Offset    int64
	Cluster   string // the first bootstrap server, naming the cluster in provenance
	// Dataset, when set, is the record's dataset as its source decided it (a schema id), bound
	// as a dataset stream binds it. SourceDataset is a dataset the source suggests (a topic's):
	// it applies to a record without _dataset, and _dataset wins.
	Dataset, SourceDataset string
	// Reject quarantines the record without reading it: its source could not be decoded.
	Reject *record.Reject
	// Original is the record as received when Data is a conversion of it (Avro into JSON); the
	// quarantine keeps the original.
	Original []byte
}

// Processor writes batches. Its fields are its configuration; it is safe for concurrent use.
type Processor struct {
	Contracts  map[string]*contract.Contract
	Options    record.Options
	Cleansed   objectstore.Store
	Quarantine objectstore.Store
	// Concurrency bounds parallel writes. Default 8.
	Concurrency int
	Log         *slog.Logger
	// Streams gives a record without _dataset the dataset of the stream it arrived on; records
	// of the shared stream (and of streams it does not name) fall back to Options.DefaultDataset.
	Streams streammap.Map
	// Kafka says how Kafka records are read (ProcessKafka).
	Kafka Kafka
}

// Result accounts for every record of a batch: In = Written + Quarantined + len(Failed).
type Result struct {
	In, Written, Quarantined int
	// Failed lists the sequence numbers of the records to redeliver, in batch order.
	Failed []string
	// Objects lists the keys written, cleansed and quarantine.
	Objects []string
	// Bytes is the input size; Reasons counts quarantined records by reason.
	Bytes   int
	Reasons map[string]int
	// Datasets counts written rows by dataset.
	Datasets map[string]int
}

// object is one output: a cleansed partition file or a quarantine file, and the records in it.
type object struct {
	store   objectstore.Store
	key     string
	recs    []int // record indexes, ascending
	table   *record.Table
	rows    []int // table rows, parallel to recs (cleansed only)
	entries []quarantine.Entry
	ok      bool
	dataset string
}

// Process writes one batch. recs must be one shard's records in sequence order, as a stream
// delivers them. The error is reserved for batches that cannot be handled at all.
func (p *Processor) Process(ctx context.Context, recs []Record) (Result, error) {
	res := Result{In: len(recs), Reasons: map[string]int{}, Datasets: map[string]int{}}
	if len(recs) == 0 {
		return res, nil
	}
	batch := record.NewBatch(p.Contracts, p.Options)
	batch.Reserve(len(recs))
	defer batch.Release()
	var rejects []quarantine.Entry
	var rejectRecs []int
	var lastStream, route string // a batch comes from one stream: look its dataset up once
	for i := range recs {
		res.Bytes += len(recs[i].Data)
		if i == 0 || recs[i].Stream != lastStream {
			lastStream = recs[i].Stream
			route, _ = p.Streams.DatasetOf(lastStream)
		}
		r := &recs[i]
		var ds string
		var rej *record.Reject
		switch {
		case r.Reject != nil:
			ds, rej = r.Dataset, r.Reject
		case r.Dataset != "":
			ds, rej = batch.AddFrom(r.Dataset, r.Data, i)
		case r.SourceDataset != "":
			ds, rej = batch.AddDefault(r.SourceDataset, r.Data, i)
		default:
			ds, rej = batch.AddFrom(route, r.Data, i)
		}
		if rej == nil {
			continue
		}
		original := r.Data
		if r.Original != nil {
			original = r.Original
		}
		e := quarantine.Entry{Reason: string(rej.Code), Field: rej.Field, Detail: rej.Detail, Dataset: ds,
			Source: r.source(), Original: original, Preview: quarantine.PreviewOf(original)}
		if c := p.Contracts[ds]; c != nil {
			e.Contract = c.Version
		}
		rejects = append(rejects, e)
		rejectRecs = append(rejectRecs, i)
	}

	objects := p.plan(recs, batch, rejects, rejectRecs)
	p.writeAll(ctx, recs, objects)

	// The committed prefix ends at the first record of the first object that failed. Cutting
	// back an object can fail too, which moves the end earlier; repeat until it holds.
	end := len(recs)
	for {
		newEnd := end
		for _, o := range objects {
			if !o.ok && len(o.recs) > 0 && o.recs[0] < newEnd {
				newEnd = o.recs[0]
			}
		}
		if newEnd == end && end == len(recs) {
			break
		}
		end = newEnd
		if !p.cutBack(ctx, recs, objects, end) {
			break
		}
	}

	for _, o := range objects {
		if !o.ok {
			continue
		}
		n := countBelow(o.recs, end)
		if n == 0 {
			continue
		}
		res.Objects = append(res.Objects, o.store.Bucket()+"/"+o.key)
		if o.table != nil {
			res.Written += n
			res.Datasets[o.dataset] += n
		} else {
			res.Quarantined += n
			for _, e := range o.entries[:n] {
				res.Reasons[e.Reason]++
			}
		}
	}
	for i := end; i < len(recs); i++ {
		res.Failed = append(res.Failed, recs[i].Sequence)
	}
	sort.Strings(res.Objects)
	return res, nil
}

// cutBack rewrites every written object that holds records at or after end with only the
// records before it (deleting it when none remain). It reports whether anything changed end's
// validity: false when all objects now hold only committed records.
func (p *Processor) cutBack(ctx context.Context, recs []Record, objects []*object, end int) (again bool) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, p.concurrency())
	for _, o := range objects {
		if !o.ok || len(o.recs) == 0 || o.recs[len(o.recs)-1] < end {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(o *object) {
			defer func() { <-sem; wg.Done() }()
			n := countBelow(o.recs, end)
			if n == 0 {
				if err := o.store.Delete(ctx, o.key); err != nil {
					// Harmless: the redelivery starts with this object's first record and so
					// rewrites this very key.
					p.log().Warn("could not delete an object of uncommitted records", "key", o.key, "error", err)
				}
				return
			}
			if err := o.write(ctx, recs, n); err != nil {
				p.log().Error("could not cut back an object; its records will be redelivered", "key", o.key, "error", err)
				mu.Lock()
				o.ok = false
				again = true
				mu.Unlock()
			}
		}(o)
	}
	wg.Wait()
	return again
}

// source is where the quarantine says the record came from.
func (r *Record) source() quarantine.Source {
	if r.Topic != "" {
		partition, offset := r.Partition, r.Offset
		return quarantine.Source{Kind: "kafka", Topic: r.Topic, Partition: &partition, Offset: &offset, Arrival: r.Arrival.UTC()}
	}
	return quarantine.Source{Kind: "kinesis", Stream: r.Stream, Shard: r.Shard,
		Sequence: r.Sequence, PartitionKey: r.PartitionKey, Arrival: r.Arrival.UTC()}
}

func countBelow(recs []int, end int) int {
	return sort.SearchInts(recs, end)
}

func (p *Processor) concurrency() int {
	if p.Concurrency > 0 {
		return p.Concurrency
	}
	return 8
}

func (p *Processor) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

func contentType(o *object) string {
	if o.table != nil {
		return "application/vnd.apache.parquet"
	}
	return "application/x-ndjson+gzip"
}

// plan groups valid rows by dataset and partition, and rejects by dataset and arrival hour.
func (p *Processor) plan(recs []Record, batch *record.Batch, rejects []quarantine.Entry, rejectRecs []int) []*object {
	var out []*object
	for _, t := range batch.Tables() {
		parts := map[int64]*object{} // by hour since the epoch: cheaper than formatting each row's time
		var order []int64
		for row := 0; row < t.Len(); row++ {
			hour := t.EventTime(row) / 3_600_000
			if t.EventTime(row) < 0 && t.EventTime(row)%3_600_000 != 0 {
				hour-- // floor, for times before 1970
			}
			o := parts[hour]
			if o == nil {
				first := recs[t.Tag(row)]
				part := zone.PartitionOf(t.EventTime(row))
				o = &object{store: p.Cleansed, table: t, dataset: t.Contract.Name,
					key: zone.Key(t.Contract.Name, part, zone.StreamObjectName(first.Shard, first.Sequence, ".parquet"))}
				parts[hour] = o
				order = append(order, hour)
			}
			o.recs = append(o.recs, t.Tag(row))
			o.rows = append(o.rows, row)
		}
		for _, hour := range order {
			out = append(out, parts[hour])
		}
	}
	type qkey struct {
		dataset string
		part    zone.Partition
	}
	qs := map[qkey]*object{}
	var qorder []qkey
	for i, e := range rejects {
		r := recs[rejectRecs[i]]
		ds := e.Dataset
		if p.Contracts[ds] == nil {
			ds = zone.Unknown // the dataset could not be told, or names no contract
		}
		k := qkey{ds, zone.PartitionOf(r.Arrival.UnixMilli())}
		o := qs[k]
		if o == nil {
			o = &object{store: p.Quarantine, dataset: ds,
				key: zone.Key(ds, k.part, zone.StreamObjectName(r.Shard, r.Sequence, quarantine.Ext))}
			qs[k] = o
			qorder = append(qorder, k)
		}
		o.recs = append(o.recs, rejectRecs[i])
		o.entries = append(o.entries, e)
	}
	for _, k := range qorder {
		out = append(out, qs[k])
	}
	return out
}

// encode builds the object from its first n records.
func (o *object) encode(n int) ([]byte, error) {
	if o.table != nil {
		c := o.table.Contract
		var buf bytes.Buffer
		if err := parquetfile.Write(&buf, o.table, o.rows[:n], parquetfile.Options{Metadata: map[string]string{
			"sluice.contract": c.Name, "sluice.contract_version": c.Version}}); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return quarantine.Encode(o.entries[:n])
}

// provenance says where the object's first n records came from: one shard's range.
func (o *object) provenance(ctx context.Context, recs []Record, n int) *provenance.Record {
	first, last := recs[o.recs[0]], recs[o.recs[n-1]]
	in := provenance.Input{Stream: first.Stream, Shard: first.Shard, First: first.Sequence, Last: last.Sequence, Rows: int64(n)}
	if first.Topic != "" {
		in = provenance.Input{Topic: first.Topic, Cluster: first.Cluster, Shard: strconv.Itoa(int(first.Partition)),
			First: strconv.FormatInt(first.Offset, 10), Last: strconv.FormatInt(last.Offset, 10), Rows: int64(n)}
	}
	r := &provenance.Record{Job: "ingest", Run: provenance.RunOf(ctx), Dataset: o.dataset, Kind: provenance.Quarantine, Rows: int64(n),
		Inputs: []provenance.Input{in}}
	if o.table != nil {
		r.Kind, r.Contract, r.ContractVersion = provenance.Data, o.table.Contract.Name, o.table.Contract.Version
	}
	return r
}

// write encodes the object's first n records and writes it with its provenance.
func (o *object) write(ctx context.Context, recs []Record, n int) error {
	body, err := o.encode(n)
	if err == nil {
		_, err = provenance.Put(ctx, o.store, o.key, body, objectstore.PutOptions{ContentType: contentType(o)}, o.provenance(ctx, recs, n))
	}
	return err
}

// writeAll writes every object in parallel, marking each ok or not.
func (p *Processor) writeAll(ctx context.Context, recs []Record, objects []*object) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, p.concurrency())
	for _, o := range objects {
		wg.Add(1)
		sem <- struct{}{}
		go func(o *object) {
			defer func() { <-sem; wg.Done() }()
			if err := o.write(ctx, recs, len(o.recs)); err != nil {
				p.log().Error("write failed; its records and all after them will be redelivered",
					"key", o.key, "records", len(o.recs), "error", err)
				return
			}
			o.ok = true
		}(o)
	}
	wg.Wait()
}
