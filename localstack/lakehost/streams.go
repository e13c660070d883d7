package lakehost

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/sluicelake/sluice/localstack/esm"
	"github.com/sluicelake/sluice/localstack/firehose"
	"github.com/sluicelake/sluice/localstack/kinesislocal"
	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/streammap"
	"github.com/sluicelake/sluice/shared/streamput"
)

// DatasetStream is the local name of a dataset's own stream.
func DatasetStream(dataset string) string { return "sluice-" + dataset }

// streamsOf is the dataset-to-stream map of cfg: every contract of cfg.Contracts on a stream
// of its own unless cfg.DatasetStreams says otherwise.
func streamsOf(cfg Config) (streammap.Map, error) {
	datasets := cfg.DatasetStreams
	if datasets == nil {
		datasets = map[string]string{}
		for name, c := range cfg.Contracts {
			if cdc.IsChangeStream(c) {
				continue // fed from Kafka, as in the stack
			}
			datasets[name] = DatasetStream(name)
		}
	}
	m, err := streammap.New(datasets, cfg.Stream)
	if err != nil {
		return streammap.Map{}, fmt.Errorf("lakehost: Config.DatasetStreams: %w", err)
	}
	return m, nil
}

// AllStreams lists every stream of the lake: the shared one first, then the datasets' own.
func (l *Lake) AllStreams() []string {
	out := []string{l.cfg.Stream}
	for _, d := range l.Streams.Datasets() {
		out = append(out, l.Streams.StreamFor(d))
	}
	return out
}

// createDatasetStreams creates the stream of every dataset that has one.
func (l *Lake) createDatasetStreams(ctx context.Context) error {
	for _, s := range l.AllStreams()[1:] {
		if err := kinesislocal.CreateStream(ctx, l.KinesisClient, s, l.cfg.Shards); err != nil {
			return fmt.Errorf("create stream %s: %w", s, err)
		}
	}
	return nil
}

// startMappings feeds ingest from every stream, each through its own event source mapping, as
// the stack does; the shared stream's is l.Mapping.
func (l *Lake) startMappings(ctx context.Context) error {
	l.Mappings = map[string]*esm.Mapping{}
	for _, s := range l.AllStreams() {
		m, err := esm.Start(ctx, l.KinesisClient, l.Ingest, esm.Config{
			Stream: s, BatchSize: l.cfg.BatchSize, MaximumBatchingWindow: l.cfg.BatchWindow,
			ReportBatchItemFailures: true, BisectBatchOnFunctionError: true, MaximumRetryAttempts: 10,
			RetryBackoff: 200 * time.Millisecond, OnFailure: esm.DirDestination(l.DLQDir),
			FunctionARN: l.Ingest.ARN(), Logger: slog.New(slog.NewTextHandler(l.cfg.Logs, nil)),
		})
		if err != nil {
			return fmt.Errorf("start the event source mapping of %s: %w", s, err)
		}
		l.closers = append(l.closers, m.Close)
		l.Mappings[s] = m
	}
	l.Mapping = l.Mappings[l.cfg.Stream]
	return nil
}

// startArchives starts a local Firehose per stream: the shared stream's archives
// cfg.ArchiveDataset (l.Archive), each dataset stream its own dataset.
func (l *Lake) startArchives(ctx context.Context) error {
	l.Archives = map[string]*firehose.Stream{}
	shared, err := startArchive(ctx, l, l.cfg, "sluice-archive", l.cfg.Stream, l.cfg.ArchiveDataset)
	if err != nil {
		return err
	}
	l.Archive, l.Archives[l.cfg.Stream] = shared, shared
	for _, d := range l.Streams.Datasets() {
		s := l.Streams.StreamFor(d)
		if l.Archives[s], err = startArchive(ctx, l, l.cfg, "sluice-archive-"+d, s, d); err != nil {
			return err
		}
	}
	return nil
}

// multiWriter sends each record to its dataset's stream, one streamput.Writer per stream, and
// reports the progress of all of them together.
type multiWriter struct {
	l        *Lake
	progress func(streamput.Stats)
	writers  map[string]*streamput.Writer
}

func (m *multiWriter) writer(stream string) (*streamput.Writer, error) {
	if w := m.writers[stream]; w != nil {
		return w, nil
	}
	var progress func(streamput.Stats)
	if m.progress != nil {
		progress = func(streamput.Stats) { m.progress(m.stats()) }
	}
	w, err := streamput.New(m.l.KinesisClient, streamput.Config{StreamName: stream, Progress: progress})
	if err != nil {
		return nil, err
	}
	m.writers[stream] = w
	return w, nil
}

func (m *multiWriter) put(ctx context.Context, dataset string, e streamput.Entry) error {
	w, err := m.writer(m.l.Streams.StreamFor(dataset))
	if err != nil {
		return err
	}
	return w.Put(ctx, e)
}

func (m *multiWriter) flush(ctx context.Context) error {
	streams := make([]string, 0, len(m.writers))
	for s := range m.writers {
		streams = append(streams, s)
	}
	sort.Strings(streams)
	for _, s := range streams {
		if err := m.writers[s].Flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

// stats adds up the writers' totals; Elapsed is the longest.
func (m *multiWriter) stats() streamput.Stats {
	var t streamput.Stats
	for _, w := range m.writers {
		s := w.Stats()
		t.Sent += s.Sent
		t.Failed += s.Failed
		t.Retries += s.Retries
		t.Throttled += s.Throttled
		t.Calls += s.Calls
		t.Bytes += s.Bytes
		t.Elapsed = max(t.Elapsed, s.Elapsed)
	}
	return t
}
