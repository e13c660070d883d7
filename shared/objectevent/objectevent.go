// Package objectevent reads the "object created" events that trigger the lake's file functions,
// in the shapes AWS delivers them: an S3 notification, or an EventBridge "Object Created" event
// (each possibly the body of an SQS message, which the function unwraps first).
//
// The events are decoded by hand rather than into aws-lambda-go's types: no shared package may
// import Lambda, and some stand-ins send fields those types do not accept.
package objectevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Object is a created object. Version is empty for an unversioned bucket; ETag is the one the
// event names (unquoted), which tells a rewritten object there.
type Object struct {
	Bucket, Key, Version string
	ETag                 string
}

type envelope struct {
	Records []struct {
		EventSource string `json:"eventSource"`
		EventName   string `json:"eventName"`
		S3          struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key       string `json:"key"`
				VersionID string `json:"versionId"`
				ETag      string `json:"eTag"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
	DetailType string          `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
	Event      string          `json:"Event"` // "s3:TestEvent" when a notification is configured
}

// IsSQS reports whether raw is an SQS batch (which the caller unwraps, message by message).
func IsSQS(raw []byte) bool {
	var env envelope
	return json.Unmarshal(raw, &env) == nil && len(env.Records) > 0 && env.Records[0].EventSource == "aws:sqs"
}

// Created returns the objects an S3 notification or an EventBridge event says were created.
// S3's test event and events other than creations name none.
func Created(raw []byte) ([]Object, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("the event is not JSON: %w", err)
	}
	switch {
	case env.Event == "s3:TestEvent":
		return nil, nil
	case env.DetailType != "":
		if env.DetailType != "Object Created" {
			return nil, nil // the rule should not send these; nothing to do
		}
		var d struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key       string `json:"key"`
				VersionID string `json:"version-id"`
				ETag      string `json:"etag"`
			} `json:"object"`
		}
		if err := json.Unmarshal(env.Detail, &d); err != nil || d.Bucket.Name == "" || d.Object.Key == "" {
			return nil, fmt.Errorf("EventBridge detail without bucket.name and object.key: %s", env.Detail)
		}
		return []Object{{d.Bucket.Name, d.Object.Key, d.Object.VersionID, d.Object.ETag}}, nil // EventBridge keys are not URL-encoded
	case len(env.Records) > 0:
		var out []Object
		for _, r := range env.Records {
			if r.EventSource != "aws:s3" {
				return nil, fmt.Errorf("a record from %q; this function takes S3 events", r.EventSource)
			}
			if !strings.HasPrefix(strings.TrimPrefix(r.EventName, "s3:"), "ObjectCreated") {
				continue
			}
			key, err := url.QueryUnescape(r.S3.Object.Key) // S3 notifications URL-encode keys (spaces as +)
			if err != nil {
				return nil, fmt.Errorf("S3 event key %q: %w", r.S3.Object.Key, err)
			}
			out = append(out, Object{r.S3.Bucket.Name, key, r.S3.Object.VersionID, r.S3.Object.ETag})
		}
		return out, nil
	}
	return nil, errors.New("the event is none of S3 notification, EventBridge Object Created or SQS")
}

// BatchResponse is the partial-batch answer to an SQS invocation (the shape Lambda reads
// when the event source mapping reports batch item failures).
type BatchResponse struct {
	BatchItemFailures []BatchItemFailure `json:"batchItemFailures"`
}

// BatchItemFailure names a message SQS should redeliver.
type BatchItemFailure struct {
	ItemIdentifier string `json:"itemIdentifier"`
}

// Each calls fn for every created object of raw, whatever its shape. For an SQS batch it
// handles message by message and answers with the messages whose objects failed, so that only
// those are redelivered (and, after the queue's retries, dead-lettered); failed reports each
// such message. For a direct event it stops at the first error and returns it, so that the
// invocation is retried.
func Each(raw []byte, fn func(Object) error, failed func(messageID string, err error)) (*BatchResponse, error) {
	if !IsSQS(raw) {
		objs, err := Created(raw)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if err := fn(o); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	var batch struct {
		Records []struct {
			MessageID string `json:"messageId"`
			Body      string `json:"body"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(raw, &batch); err != nil {
		return nil, fmt.Errorf("SQS event: %w", err)
	}
	resp := &BatchResponse{BatchItemFailures: []BatchItemFailure{}}
	for _, m := range batch.Records {
		err := func() error {
			objs, err := Created([]byte(m.Body))
			if err != nil {
				return err
			}
			for _, o := range objs {
				if err := fn(o); err != nil {
					return err
				}
			}
			return nil
		}()
		if err != nil {
			if failed != nil {
				failed(m.MessageID, err)
			}
			resp.BatchItemFailures = append(resp.BatchItemFailures, BatchItemFailure{ItemIdentifier: m.MessageID})
		}
	}
	return resp, nil
}
