package objectevent_test

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/sluicelake/sluice/shared/objectevent"
)

func TestShapes(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile("../../events/samples/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, want := range map[string][]objectevent.Object{
		"validate-s3-event.json": {{"raw", "landing/customers/2026/11/23/customers.csv", "", "0123456789abcdef0123456789abcdef"},
			{"raw", "landing/user_events/2026/11/23/click stream.jsonl", "", "0123456789abcdef0123456789abcdef"}}, // "click+stream" in the event
		"validate-eventbridge.json": {{"raw", "landing/user_events/2026/11/23/events.parquet", "", "0123456789abcdef0123456789abcdef"}},
	} {
		got, err := objectevent.Created(read(name))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v %v, want %v", name, got, err, want)
		}
		if objectevent.IsSQS(read(name)) {
			t.Errorf("%s taken for SQS", name)
		}
	}
	sqs := read("validate-sqs-eventbridge.json")
	if !objectevent.IsSQS(sqs) {
		t.Fatal("SQS batch not recognised")
	}
	var batch struct{ Records []struct{ Body string } }
	json.Unmarshal(sqs, &batch)
	if got, err := objectevent.Created([]byte(batch.Records[0].Body)); err != nil || len(got) != 1 || got[0].Bucket != "raw" {
		t.Errorf("SQS body: %v %v", got, err)
	}
	for _, bad := range []string{`{"hello":"world"}`, `not json`, `{"Records":[{"eventSource":"aws:dynamodb"}]}`,
		`{"detail-type":"Object Created","detail":{}}`} {
		if _, err := objectevent.Created([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	if got, err := objectevent.Created([]byte(`{"Event":"s3:TestEvent"}`)); err != nil || got != nil {
		t.Errorf("test event: %v %v", got, err)
	}
}

// Each answers an SQS batch message by message: only the message whose object failed is
// named for redelivery, and the others are still handled.
func TestEachReportsOnlyFailedMessages(t *testing.T) {
	sqs, err := os.ReadFile("../../events/samples/validate-sqs-eventbridge.json")
	if err != nil {
		t.Fatal(err)
	}
	var batch struct {
		Records []map[string]any `json:"Records"`
	}
	json.Unmarshal(sqs, &batch)
	second := map[string]any{}
	for k, v := range batch.Records[0] {
		second[k] = v
	}
	second["messageId"] = "second"
	second["body"] = `{"detail-type":"Object Created","detail":{"bucket":{"name":"raw"},"object":{"key":"landing/customers/bad.csv"}}}`
	batch.Records = append(batch.Records, second)
	raw, _ := json.Marshal(batch)

	var seen []string
	var failedIDs []string
	resp, err := objectevent.Each(raw, func(o objectevent.Object) error {
		seen = append(seen, o.Key)
		if o.Key == "landing/customers/bad.csv" {
			return os.ErrDeadlineExceeded
		}
		return nil
	}, func(id string, err error) { failedIDs = append(failedIDs, id) })
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(batch.Records) || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "second" || !reflect.DeepEqual(failedIDs, []string{"second"}) {
		t.Fatalf("seen %v, failures %+v, reported %v", seen, resp.BatchItemFailures, failedIDs)
	}

	// A direct event's error is the invocation's.
	direct, _ := os.ReadFile("../../events/samples/validate-eventbridge.json")
	if _, err := objectevent.Each(direct, func(objectevent.Object) error { return os.ErrClosed }, nil); err != os.ErrClosed {
		t.Fatalf("direct event error %v", err)
	}
}
