package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/sluicelake/sluice/shared/lineage/compact"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/obs"
)

// handler runs one compaction per invocation, whatever the event: the schedule's events carry
// nothing the run needs.
type handler struct {
	store   objectstore.Store
	opts    compact.Options
	log     *slog.Logger
	metrics io.Writer
}

func newHandler(store objectstore.Store, opts compact.Options, log *slog.Logger, metrics io.Writer) *handler {
	return &handler{store: store, opts: opts, log: log, metrics: metrics}
}

func (h *handler) handle(ctx context.Context, _ json.RawMessage) (*compact.Report, error) {
	rep, err := compact.Run(ctx, h.store, h.opts)
	var objects, rows, deleted int
	for _, hr := range rep.Hours {
		objects, rows, deleted = objects+hr.Objects, rows+hr.Rows, deleted+hr.DeletedObjects
		h.log.Info("hour compacted", "hour", hr.Hour, "generation", hr.Generation, "objects", hr.Objects, "rows", hr.Rows,
			"deleted_objects", hr.DeletedObjects, "deleted_generations", hr.DeletedGenerations)
	}
	m := obs.NewMetrics("lineagecompact")
	m.Add("", "ObjectsCompacted", obs.Count, float64(objects))
	m.Add("", "ObjectsDeleted", obs.Count, float64(deleted))
	m.Add("", "HoursChanged", obs.Count, float64(len(rep.Hours)))
	if err := m.Flush(h.metrics); err != nil {
		h.log.Warn("metrics not written", "error", err)
	}
	if err != nil {
		// The hours that failed are retried by the next run; the schedule's retry of this one
		// would only repeat the work done.
		h.log.Error("compaction incomplete; the next run retries the hours that failed", "error", err)
		return rep, fmt.Errorf("lineagecompact: %w", err)
	}
	h.log.Info("compaction done", "hours", len(rep.Hours), "objects", objects, "rows", rows, "deleted_objects", deleted, "stopped", rep.Stopped)
	return rep, nil
}
