package main

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestEventShapes: every sample event names the objects it should, keys URL-decoded where S3
// encodes them, and the S3 test event names none.
func TestEventShapes(t *testing.T) {
	cases := map[string][]object{
		"validate-s3-event.json": {{"raw", "landing/customers/2026/11/23/customers.csv", ""},
			{"raw", "landing/user_events/2026/11/23/click stream.jsonl", ""}},
		"validate-eventbridge.json": {{"raw", "landing/user_events/2026/11/23/events.parquet", ""}},
	}
	for name, want := range cases {
		got, err := objectsOf(sample(t, name))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v %v, want %v", name, got, err, want)
		}
	}
	sqs := map[string][][]object{
		"validate-sqs-s3.json": {{{"raw", "landing/customers/2026/11/23/customers.csv.gz", ""}}, nil},
		"validate-sqs-eventbridge.json": {{{"raw", "landing/user_events/2026/11/23/events.jsonl.gz", ""}},
			{{"raw", "landing/user_events/2026/11/23/broken.parquet", ""}}},
	}
	for name, want := range sqs {
		var ev events.SQSEvent
		if err := json.Unmarshal(sample(t, name), &ev); err != nil {
			t.Fatal(err)
		}
		for i, m := range ev.Records {
			got, err := objectsOf([]byte(m.Body))
			if err != nil || !reflect.DeepEqual(got, want[i]) {
				t.Errorf("%s message %d: %v %v, want %v", name, i, got, err, want[i])
			}
		}
	}
	if _, err := objectsOf([]byte(`{"hello":"world"}`)); err == nil {
		t.Error("an unknown event shape was accepted")
	}
}
