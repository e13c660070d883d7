package summary

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/sluicelake/sluice/shared/objectevent"
)

// Handler is a refresh invocation: a batch of curated "object created" events (an SQS batch
// of EventBridge events in AWS, whose batching window is the debounce: a burst of promotions
// arrives as one batch), planned at once, so that each summary is recomputed once for the
// union of the days its batch touched.
type Handler struct {
	Summaries []*Summary
	Refresher *Refresher
	// CuratedBucket: events of other buckets are ignored (a misrouted rule), and logged.
	CuratedBucket string
	Log           *slog.Logger
}

// Handle is the Lambda handler: Run, answered in the partial-batch shape the queue's mapping
// reads (ReportBatchItemFailures). A failure fails the whole batch, which SQS hands back whole:
// a refresh rewrites whole days, so running one again changes nothing but bringing them up to
// date.
func (h *Handler) Handle(ctx context.Context, raw json.RawMessage) (*objectevent.BatchResponse, error) {
	if _, err := h.Run(ctx, raw); err != nil {
		return nil, err
	}
	return &objectevent.BatchResponse{BatchItemFailures: []objectevent.BatchItemFailure{}}, nil
}

// Run refreshes what one batch of events affects, each summary once.
func (h *Handler) Run(ctx context.Context, raw json.RawMessage) ([]Result, error) {
	keys, err := h.Keys(raw)
	if err != nil {
		return nil, err
	}
	return h.Refresh(ctx, keys)
}

// Keys are the curated keys an event (or a batch of them) says were created.
func (h *Handler) Keys(raw json.RawMessage) ([]string, error) {
	var keys []string
	_, err := objectevent.Each(raw, func(o objectevent.Object) error {
		if h.CuratedBucket != "" && o.Bucket != h.CuratedBucket {
			h.Log.Warn("event of another bucket than curated ignored: check the trigger", "bucket", o.Bucket, "key", o.Key)
			return nil
		}
		keys = append(keys, o.Key)
		return nil
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("summarize: read the batch: %w", err)
	}
	return keys, nil
}

// Refresh recomputes what the created curated keys affect, each summary once.
func (h *Handler) Refresh(ctx context.Context, keys []string) ([]Result, error) {
	var out []Result
	for _, w := range Plan(h.Summaries, keys) {
		res, err := h.Refresher.Refresh(ctx, w)
		if err != nil {
			return out, err
		}
		h.Log.Info("summary refreshed", "summary", res.Summary, "written", res.Written, "deleted", res.Deleted,
			"rows", res.Rows, "bytes_scanned", res.BytesScanned, "query", res.QueryID, "events", len(keys))
		out = append(out, res)
	}
	return out, nil
}
