package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdkathena "github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
)

// sqsOf is an SQS batch of EventBridge "Object Created" events, one message per object.
func sqsOf(bucket string, keys ...string) []byte {
	var recs []map[string]any
	for i, k := range keys {
		body, _ := json.Marshal(map[string]any{"version": "0", "detail-type": "Object Created", "source": "aws.s3",
			"detail": map[string]any{"bucket": map[string]string{"name": bucket}, "object": map[string]string{"key": k}}})
		recs = append(recs, map[string]any{"messageId": fmt.Sprintf("m%d", i), "eventSource": "aws:sqs", "body": string(body)})
	}
	b, _ := json.Marshal(map[string]any{"Records": recs})
	return b
}

// TestBuiltBinary runs the built bootstrap through the Lambda Runtime API with moto_server as
// Athena and S3: a batch of curated events (three objects of one day, one of another, the
// table's metadata) is one refresh of daily_revenue for the two days, on Athena, with the days
// as parameters. moto runs no SQL and answers no rows, so both days, which held an object
// before, are removed as emptied; customers_by_status, which no event touched, is left alone.
func TestBuiltBinary(t *testing.T) {
	s3c, endpoint := s3test.StartMoto(t)
	ctx := context.Background()
	ac := sdkathena.NewFromConfig(aws.Config{
		Region:      s3test.Region,
		Credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, ""),
		HTTPClient:  awshttp.NewBuildableClient(),
	}, func(o *sdkathena.Options) { o.BaseEndpoint = aws.String(endpoint) })
	if _, err := ac.CreateWorkGroup(ctx, &sdkathena.CreateWorkGroupInput{Name: aws.String("sluice")}); err != nil {
		t.Fatal(err)
	}
	curated := s3test.CreateBucket(t, s3c, "curated")
	cons := s3test.CreateBucket(t, s3c, "consumption")
	held := []string{"daily_revenue/dt=2026-11-22/part-0.parquet", "daily_revenue/dt=2026-11-23/part-0.parquet",
		"daily_revenue/dt=2026-11-24/part-0.parquet", "customers_by_status/dt=2026-11-23/part-0.parquet"}
	for _, k := range held {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: &cons, Key: aws.String(k), Body: bytes.NewReader([]byte("PAR1"))}); err != nil {
			t.Fatal(err)
		}
	}

	exe := runtimeapi.Build(t, ".")
	fn, err := runtimeapi.Start(ctx, runtimeapi.Config{
		Name: "summarize", Binary: exe, MemorySize: 256, Timeout: time.Minute,
		Env: []string{"AWS_ENDPOINT_URL=" + endpoint, "AWS_ACCESS_KEY_ID=" + s3test.AccessKey,
			"AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey, "AWS_REGION=us-east-1",
			"SLUICE_GLUE_DATABASE=sluice_test", "SLUICE_ATHENA_WORKGROUP=sluice",
			"SLUICE_CURATED_BUCKET=" + curated, "SLUICE_CONSUMPTION_BUCKET=" + cons},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	res, err := fn.Invoke(ctx, sqsOf(curated, "user_events/data/dt=2026-11-23/hr=09/a.parquet", "user_events/data/dt=2026-11-23/hr=10/b.parquet",
		"user_events/data/dt=2026-11-23/hr=09/a.parquet", "user_events/data/dt=2026-11-24/hr=00/c.parquet", "user_events/metadata/v7.metadata.json"))
	if err != nil || res.FunctionError != nil {
		t.Fatalf("invoke: %v %v", err, res.FunctionError)
	}
	if string(res.Payload) != `{"batchItemFailures":[]}` {
		t.Errorf("batch response %s", res.Payload)
	}
	list, err := ac.ListQueryExecutions(ctx, &sdkathena.ListQueryExecutionsInput{WorkGroup: aws.String("sluice")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.QueryExecutionIds) != 1 {
		t.Fatalf("%d Athena queries, want one refresh for the whole batch", len(list.QueryExecutionIds))
	}
	x, err := ac.GetQueryExecution(ctx, &sdkathena.GetQueryExecutionInput{QueryExecutionId: aws.String(list.QueryExecutionIds[0])})
	if err != nil {
		t.Fatal(err)
	}
	sql := aws.ToString(x.QueryExecution.Query)
	if !strings.Contains(sql, `FROM "curated_user_events" WHERE "dt" IN (?, ?) GROUP BY "dt", "country", "event_type"`) {
		t.Errorf("refresh SQL %s", sql)
	}
	if p := x.QueryExecution.ExecutionParameters; len(p) != 2 || p[0] != "DATE '2026-11-23'" || p[1] != "DATE '2026-11-24'" {
		t.Errorf("parameters %q", p)
	}
	var left []string
	out, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &cons})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Contents {
		left = append(left, aws.ToString(o.Key))
	}
	if want := []string{held[3], held[0]}; !slices.Equal(left, want) { // in key order, as S3 lists
		t.Errorf("consumption holds %v, want the untouched day and summary only: %v", left, want)
	}
}
