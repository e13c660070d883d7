package lakehost

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/sluicelake/sluice/localstack/kafkalocal"
	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/zone"
)

// Changes is what ProduceChanges wrote to the topic of one change stream, and the table of the
// simulated source after it: what the dataset's curated table must hold.
type Changes struct {
	Topic, Dataset string
	// Changes is how many changes the source made; Records how many Kafka records were written
	// for them (tombstones and replays included); Tombstones how many of those were tombstones,
	// which ingest quarantines (cdc_tombstone); Replayed how many were written a second time.
	Changes, Records, Tombstones, Replayed int
	Model                                  map[int64]cdc.Customer
}

// ReplayShare is the share of a change stream's records ProduceChanges writes twice.
const ReplayShare = 0.1

// ProduceChanges runs a simulated source database for each Kafka topic whose dataset is a change
// stream: a customers table changed by n random inserts, updates and deletes (cdc.Simulator),
// each written as Debezium's PostgreSQL connector writes it (every other one with Kafka
// Connect's schema/payload wrapper, a tombstone after each delete). Then it writes the last
// tenth of the records again, as a connector restarted from an offset it had not committed
// does: at-least-once delivery the curated table must absorb.
func (l *Lake) ProduceChanges(ctx context.Context, n int, seed uint64) ([]Changes, error) {
	if l.Kafka == nil || n <= 0 {
		return nil, nil
	}
	var out []Changes
	for i, t := range l.changeTopics() {
		ch := Changes{Topic: t, Dataset: l.cfg.KafkaTopics[t], Changes: n}
		sim := cdc.NewSimulator(seed+uint64(i), time.Now().Add(-time.Hour))
		var msgs []kafkalocal.Message
		for j := range n {
			sim.Wrapped = j%2 == 0
			for _, e := range sim.Next() {
				msgs = append(msgs, kafkalocal.Message{Topic: t, Key: e.Key, Value: e.Value})
			}
		}
		replay := msgs[len(msgs)-int(float64(len(msgs))*ReplayShare):]
		msgs = append(msgs, replay...)
		for _, m := range msgs {
			if m.Value == nil {
				ch.Tombstones++
			}
		}
		ch.Records, ch.Replayed, ch.Model = len(msgs), len(replay), sim.Table()
		if err := l.Kafka.Produce(ctx, msgs); err != nil {
			return out, fmt.Errorf("produce the changes of %s to %s: %w", ch.Dataset, t, err)
		}
		out = append(out, ch)
	}
	return out, nil
}

// changeTopics are the Kafka topics whose datasets are change streams, sorted.
func (l *Lake) changeTopics() []string {
	var out []string
	for t, ds := range l.cfg.KafkaTopics {
		if c := l.cfg.Contracts[ds]; c != nil && cdc.IsChangeStream(c) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// CuratedRows reads the rows of a dataset's curated table as of its current snapshot.
func (l *Lake) CuratedRows(ctx context.Context, dataset string) ([]map[string]any, error) {
	return CuratedRows(ctx, l.Dir(), dataset)
}

// CuratedRows reads the rows of the current snapshot of a dataset's curated table in the lake
// directory dir: the files the snapshot names, not every file on disk.
func CuratedRows(ctx context.Context, dir, dataset string) ([]map[string]any, error) {
	root := filepath.Join(dir, Buckets[zone.Curated])
	tbl := curatedTable(root, dataset)
	_, files, err := tbl.FilesAt(ctx, iceberg.At{})
	if err != nil {
		return nil, fmt.Errorf("curated table %s: %w", dataset, err)
	}
	var out []map[string]any
	for _, f := range files {
		key, err := tbl.Key(f.Path)
		if err != nil {
			return nil, err
		}
		body, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(key)))
		if err != nil {
			return nil, fmt.Errorf("curated table %s: a file of its current snapshot: %w", dataset, err)
		}
		rows, err := parquetfile.ReadBytes(body)
		if err != nil {
			return nil, fmt.Errorf("curated table %s: %s: %w", dataset, key, err)
		}
		out = append(out, rows...)
	}
	return out, nil
}

// CheckChanges compares the curated table of ch.Dataset with the model table of its source, row
// for row: the same ids, each with the model's names and email (as the contract's PII policy
// stores it). It returns the table's row count and the differences found, the first few.
func (l *Lake) CheckChanges(ctx context.Context, ch Changes) (rows int, diffs []string, err error) {
	c := l.cfg.Contracts[ch.Dataset]
	if c == nil {
		return 0, nil, fmt.Errorf("dataset %s has no contract", ch.Dataset)
	}
	got, err := l.CuratedRows(ctx, ch.Dataset)
	if err != nil {
		return 0, nil, err
	}
	const most = 10
	differ := func(format string, args ...any) {
		if len(diffs) < most {
			diffs = append(diffs, fmt.Sprintf(format, args...))
		}
	}
	seen := map[int64]bool{}
	for _, r := range got {
		id, _ := r["id"].(int64)
		if seen[id] {
			differ("id %d is in the curated table twice", id)
		}
		seen[id] = true
		m, ok := ch.Model[id]
		if !ok {
			differ("id %d is in the curated table, not in the source table", id)
			continue
		}
		var email *string
		if m.Email != nil {
			email = l.curatedValue(c, "email", *m.Email)
		}
		want := []any{m.FirstName, m.LastName, deref(email)}
		have := []any{r["first_name"], r["last_name"], r["email"]}
		if !slices.Equal(want, have) {
			differ("id %d: curated %v, the source table %v", id, have, want)
		}
	}
	for id := range ch.Model {
		if !seen[id] {
			differ("id %d is in the source table, not in the curated table", id)
		}
	}
	return len(got), diffs, nil
}

// curatedValue is what the curated zone holds for the value s of a field: itself, masked, hashed
// with this run's PII key, or nothing.
func (l *Lake) curatedValue(c *contract.Contract, field, s string) *string {
	f, _ := c.Field(field)
	switch f.PII {
	case contract.Drop:
		return nil
	case contract.Mask:
		s = promote.Mask(s)
	case contract.Hash:
		s = promote.HashHex(l.piiKey, []byte(s))
	}
	return &s
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}
