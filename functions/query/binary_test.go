package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdkathena "github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
)

// TestBuiltBinary runs the built bootstrap through the Lambda Runtime API with moto_server as
// Athena and S3: main.go's wiring reads its environment and answers API Gateway events.
func TestBuiltBinary(t *testing.T) {
	s3c, endpoint := s3test.StartMoto(t)
	ac := sdkathena.NewFromConfig(aws.Config{
		Region:      s3test.Region,
		Credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, ""),
		HTTPClient:  awshttp.NewBuildableClient(),
	}, func(o *sdkathena.Options) { o.BaseEndpoint = aws.String(endpoint) })
	if _, err := ac.CreateWorkGroup(context.Background(), &sdkathena.CreateWorkGroupInput{Name: aws.String("sluice")}); err != nil {
		t.Fatal(err)
	}
	curated := s3test.CreateBucket(t, s3c, "curated")
	trail := s3test.CreateBucket(t, s3c, "audit")

	exe := runtimeapi.Build(t, ".")
	fn, err := runtimeapi.Start(context.Background(), runtimeapi.Config{
		Name: "query", Binary: exe, MemorySize: 256,
		Env: []string{"AWS_ENDPOINT_URL=" + endpoint, "AWS_ACCESS_KEY_ID=" + s3test.AccessKey,
			"AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey, "AWS_REGION=us-east-1",
			"SLUICE_GLUE_DATABASE=sluice_test", "SLUICE_ATHENA_WORKGROUP=sluice", "SLUICE_CURATED_BUCKET=" + curated, "SLUICE_AUDIT_BUCKET=" + trail,
			"SLUICE_ATHENA_RESULT_REUSE_MINUTES=10"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()

	invoke := func(ev events.APIGatewayV2HTTPRequest) (int, map[string]any) {
		t.Helper()
		payload, _ := json.Marshal(ev)
		res, err := fn.Invoke(context.Background(), payload)
		if err != nil || res.FunctionError != nil {
			t.Fatalf("invoke: %v %v", err, res.FunctionError)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(res.Payload, &resp); err != nil {
			t.Fatalf("response %s: %v", res.Payload, err)
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			t.Fatalf("body %s: %v", resp.Body, err)
		}
		return resp.StatusCode, body
	}
	code, body := invoke(httpEvent("POST", "/queries", `{"dataset":"user_events","dt":{"from":"2026-11-23"},"aggregates":[{"fn":"count","as":"n"}]}`, map[string]string{"wait": "5"}))
	if code != 200 || body["state"] != "SUCCEEDED" || !strings.Contains(body["sql"].(string), `FROM "cleansed_user_events" WHERE "dt" >= ?`) {
		t.Errorf("POST: %d %v", code, body)
	}
	id, _ := body["id"].(string)
	x, err := ac.GetQueryExecution(context.Background(), &sdkathena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if p := x.QueryExecution.ExecutionParameters; len(p) != 1 || p[0] != "DATE '2026-11-23'" {
		t.Errorf("parameters %q", p)
	}
	code, body = invoke(httpEvent("POST", "/queries", `{"dataset":"user_events","where":[{"column":"amount","op":">","value":"1 OR 1=1"}]}`, nil))
	if code != 400 || !strings.Contains(body["error"].(string), "amount is double: give a JSON number") {
		t.Errorf("bad value: %d %v", code, body)
	}

	// Both requests are in the audit bucket, as the binary wrote them, the refused one with why.
	list, err := s3c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(trail), Prefix: aws.String("audit/")})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	for _, o := range list.Contents {
		obj, err := s3c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(trail), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		recs, err := audit.Decode(b)
		if err != nil || len(recs) != 1 || recs[0].Caller != "arn:aws:iam::123456789012:role/sluice-data-steward" {
			t.Fatalf("audit object %s: %v %+v", *o.Key, err, recs)
		}
		outcomes[recs[0].Outcome]++
	}
	if outcomes[audit.OK] != 1 || outcomes[audit.Invalid] != 1 || len(list.Contents) != 2 {
		t.Errorf("audit records %v, want one ok and one invalid", outcomes)
	}
	// The catalog, wired from the zone buckets set (curated only here).
	code, body = invoke(httpEvent("GET", "/datasets/customers", "", nil))
	if zones, _ := body["zones"].([]any); code != 200 || len(zones) != 1 {
		t.Errorf("GET /datasets/customers: %d %v", code, body)
	}
}
