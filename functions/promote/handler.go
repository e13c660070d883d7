package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/sluicelake/sluice/shared/objectevent"
	"github.com/sluicelake/sluice/shared/obs"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/zone"
)

// handler adapts the trigger's events to partition promotions: SQS batches of EventBridge
// "Object Created" events (the deployed trigger), or S3 notifications, direct or through SQS.
type handler struct {
	p       *promote.Promoter
	log     *slog.Logger
	metrics io.Writer
}

func newHandler(p *promote.Promoter, log *slog.Logger, metrics io.Writer) *handler {
	return &handler{p: p, log: log, metrics: metrics}
}

// partition is one (dataset, hour) to promote.
type partition struct {
	Dataset string
	zone.Partition
}

func (p partition) String() string { return p.Dataset + "/" + p.Path() }

// Result answers a direct (not SQS) invocation.
type Result struct {
	Partitions []Summary `json:"partitions"`
}

// Summary is what one partition's promotion did.
type Summary struct {
	Dataset string `json:"dataset"`
	Date    string `json:"dt"`
	Hour    int    `json:"hr"`
	// FilesIn, RowsIn and BytesIn count the cleansed files converted: the new ones (none on a
	// replay), or all of them when the partition was recomputed.
	FilesIn  int   `json:"files_in"`
	RowsIn   int64 `json:"rows_in"`
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
	// RowsOut is the number of rows the curated partition holds afterwards.
	RowsOut    int64    `json:"rows_out"`
	Duplicates int64    `json:"duplicates"`
	Recomputed bool     `json:"recomputed,omitempty"`
	Files      []string `json:"files"`
	// Unchanged counts the files that already held the same bytes (a replay) and were left alone.
	Unchanged int      `json:"unchanged"`
	Deleted   []string `json:"deleted,omitempty"`
	// Deferred says another invocation was promoting the partition and covers its files; the
	// counts are that invocation's to report.
	Deferred bool `json:"deferred,omitempty"`
}

func (h *handler) handle(ctx context.Context, raw json.RawMessage) (any, error) {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		// The request id names the run in the provenance of every object written below.
		ctx = provenance.WithRun(ctx, lc.AwsRequestID)
	}
	if objectevent.IsSQS(raw) {
		var ev events.SQSEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("promote: SQS event: %w", err)
		}
		return h.sqs(ctx, ev), nil
	}
	parts, err := h.partitionsOf(raw)
	if err != nil {
		return nil, err
	}
	res := Result{Partitions: []Summary{}}
	for _, p := range sorted(parts) {
		s, err := h.promote(ctx, p)
		if err != nil {
			return nil, err // the invocation is retried; a promotion of nothing new changes nothing, so that is harmless
		}
		res.Partitions = append(res.Partitions, s)
	}
	return res, nil
}

// sqs promotes each partition named in the batch once, however many messages name it, and
// reports every message whose partition failed (or that could not be read) for redelivery.
func (h *handler) sqs(ctx context.Context, ev events.SQSEvent) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	byPart := map[partition][]string{}
	for _, m := range ev.Records {
		parts, err := h.partitionsOf([]byte(m.Body))
		if err != nil {
			h.log.Error("message not understood; SQS will redeliver it, then dead-letter it", "message", m.MessageId, "error", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			continue
		}
		for _, p := range parts {
			byPart[p] = append(byPart[p], m.MessageId)
		}
	}
	failed := map[string]bool{}
	for _, p := range sorted(slices.Collect(func(yield func(partition) bool) {
		for p := range byPart {
			if !yield(p) {
				return
			}
		}
	})) {
		if _, err := h.promote(ctx, p); err != nil {
			h.log.Error("promotion failed; SQS will redeliver its messages", "partition", p.String(), "messages", byPart[p], "error", err)
			for _, id := range byPart[p] {
				failed[id] = true
			}
		}
	}
	for _, m := range ev.Records {
		if failed[m.MessageId] {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp
}

func sorted(ps []partition) []partition {
	slices.SortFunc(ps, func(a, b partition) int {
		return cmp.Or(strings.Compare(a.Dataset, b.Dataset), strings.Compare(a.Date, b.Date), cmp.Compare(a.Hour, b.Hour))
	})
	return slices.Compact(ps)
}

func (h *handler) promote(ctx context.Context, p partition) (Summary, error) {
	start := time.Now()
	// The trigger is about files that exist: a promotion running on the partition covers
	// them, so waiting for it would only fail into the dead-letter queue under contention.
	res, err := h.p.PromoteOrDefer(ctx, p.Dataset, p.Partition)
	if err != nil {
		return Summary{}, err
	}
	m := obs.NewMetrics("promote")
	if res.Deferred {
		m.Add(p.Dataset, "PartitionsDeferred", obs.Count, 1)
		if err := m.Flush(h.metrics); err != nil {
			h.log.Warn("metrics not written", "error", err)
		}
		h.log.Info("partition being promoted by another invocation, which covers these files", "partition", p.String())
		return Summary{Dataset: p.Dataset, Date: p.Date, Hour: p.Hour, Deferred: true}, nil
	}
	m.Add(p.Dataset, "PartitionsPromoted", obs.Count, 1)
	m.Add(p.Dataset, "RecordsIn", obs.Count, float64(res.RowsIn))
	m.Add(p.Dataset, "RecordsCurated", obs.Count, float64(res.RowsOut))
	m.Add(p.Dataset, "DuplicatesRemoved", obs.Count, float64(res.Duplicates))
	m.Add(p.Dataset, "BytesIn", obs.Bytes, float64(res.BytesIn))
	m.Add(p.Dataset, "BytesOut", obs.Bytes, float64(res.BytesOut))
	m.Add(p.Dataset, "PromoteLatency", obs.Milliseconds, float64(time.Since(start).Milliseconds()))
	if err := m.Flush(h.metrics); err != nil {
		h.log.Warn("metrics not written", "error", err)
	}
	h.log.Info("partition promoted", "partition", p.String(), "files_in", res.FilesIn, "rows_in", res.RowsIn,
		"rows_out", res.RowsOut, "duplicates", res.Duplicates, "files", len(res.Files), "written", len(res.Outputs),
		"unchanged", res.Unchanged, "deleted", len(res.Deleted), "recomputed", res.Recomputed)
	return Summary{Dataset: p.Dataset, Date: p.Date, Hour: p.Hour, FilesIn: res.FilesIn, RowsIn: res.RowsIn, RowsOut: res.RowsOut,
		Duplicates: res.Duplicates, Recomputed: res.Recomputed, BytesIn: res.BytesIn, BytesOut: res.BytesOut, Files: res.Files,
		Unchanged: res.Unchanged, Deleted: res.Deleted}, nil
}

// partitionsOf reads the partitions named by the created objects of an S3 notification or an
// EventBridge event. Objects that are not cleansed Parquet (reports, folders) name none.
func (h *handler) partitionsOf(raw []byte) ([]partition, error) {
	created, err := objectevent.Created(raw)
	if err != nil {
		return nil, fmt.Errorf("promote: %w", err)
	}
	type object struct{ bucket, key string }
	var objs []object
	for _, o := range created {
		objs = append(objs, object{o.Bucket, o.Key})
	}
	var out []partition
	for _, o := range objs {
		if o.bucket != h.p.Cleansed.Bucket() {
			return nil, fmt.Errorf("promote: event for bucket %q, but this function reads %q (SLUICE_CLEANSED_BUCKET); fix the trigger or the setting", o.bucket, h.p.Cleansed.Bucket())
		}
		if !strings.HasSuffix(o.key, ".parquet") {
			h.log.Info("not a cleansed Parquet file; skipped", "key", o.key)
			continue
		}
		ds, p, _, err := zone.ParseKey(o.key)
		if err != nil {
			h.log.Info("not a partition file; skipped", "key", o.key, "error", err)
			continue
		}
		out = append(out, partition{ds, p})
	}
	return out, nil
}
