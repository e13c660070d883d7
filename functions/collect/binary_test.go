package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/sluicelake/sluice/localstack/kinesislocal"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/shared/collect"
	"github.com/sluicelake/sluice/shared/streammap"
)

func httpEvent(method, path, body string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: method + " /events/{dataset}", RawPath: path, Body: body,
		Headers: map[string]string{"content-type": "application/x-ndjson"}}
	ev.RequestContext.HTTP.Method = method
	ev.RequestContext.HTTP.Path = path
	return ev
}

// TestBuiltBinary runs the built bootstrap through the Lambda Runtime API with kinesis-local as
// Kinesis: main.go reads the stream map from its environment, and API Gateway v2 events come
// back as per-record answers, the accepted records on the stream.
func TestBuiltBinary(t *testing.T) {
	srv := kinesislocal.ForTest(t)
	ctx := context.Background()
	kc := srv.Client()
	for _, s := range []string{"sluice-events", "sluice-customers"} {
		if err := kinesislocal.CreateStream(ctx, kc, s, 1); err != nil {
			t.Fatal(err)
		}
	}
	exe := runtimeapi.Build(t, ".")
	fn, err := runtimeapi.Start(ctx, runtimeapi.Config{
		Name: "collect", Binary: exe, MemorySize: 256,
		Env: []string{"AWS_ENDPOINT_URL=" + srv.Endpoint, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1",
			"SLUICE_STREAM_NAME=sluice-events", streammap.EnvDatasetStreams + `={"customers":"sluice-customers"}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()

	invoke := func(ev events.APIGatewayV2HTTPRequest) (int, collect.Answer) {
		t.Helper()
		payload, _ := json.Marshal(ev)
		res, err := fn.Invoke(ctx, payload)
		if err != nil || res.FunctionError != nil {
			t.Fatalf("invoke: %v %v", err, res.FunctionError)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(res.Payload, &resp); err != nil {
			t.Fatalf("response %s: %v", res.Payload, err)
		}
		if resp.Headers["Content-Type"] != "application/json" {
			t.Errorf("content type %q", resp.Headers["Content-Type"])
		}
		var a collect.Answer
		if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
			t.Fatalf("body %s: %v", resp.Body, err)
		}
		return resp.StatusCode, a
	}

	var lines []string
	for i := 0; i < 3; i++ {
		lines = append(lines, fmt.Sprintf(`{"uuid":"10000000-0000-4000-8000-%012d","event_date":"2026-11-23T10:00:00Z","status":"Active","name":"Ann","last_name":"Lee","email":"a%d@example.com"}`, i, i))
	}
	lines = append(lines, `{"uuid":"not-a-uuid","event_date":"2026-11-23T10:00:00Z","status":"Active","name":"Ann","last_name":"Lee","email":"x@example.com"}`)
	// A named stage, and a body API Gateway passed as base64.
	ev := httpEvent("POST", "/prod/events/customers", base64.StdEncoding.EncodeToString([]byte(strings.Join(lines, "\n"))))
	ev.IsBase64Encoded = true
	code, a := invoke(ev)
	if code != 200 || a.FailedRecordCount != 1 || len(a.Records) != 4 || a.Records[3].ErrorCode != "pattern_mismatch" || a.Records[3].Field != "uuid" {
		t.Fatalf("POST: %d %+v", code, a)
	}
	it, err := kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("sluice-customers"), ShardId: aws.String(a.Records[0].ShardId), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	got, err := kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Records) != 3 {
		t.Fatalf("%d records on the customers stream, want 3", len(got.Records))
	}
	for i, r := range got.Records {
		if aws.ToString(r.SequenceNumber) != a.Records[i].SequenceNumber || !strings.Contains(string(r.Data), fmt.Sprintf(`"a%d@example.com"`, i)) {
			t.Errorf("record %d on the stream: %s %s, answered %s", i, aws.ToString(r.SequenceNumber), r.Data, a.Records[i].SequenceNumber)
		}
	}

	if code, a = invoke(httpEvent("POST", "/events/orders", "{}")); code != 404 || !strings.Contains(a.Error, `"orders"`) {
		t.Errorf("unknown dataset: %d %+v", code, a)
	}
	if code, a = invoke(httpEvent("POST", "/events", "not json")); code != 400 {
		t.Errorf("not JSON: %d %+v", code, a)
	}
}
