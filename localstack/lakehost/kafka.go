package lakehost

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelake/sluice/localstack/kafkaesm"
	"github.com/sluicelake/sluice/localstack/kafkalocal"
	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/kafkawire"
)

// KafkaPartitions is how many partitions each local topic has.
const KafkaPartitions = 3

// ParseKafkaTopics reads "topic=dataset,topic=dataset" ("" is none).
func ParseKafkaTopics(text string) (map[string]string, error) {
	out := map[string]string{}
	for _, e := range strings.Split(text, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		t, ds, ok := strings.Cut(e, "=")
		if !ok || t == "" || ds == "" {
			return nil, fmt.Errorf("kafka topics %q: want topic=dataset pairs, comma-separated", text)
		}
		out[t] = ds
	}
	return out, nil
}

// SchemaIDs are the schema ids the local lake maps to its contracts: 1, 2, ... in the order of
// the datasets' names, as a schema registry would number their first registrations.
func (l *Lake) SchemaIDs() map[string]uint32 {
	names := make([]string, 0, len(l.cfg.Contracts))
	for n := range l.cfg.Contracts {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string]uint32{}
	for i, n := range names {
		out[n] = uint32(i + 1)
	}
	return out
}

// kafkaEnv is what ingest is told of Kafka, as the stack's kafkaTopics and kafkaSchemaIds do.
func (l *Lake) kafkaEnv() []string {
	if len(l.cfg.KafkaTopics) == 0 {
		return nil
	}
	var topics, ids []string
	for t, ds := range l.cfg.KafkaTopics {
		topics = append(topics, strconv.Quote(t)+":"+strconv.Quote(ds))
	}
	for ds, id := range l.SchemaIDs() {
		ids = append(ids, strconv.Quote(strconv.Itoa(int(id)))+":"+strconv.Quote(ds))
	}
	sort.Strings(topics)
	sort.Strings(ids)
	return []string{envvar.KafkaTopics + "={" + strings.Join(topics, ",") + "}",
		envvar.KafkaSchemaIDs + "={" + strings.Join(ids, ",") + "}"}
}

// startKafka starts the broker stand-in with the configured topics and a Kafka event source
// mapping feeding ingest from all of them; batches it gives up on go to DLQDir/kafka.
func (l *Lake) startKafka(ctx context.Context) error {
	if len(l.cfg.KafkaTopics) == 0 {
		return nil
	}
	topics := map[string]int{}
	var names []string
	for t, ds := range l.cfg.KafkaTopics {
		if l.cfg.Contracts[ds] == nil {
			return fmt.Errorf("kafka topic %s maps to dataset %q, which has no contract in events/", t, ds)
		}
		topics[t] = KafkaPartitions
		names = append(names, t)
	}
	sort.Strings(names)
	var err error
	if l.Kafka, err = kafkalocal.Start(topics); err != nil {
		return err
	}
	l.closers = append(l.closers, func() error { l.Kafka.Close(); return nil })
	l.KafkaMapping, err = kafkaesm.Start(ctx, l.Ingest, kafkaesm.Config{
		Brokers: l.Kafka.Addrs(), Topics: names, ConsumerGroup: "sluice-ingest",
		BatchSize: l.cfg.BatchSize, MaximumBatchingWindow: l.cfg.BatchWindow, MaximumRetryAttempts: 10,
		RetryBackoff: 200 * time.Millisecond, OnFailure: kafkaesm.DirDestination(filepath.Join(l.DLQDir, "kafka")),
		FunctionARN: l.Ingest.ARN(), Logger: slog.New(slog.NewTextHandler(l.cfg.Logs, nil)),
	})
	if err != nil {
		return fmt.Errorf("start the Kafka event source mapping: %w", err)
	}
	l.closers = append(l.closers, l.KafkaMapping.Close)
	return nil
}

// ProduceKafka writes amount fake records (a share bad) spread over the Kafka topics that are
// not change streams, each of its topic's dataset. Every other good record is Avro in the Confluent wire format under the
// dataset's schema id, the rest JSON, as a lake fed by several teams' producers sees them.
func (l *Lake) ProduceKafka(ctx context.Context, amount int, bad float64, seed uint64) (fake.Tally, error) {
	tally := fake.Tally{}
	if l.Kafka == nil || amount <= 0 {
		return tally, nil
	}
	var topics []string
	for t, ds := range l.cfg.KafkaTopics {
		if !cdc.IsChangeStream(l.cfg.Contracts[ds]) { // ProduceChanges feeds those
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 {
		return tally, nil
	}
	sort.Strings(topics)
	ids := l.SchemaIDs()
	var msgs []kafkalocal.Message
	for i, t := range topics {
		ds := l.cfg.KafkaTopics[t]
		g, err := fake.New(l.cfg.Contracts[ds], fake.Options{Seed: seed + uint64(i), BadShare: bad})
		if err != nil {
			return tally, err
		}
		n := amount / len(topics)
		if i < amount%len(topics) {
			n++
		}
		for j := range n {
			r := g.Next()
			value := r.Data
			if r.Bad == "" && j%2 == 1 {
				if value, err = kafkawire.Encode(l.cfg.Contracts[ds], ids[ds], r.Data); err != nil {
					return tally, err
				}
			}
			tally.Add(r)
			msgs = append(msgs, kafkalocal.Message{Topic: t, Key: []byte(r.PartitionKey), Value: value})
		}
	}
	return tally, l.Kafka.Produce(ctx, msgs)
}
