package esm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// batchResponse is the partial batch response a function returns with ReportBatchItemFailures.
type batchResponse struct {
	BatchItemFailures []struct {
		ItemIdentifier *string `json:"itemIdentifier"`
	} `json:"batchItemFailures"`
}

// firstFailure applies Lambda's rules for a partial batch response to a successful invocation's
// payload: it returns the index in batch to retry from, len(batch) when the whole batch succeeded,
// or 0 when the response counts as the whole batch failing.
//
// Success: an empty payload, null, {} or an empty or null batchItemFailures list. Whole batch
// failed: a payload that is not such an object, or an itemIdentifier that is missing, empty or not
// the sequence number of a record in the batch. Otherwise Lambda checkpoints at the lowest
// sequence number reported and retries from there.
func firstFailure(payload []byte, batch []record) (index int, reason string) {
	p := bytes.TrimSpace(payload)
	if len(p) == 0 || bytes.Equal(p, []byte("null")) {
		return len(batch), ""
	}
	var resp batchResponse
	if p[0] != '{' {
		return 0, "the function's response is not a batch item failures object"
	}
	if err := json.Unmarshal(p, &resp); err != nil {
		return 0, "the function's response is not a batch item failures object: " + err.Error()
	}
	if len(resp.BatchItemFailures) == 0 {
		return len(batch), ""
	}
	pos := make(map[string]int, len(batch))
	for i, r := range batch {
		pos[r.seq] = i
	}
	first := len(batch)
	for _, f := range resp.BatchItemFailures {
		if f.ItemIdentifier == nil || *f.ItemIdentifier == "" {
			return 0, "a batch item failure has no itemIdentifier"
		}
		i, ok := pos[*f.ItemIdentifier]
		if !ok {
			return 0, fmt.Sprintf("batch item failure %q is not a sequence number in the batch", *f.ItemIdentifier)
		}
		first = min(first, i)
	}
	return first, "the function reported batch item failures"
}

// FailureRecord describes a batch the mapping gave up on, in the shape of the invocation record
// Lambda sends to a stream event source mapping's on-failure destination. As with an S3
// destination, Payload holds the event of the last attempt, so the records are not lost when the
// stream's retention ends.
type FailureRecord struct {
	RequestContext   RequestContext   `json:"requestContext"`
	ResponseContext  ResponseContext  `json:"responseContext"`
	Version          string           `json:"version"`
	Timestamp        string           `json:"timestamp"`
	KinesisBatchInfo KinesisBatchInfo `json:"KinesisBatchInfo"`
	Payload          json.RawMessage  `json:"payload,omitempty"`

	// MappingUUID identifies the mapping that gave up, as in an S3 destination's object key.
	MappingUUID string `json:"-"`
}

// RequestContext says which invocation failed and why the mapping gave up.
type RequestContext struct {
	RequestID              string `json:"requestId"`
	FunctionArn            string `json:"functionArn"`
	Condition              string `json:"condition"`
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

// ResponseContext is the last invocation's outcome.
type ResponseContext struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion"`
	FunctionError   string `json:"functionError"`
}

// KinesisBatchInfo locates the failed records in the stream.
type KinesisBatchInfo struct {
	ShardID                         string `json:"shardId"`
	StartSequenceNumber             string `json:"startSequenceNumber"`
	EndSequenceNumber               string `json:"endSequenceNumber"`
	ApproximateArrivalOfFirstRecord string `json:"approximateArrivalOfFirstRecord"`
	ApproximateArrivalOfLastRecord  string `json:"approximateArrivalOfLastRecord"`
	BatchSize                       int    `json:"batchSize"`
	StreamArn                       string `json:"streamArn"`
}

// Conditions under which the mapping gives up on a batch.
const ConditionRetryAttemptsExhausted = "RetryAttemptsExhausted"

// Destination receives the batches a mapping gives up on.
type Destination interface {
	Send(ctx context.Context, rec FailureRecord) error
}

// DestinationFunc adapts a function to a Destination.
type DestinationFunc func(ctx context.Context, rec FailureRecord) error

// Send calls f.
func (f DestinationFunc) Send(ctx context.Context, rec FailureRecord) error { return f(ctx, rec) }

// DirDestination writes each failure record as a JSON file under dir, at the key an S3 on-failure
// destination would use: aws/lambda/<mapping uuid>/<shard id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>.
func DirDestination(dir string) Destination {
	return DestinationFunc(func(_ context.Context, rec FailureRecord) error {
		now := time.Now().UTC()
		ts, err := time.Parse(timestampLayout, rec.Timestamp)
		if err == nil {
			now = ts
		}
		path := filepath.Join(dir, "aws", "lambda", rec.MappingUUID, rec.KinesisBatchInfo.ShardID,
			now.Format("2006"), now.Format("01"), now.Format("02"),
			now.Format("2006-01-02T15.04.05")+"-"+uuid.NewString())
		return WriteRecordFile(path, rec)
	})
}

// WriteRecordFile writes v as an indented JSON file at path, creating its directory. It writes
// then renames, so a reader (ReadRecordFiles) never sees half a record.
func WriteRecordFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("on-failure directory: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("on-failure record: %w", err)
	}
	return os.Rename(tmp, path)
}

// ReadRecordFiles reads every JSON file WriteRecordFile wrote under dir, in the order of their
// paths; a dir that does not exist holds none.
func ReadRecordFiles[T any](dir string) ([]T, error) {
	var out []T
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".tmp") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var rec T
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, rec)
		return nil
	})
	if os.IsNotExist(err) {
		return nil, nil
	}
	return out, err
}

// ReadFailures reads the failure records DirDestination wrote under dir, oldest first.
func ReadFailures(dir string) ([]FailureRecord, error) {
	out, err := ReadRecordFiles[FailureRecord](dir)
	slices.SortStableFunc(out, compareFailures)
	return out, err
}

func compareFailures(a, b FailureRecord) int {
	if c := strings.Compare(a.Timestamp, b.Timestamp); c != 0 {
		return c
	}
	x, y := a.KinesisBatchInfo.StartSequenceNumber, b.KinesisBatchInfo.StartSequenceNumber
	switch {
	case seqLess(x, y):
		return -1
	case seqLess(y, x):
		return 1
	}
	return 0
}

// seqLess orders Kinesis sequence numbers, which are decimal strings of varying length.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

const timestampLayout = "2006-01-02T15:04:05.000Z"
