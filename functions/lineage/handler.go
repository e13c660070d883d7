package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/sluicelake/sluice/shared/lineage"
	"github.com/sluicelake/sluice/shared/objectevent"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/obs"
)

// handler adapts object-created events to the recorder.
type handler struct {
	r       *lineage.Recorder
	log     *slog.Logger
	metrics io.Writer
}

func newHandler(r *lineage.Recorder, log *slog.Logger, metrics io.Writer) *handler {
	return &handler{r: r, log: log, metrics: metrics}
}

// Result answers a direct (not SQS) invocation.
type Result struct {
	Objects []Outcome `json:"objects"`
}

// Outcome is what became of one object's lineage.
type Outcome struct {
	Bucket  string          `json:"bucket"`
	Key     string          `json:"key"`
	Outcome lineage.Outcome `json:"outcome"`
	Record  string          `json:"record,omitempty"`
}

func (h *handler) handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var res Result
	counts := map[lineage.Outcome]int{}
	batch, err := objectevent.Each(raw, func(o objectevent.Object) error {
		r, err := h.r.Record(ctx, o.Bucket, o.Key, readOptions(o))
		if err != nil {
			return err
		}
		counts[r.Outcome]++
		res.Objects = append(res.Objects, Outcome{o.Bucket, o.Key, r.Outcome, r.Key})
		return nil
	}, func(id string, err error) {
		counts["failed"]++
		h.log.Error("message failed; SQS will redeliver it", "message", id, "error", err)
	})
	h.flush(counts)
	if err != nil {
		return nil, fmt.Errorf("lineage: %w", err)
	}
	if batch != nil {
		return batch, nil
	}
	return res, nil
}

func (h *handler) flush(counts map[lineage.Outcome]int) {
	m := obs.NewMetrics("lineage")
	for _, o := range []lineage.Outcome{lineage.Recorded, lineage.Duplicate, lineage.Skipped, lineage.Gone, lineage.Superseded, "failed"} {
		m.Add("", "Objects"+title(string(o)), obs.Count, float64(counts[o]))
	}
	if err := m.Flush(h.metrics); err != nil {
		h.log.Warn("metrics not written", "error", err)
	}
	h.log.Info("lineage done", "recorded", counts[lineage.Recorded], "duplicate", counts[lineage.Duplicate],
		"skipped", counts[lineage.Skipped], "gone", counts[lineage.Gone], "superseded", counts[lineage.Superseded], "failed", counts["failed"])
}

// readOptions names what an event is about: its version in a versioned bucket; in an
// unversioned one, the current object only while it has the event's ETag.
func readOptions(o objectevent.Object) objectstore.ReadOptions {
	if o.Version != "" {
		return objectstore.ReadOptions{Version: o.Version}
	}
	return objectstore.ReadOptions{IfMatch: o.ETag}
}

func title(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
