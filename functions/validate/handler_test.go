package main

import (
	"reflect"
	"testing"

	"github.com/sluicelake/sluice/shared/objectevent"
)

// TestEventShapes: every sample event names the objects it should, keys URL-decoded where S3
// encodes them, SQS batches message by message, and the S3 test event names none.
func TestEventShapes(t *testing.T) {
	cases := map[string][]object{
		"validate-s3-event.json": {{"raw", "landing/customers/2026/11/23/customers.csv", ""},
			{"raw", "landing/user_events/2026/11/23/click stream.jsonl", ""}},
		"validate-eventbridge.json": {{"raw", "landing/user_events/2026/11/23/events.parquet", ""}},
		"validate-sqs-s3.json":      {{"raw", "landing/customers/2026/11/23/customers.csv.gz", ""}},
		"validate-sqs-eventbridge.json": {{"raw", "landing/user_events/2026/11/23/events.jsonl.gz", ""},
			{"raw", "landing/user_events/2026/11/23/broken.parquet", ""}},
	}
	for name, want := range cases {
		var got []object
		_, err := objectevent.Each(sample(t, name), func(o objectevent.Object) error {
			got = append(got, object{o.Bucket, o.Key, o.Version})
			return nil
		}, nil)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v %v, want %v", name, got, err, want)
		}
	}
	if _, err := objectevent.Each([]byte(`{"hello":"world"}`), func(objectevent.Object) error { return nil }, nil); err == nil {
		t.Error("an unknown event shape was accepted")
	}
}
