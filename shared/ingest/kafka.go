package ingest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/kafkawire"
	"github.com/sluicelake/sluice/shared/record"
)

// KafkaRecord is one record of a Kafka batch, as Lambda's Kafka event (Amazon MSK or
// self-managed Kafka) carries it.
type KafkaRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp time.Time
	// Value is the record's value, base64 as the event carries it; "" for a null value.
	Value string
}

// KafkaBatch is one invocation's records, of any topics and partitions.
type KafkaBatch struct {
	// BootstrapServers is the event's comma-separated list; the first names the cluster.
	BootstrapServers string
	Records          []KafkaRecord
}

// Kafka configures how Kafka records are read.
type Kafka struct {
	// Topics maps a topic to the dataset of its records without _dataset (ParseTopics).
	Topics map[string]string
	// Schemas maps the schema ids of wire-format (Avro) values to contracts; nil knows none.
	Schemas *kafkawire.Registry
}

// ErrRetryBatch is wrapped by ProcessKafka's error when records could not be written: a Kafka
// event source mapping has no partial batch response, so the function fails the invocation and
// Lambda retries the whole batch (then sends it to the on-failure destination).
var ErrRetryBatch = fmt.Errorf("ingest: the Kafka batch is not written whole; failing it so that it is retried whole")

// ParseTopics reads the topic map: a JSON object of topic to dataset ("" is empty). Every
// dataset must have a contract.
func ParseTopics(text string, contracts map[string]*contract.Contract) (map[string]string, error) {
	topics := map[string]string{}
	if strings.TrimSpace(text) == "" {
		return topics, nil
	}
	if err := json.Unmarshal([]byte(text), &topics); err != nil {
		return nil, fmt.Errorf(`ingest: the Kafka topic map must be a JSON object of topic to dataset, e.g. {"orders.v1":"orders"}: %w`, err)
	}
	for t, ds := range topics {
		if t == "" {
			return nil, fmt.Errorf("ingest: the Kafka topic map names an empty topic (dataset %q)", ds)
		}
		if contracts[ds] == nil {
			return nil, fmt.Errorf("ingest: Kafka topic %q maps to dataset %q, which has no contract: add events/%s.avsc or map the topic to an existing dataset", t, ds, ds)
		}
	}
	return topics, nil
}

// ProcessKafka writes one Kafka batch. Each topic partition is written as a stream shard is
// (see the package comment), its objects named "<topic>-<partition>-<first offset>": a retried
// batch starts at the same committed offsets and so rewrites the same objects with the same
// bytes. When any partition cannot be written the error wraps ErrRetryBatch, and the Result
// still accounts for every record.
func (p *Processor) ProcessKafka(ctx context.Context, b KafkaBatch) (Result, error) {
	total := Result{Reasons: map[string]int{}, Datasets: map[string]int{}}
	cluster, _, _ := strings.Cut(b.BootstrapServers, ",")
	type tp struct {
		topic     string
		partition int32
	}
	groups := map[tp][]KafkaRecord{}
	for _, r := range b.Records {
		k := tp{r.Topic, r.Partition}
		groups[k] = append(groups[k], r)
	}
	keys := make([]tp, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].topic != keys[j].topic {
			return keys[i].topic < keys[j].topic
		}
		return keys[i].partition < keys[j].partition
	})
	var failed []string
	for _, k := range keys {
		group := groups[k]
		sort.SliceStable(group, func(i, j int) bool { return group[i].Offset < group[j].Offset })
		recs := p.kafkaRecords(group, strings.TrimSpace(cluster))
		res, err := p.Process(ctx, recs)
		if err != nil {
			return total, err
		}
		total.In += res.In
		total.Written += res.Written
		total.Quarantined += res.Quarantined
		total.Bytes += res.Bytes
		total.Objects = append(total.Objects, res.Objects...)
		for r, n := range res.Reasons {
			total.Reasons[r] += n
		}
		for d, n := range res.Datasets {
			total.Datasets[d] += n
		}
		for _, seq := range res.Failed {
			total.Failed = append(total.Failed, k.topic+"/"+fmt.Sprint(k.partition)+"@"+strings.TrimLeft(seq, "0"))
		}
		if len(res.Failed) > 0 {
			failed = append(failed, fmt.Sprintf("%s partition %d from offset %s", k.topic, k.partition, recs[len(recs)-len(res.Failed)].Sequence))
		}
	}
	sort.Strings(total.Objects)
	if len(failed) > 0 {
		return total, fmt.Errorf("%w: %d records not written (%s); see the write errors logged above", ErrRetryBatch, len(total.Failed), strings.Join(failed, "; "))
	}
	return total, nil
}

// kafkaRecords turns one partition's records, in offset order, into records to process,
// decoding base64 and wire-format values. What cannot be decoded carries its Reject.
func (p *Processor) kafkaRecords(group []KafkaRecord, cluster string) []Record {
	recs := make([]Record, len(group))
	arena := make([]byte, 0, 64<<10)           // the JSON of Avro values and change events
	changes := map[string]*contract.Contract{} // topic → its change stream's contract, nil if none
	for i, kr := range group {
		r := &recs[i]
		*r = Record{Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset, Cluster: cluster, Arrival: kr.Timestamp,
			Shard: fmt.Sprintf("%s-%d", kr.Topic, kr.Partition), Sequence: fmt.Sprintf("%020d", kr.Offset),
			SourceDataset: p.Kafka.Topics[kr.Topic]}
		value, err := base64.StdEncoding.DecodeString(kr.Value)
		if err != nil {
			r.Data = []byte(kr.Value)
			r.Reject = &record.Reject{Code: record.Malformed, Detail: "the event's value is not base64: " + err.Error()}
			continue
		}
		r.Data = value
		c, known := changes[kr.Topic]
		if !known {
			if c = p.Contracts[r.SourceDataset]; c != nil && !cdc.IsChangeStream(c) {
				c = nil
			}
			changes[kr.Topic] = c
		}
		switch {
		case c != nil:
			decodeChange(r, value, c, &arena)
		case len(value) == 0:
			// A null value, a tombstone: Lambda's event has no value. Nothing to store, but the
			// record entered, so it is accounted for in quarantine.
			r.Reject = &record.Reject{Code: record.Empty, Detail: "a Kafka record with a null or empty value (a tombstone)"}
		case kafkawire.IsWireFormat(value):
			p.decodeWire(r, value, &arena)
		}
	}
	return recs
}

// decodeWire reads a wire-format value into the JSON its contract accepts.
func (p *Processor) decodeWire(r *Record, value []byte, arena *[]byte) {
	id, body, err := kafkawire.Split(value)
	if err != nil {
		r.Reject = &record.Reject{Code: kafkawire.InvalidWireFormat, Detail: err.Error()}
		return
	}
	var c *contract.Contract
	var rej *record.Reject
	if p.Kafka.Schemas == nil {
		rej = &record.Reject{Code: kafkawire.UnknownSchemaID, Detail: fmt.Sprintf(
			"schema id %d: this function maps no schema ids (set SLUICE_KAFKA_SCHEMA_IDS, the stack's kafkaSchemaIds) and replay", id)}
	} else {
		c, rej = p.Kafka.Schemas.Lookup(id)
	}
	if c != nil {
		r.Dataset = c.Name
	}
	if rej != nil {
		r.Reject = rej
		return
	}
	// Rows point into the arena. Appending never writes below its length, and when it grows the
	// old block stays as it was, so earlier records' JSON stays valid.
	start := len(*arena)
	out, rej := kafkawire.AppendJSON(*arena, c, body)
	*arena = out
	if rej != nil {
		r.Reject = rej
		return
	}
	r.Data, r.Original = out[start:len(out):len(out)], value
}

// decodeChange reads a Debezium change event of a change stream's topic into the row its
// contract accepts: the row image with the operation, position and source time (shared/cdc).
func decodeChange(r *Record, value []byte, c *contract.Contract, arena *[]byte) {
	r.Dataset = c.Name // a change event names no dataset of its own: the topic's is bound
	ch, rej := cdc.Decode(value)
	if rej != nil {
		r.Reject = rej
		return
	}
	start := len(*arena)
	out, rej := ch.AppendRecord(*arena)
	if rej != nil {
		r.Reject = rej
		return
	}
	*arena = out
	r.Data, r.Original = out[start:len(out):len(out)], value
}
