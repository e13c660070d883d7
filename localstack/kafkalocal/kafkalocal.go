// Package kafkalocal runs a Kafka broker stand-in on 127.0.0.1 for the local lake: the Kafka
// protocol as franz-go's kfake implements it, in this process, with no JVM and no Docker. It is
// for the local host and tests only; no Lambda binary links it.
package kafkalocal

import (
	"context"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Broker is a running stand-in cluster.
type Broker struct {
	cluster *kfake.Cluster
}

// Start starts a one-broker cluster with the given topics and partition counts.
func Start(topics map[string]int) (*Broker, error) {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(0)}
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		if topics[t] < 1 {
			return nil, fmt.Errorf("kafkalocal: topic %s has %d partitions: want at least 1", t, topics[t])
		}
		opts = append(opts, kfake.SeedTopics(int32(topics[t]), t))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafkalocal: start the broker: %w", err)
	}
	return &Broker{cluster: c}, nil
}

// Addrs are the bootstrap servers, host:port.
func (b *Broker) Addrs() []string { return b.cluster.ListenAddrs() }

// Close stops the broker.
func (b *Broker) Close() { b.cluster.Close() }

// Producer returns a client producing to the broker; close it when done.
func (b *Broker) Producer(opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addrs()...), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil))}, opts...)...)
}

// Message is one record to produce: Key picks the partition (hashed, as Kafka's own producer
// does), nil Value is a tombstone.
type Message struct {
	Topic      string
	Key, Value []byte
}

// Produce writes the messages in order and waits until the broker has every one.
func (b *Broker) Produce(ctx context.Context, msgs []Message) error {
	cl, err := b.Producer()
	if err != nil {
		return err
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = &kgo.Record{Topic: m.Topic, Key: m.Key, Value: m.Value}
	}
	return cl.ProduceSync(ctx, recs...).FirstErr()
}
