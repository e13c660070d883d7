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

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/sluicelake/sluice/shared/ingest"
	"github.com/sluicelake/sluice/shared/obs"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/streammap"
)

// handler adapts the trigger's event (Kinesis, or Kafka from Amazon MSK or a self-managed
// cluster) to the processor and its result to the event source mapping's answer.
type handler struct {
	p       *ingest.Processor
	log     *slog.Logger
	metrics io.Writer
}

func newHandler(p *ingest.Processor, log *slog.Logger, metrics io.Writer) *handler {
	return &handler{p: p, log: log, metrics: metrics}
}

// Kafka events carry their source at the top ("aws:kafka" for MSK, "SelfManagedKafka");
// Kinesis events only in each record.
const (
	sourceMSK         = "aws:kafka"
	sourceSelfManaged = "SelfManagedKafka"
)

func (h *handler) handle(ctx context.Context, payload json.RawMessage) (any, error) {
	var head struct {
		EventSource string `json:"eventSource"`
	}
	if err := json.Unmarshal(payload, &head); err != nil {
		return nil, fmt.Errorf("ingest: the event is not a JSON object (%v): invoke it from a Kinesis or Kafka event source mapping", err)
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		// The request id names the run in the provenance of every object written below.
		ctx = provenance.WithRun(ctx, lc.AwsRequestID)
	}
	switch head.EventSource {
	case "":
		var ev events.KinesisEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("ingest: not a Kinesis event (%v), and no eventSource says it is Kafka", err)
		}
		return h.kinesis(ctx, ev)
	case sourceMSK, sourceSelfManaged:
		var ev events.KafkaEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("ingest: a %s event that does not decode: %w", head.EventSource, err)
		}
		return h.kafka(ctx, ev)
	}
	return nil, fmt.Errorf("ingest: events from %q are not handled: trigger ingest from Kinesis, Amazon MSK or self-managed Kafka", head.EventSource)
}

func (h *handler) kinesis(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
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
	h.report(res, start)
	return resp, nil
}

// kafka handles a Kafka batch. A Kafka event source mapping has no partial batch response: a
// batch not written whole fails the invocation, and Lambda retries it whole.
func (h *handler) kafka(ctx context.Context, ev events.KafkaEvent) (any, error) {
	start := time.Now()
	b := ingest.KafkaBatch{BootstrapServers: ev.BootstrapServers}
	for _, recs := range ev.Records { // keyed "<topic>-<partition>"; the processor orders them
		for _, r := range recs {
			b.Records = append(b.Records, ingest.KafkaRecord{Topic: r.Topic, Partition: int32(r.Partition), Offset: r.Offset,
				Timestamp: r.Timestamp.Time, Value: r.Value})
		}
	}
	res, err := h.p.ProcessKafka(ctx, b)
	if err == nil && res.In != res.Written+res.Quarantined {
		err = errors.New("ingest: records unaccounted for; failing the batch so that it is retried whole")
	}
	h.report(res, start)
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// report writes the batch's metrics and log line.
func (h *handler) report(res ingest.Result, start time.Time) {
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
}

// shardID takes the shard out of an event id "shardId-000000000000:<sequence>".
func shardID(eventID string) string {
	if i := strings.IndexByte(eventID, ':'); i >= 0 {
		return eventID[:i]
	}
	return eventID
}
