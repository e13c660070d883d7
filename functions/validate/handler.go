package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/sluicelake/sluice/shared/filedrop"
	"github.com/sluicelake/sluice/shared/objectevent"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/obs"
	"github.com/sluicelake/sluice/shared/provenance"
)

// handler adapts the trigger's event to the validator: S3 notifications, EventBridge
// "Object Created" events, and SQS batches carrying either.
type handler struct {
	v       *filedrop.Validator
	log     *slog.Logger
	metrics io.Writer
}

func newHandler(v *filedrop.Validator, log *slog.Logger, metrics io.Writer) *handler {
	return &handler{v: v, log: log, metrics: metrics}
}

// object is one created object named by an event.
type object struct {
	Bucket, Key, Version string
}

// Result answers a direct (not SQS) invocation: one summary per file.
type Result struct {
	Files []Summary `json:"files"`
}

// Summary is what a file came to; the full report is at Report in the cleansed bucket.
type Summary struct {
	Key         string `json:"key"`
	RowsIn      int64  `json:"rows_in"`
	Valid       int64  `json:"valid"`
	Quarantined int64  `json:"quarantined"`
	File        string `json:"file_quarantined,omitempty"`
	Report      string `json:"report"`
}

func (h *handler) handle(ctx context.Context, raw json.RawMessage) (any, error) {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		// The request id names the run in the provenance of every object written below.
		ctx = provenance.WithRun(ctx, lc.AwsRequestID)
	}
	var res Result
	batch, err := objectevent.Each(raw, func(o objectevent.Object) error {
		// A failed file fails the invocation (or its SQS message), to be retried and then
		// dead-lettered: files already done are rewritten to the same objects, so a retry is
		// harmless.
		sum, err := h.file(ctx, object{o.Bucket, o.Key, o.Version})
		if sum != nil {
			res.Files = append(res.Files, *sum)
		}
		return err
	}, func(id string, err error) {
		h.log.Error("message failed; SQS will redeliver it", "message", id, "error", err)
	})
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	if batch != nil {
		return batch, nil
	}
	return res, nil
}

// file validates one object; nil without error means the object was skipped.
func (h *handler) file(ctx context.Context, o object) (*Summary, error) {
	if o.Bucket != h.v.Raw.Bucket() {
		return nil, fmt.Errorf("validate: event for bucket %q, but this function reads %q (SLUICE_RAW_BUCKET); fix the trigger or the setting", o.Bucket, h.v.Raw.Bucket())
	}
	if !strings.HasPrefix(o.Key, filedrop.LandingPrefix) || strings.HasSuffix(o.Key, "/") {
		// The trigger filters on landing/; anything else (the stream archive) is not a file drop.
		h.log.Info("not a file drop; skipped", "key", o.Key)
		return nil, nil
	}
	start := time.Now()
	rep, err := h.v.Validate(ctx, o.Key, o.Version)
	if errors.Is(err, objectstore.ErrNotFound) {
		// Deleted since the event was sent: there is nothing left to validate, and retrying
		// would only fill the dead-letter queue.
		// (A 403, which S3 also answers for a missing key when the role lacks s3:ListBucket,
		// is not this: it stays an error, to be retried and then dead-lettered.)
		h.log.Warn("object gone before it could be validated; skipped", "key", o.Key, "version", o.Version, "error", err)
		m := obs.NewMetrics("validate")
		m.Add("", "FilesGone", obs.Count, 1)
		if err := m.Flush(h.metrics); err != nil {
			h.log.Warn("metrics not written", "error", err)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := obs.NewMetrics("validate")
	m.Add(rep.Dataset, "FilesIn", obs.Count, 1)
	m.Add(rep.Dataset, "RecordsIn", obs.Count, float64(rep.RowsIn))
	m.Add(rep.Dataset, "RecordsWritten", obs.Count, float64(rep.Valid))
	m.Add(rep.Dataset, "RecordsQuarantined", obs.Count, float64(rep.Quarantined))
	m.Add(rep.Dataset, "BytesIn", obs.Bytes, float64(rep.Bytes))
	m.Add(rep.Dataset, "FileLatency", obs.Milliseconds, float64(time.Since(start).Milliseconds()))
	s := &Summary{Key: o.Key, RowsIn: rep.RowsIn, Valid: rep.Valid, Quarantined: rep.Quarantined, Report: rep.ReportKey}
	if rep.File != nil {
		s.File = rep.File.Reason
		m.Add(rep.Dataset, "FilesQuarantined", obs.Count, 1)
		h.log.Warn("file quarantined whole", "key", o.Key, "reason", rep.File.Reason, "detail", rep.File.Detail)
	}
	if err := m.Flush(h.metrics); err != nil {
		h.log.Warn("metrics not written", "error", err)
	}
	h.log.Info("file done", "key", o.Key, "rows_in", rep.RowsIn, "valid", rep.Valid, "quarantined", rep.Quarantined,
		"reasons", rep.Reasons, "objects", len(rep.CleansedObjects)+len(rep.QuarantineObjects), "report", rep.ReportKey)
	return s, nil
}
