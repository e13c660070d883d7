package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/sluicelake/sluice/shared/ingest"
	"github.com/sluicelake/sluice/shared/obs"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/streammap"
)

// handler adapts the Kinesis event to the processor and its result to a partial batch response.
type handler struct {
	p       *ingest.Processor
	log     *slog.Logger
	metrics io.Writer
}

func newHandler(p *ingest.Processor, log *slog.Logger, metrics io.Writer) *handler {
	return &handler{p: p, log: log, metrics: metrics}
}

func (h *handler) handle(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		// The request id names the run in the provenance of every object written below.
		ctx = provenance.WithRun(ctx, lc.AwsRequestID)
	}
	start := time.Now()
	recs := make([]ingest.Record, len(ev.Records))
	for i, r := range ev.Records {
		recs[i] = ingest.Record{
			Data:         r.Kinesis.Data,
			Stream:       streammap.Name(r.EventSourceArn),
			Shard:        shardID(r.EventID),
			Sequence:     r.Kinesis.SequenceNumber,
			PartitionKey: r.Kinesis.PartitionKey,
			Arrival:      r.Kinesis.ApproximateArrivalTimestamp.Time,
		}
	}
	res, err := h.p.Process(ctx, recs)
	if err != nil {
		return events.KinesisEventResponse{}, err
	}
	var resp events.KinesisEventResponse
	for _, seq := range res.Failed {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: seq})
	}
	if res.In != res.Written+res.Quarantined+len(res.Failed) {
		// Cannot happen by construction; if it ever does, fail the whole batch rather than lose records.
		return events.KinesisEventResponse{}, errors.New("ingest: records unaccounted for; retrying the whole batch")
	}

	m := obs.NewMetrics("ingest")
	m.Add("", "RecordsIn", obs.Count, float64(res.In))
	m.Add("", "RecordsWritten", obs.Count, float64(res.Written))
	m.Add("", "RecordsQuarantined", obs.Count, float64(res.Quarantined))
	m.Add("", "RecordsFailed", obs.Count, float64(len(res.Failed)))
	m.Add("", "BytesIn", obs.Bytes, float64(res.Bytes))
	m.Add("", "BatchLatency", obs.Milliseconds, float64(time.Since(start).Milliseconds()))
	for ds, n := range res.Datasets {
		m.Add(ds, "RecordsWritten", obs.Count, float64(n))
	}
	if err := m.Flush(h.metrics); err != nil {
		h.log.Warn("metrics not written", "error", err)
	}
	h.log.Info("batch done", "in", res.In, "written", res.Written, "quarantined", res.Quarantined,
		"failed", len(res.Failed), "objects", len(res.Objects), "reasons", res.Reasons)
	return resp, nil
}

// shardID takes the shard out of an event id "shardId-000000000000:<sequence>".
func shardID(eventID string) string {
	if i := strings.IndexByte(eventID, ':'); i >= 0 {
		return eventID[:i]
	}
	return eventID
}
