package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/sluicelake/sluice/shared/maintain"
	"github.com/sluicelake/sluice/shared/obs"
)

// handler runs maintenance once per invocation, whatever the event: the schedule's events carry
// nothing the run needs.
type handler struct {
	m       *maintain.Maintainer
	log     *slog.Logger
	metrics io.Writer
}

func newHandler(m *maintain.Maintainer, log *slog.Logger, metrics io.Writer) *handler {
	return &handler{m: m, log: log, metrics: metrics}
}

func (h *handler) handle(ctx context.Context, _ json.RawMessage) ([]maintain.Record, error) {
	// The run is named by the invocation, so its records and snapshots lead to its logs.
	run := time.Now().UTC().Format("20060102T150405Z")
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		run = lc.AwsRequestID
	}
	recs, err := h.m.Run(ctx, run)
	var expired, deleted, compacted, erased, pending, pruned int
	var freed int64
	for i, r := range recs {
		expired, deleted, compacted, freed = expired+r.SnapshotsExpired, deleted+r.FilesDeleted, compacted+r.FilesCompacted, freed+r.BytesFreed
		erased, pending, pruned = erased+r.ErasureSnapshotsExpired, pending+r.ErasurePending, pruned+r.DeletesPruned
		// The answer must fit in Lambda's 6 MB: the keys are in the stored records.
		recs[i] = r.Summary()
	}
	m := obs.NewMetrics("maintain")
	m.Add("", "SnapshotsExpired", obs.Count, float64(expired))
	m.Add("", "FilesDeleted", obs.Count, float64(deleted))
	m.Add("", "FilesCompacted", obs.Count, float64(compacted))
	m.Add("", "BytesFreed", obs.Bytes, float64(freed))
	// Erased rows still held by snapshots kept for an erasure's grace, and those expired now:
	// a pending count that never falls means maintenance is not expiring them.
	m.Add("", "ErasureSnapshotsExpired", obs.Count, float64(erased))
	m.Add("", "ErasureSnapshotsPending", obs.Count, float64(pending))
	m.Add("", "CDCDeletesPruned", obs.Count, float64(pruned))
	if err := m.Flush(h.metrics); err != nil {
		h.log.Warn("metrics not written", "error", err)
	}
	if err != nil {
		// Every table is tried; what failed is taken up by the next run.
		h.log.Error("maintenance incomplete; the next run retries the tables that failed", "error", err)
		return recs, fmt.Errorf("maintain: %w", err)
	}
	h.log.Info("maintenance done", "tables", len(recs), "snapshots_expired", expired, "files_deleted", deleted, "files_compacted", compacted, "bytes_freed", freed,
		"erasure_snapshots_expired", erased, "erasure_snapshots_pending", pending, "cdc_deletes_pruned", pruned)
	return recs, nil
}
