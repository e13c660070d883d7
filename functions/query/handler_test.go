package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdkathena "github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	sluiceevents "github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/access"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/query/api"
	"github.com/sluicelake/sluice/shared/query/athena"
	"github.com/sluicelake/sluice/shared/zone"
)

func httpEvent(method, path, body string, params map[string]string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: method + " " + path, RawPath: path, Body: body, QueryStringParameters: params}
	ev.RequestContext.HTTP.Method = method
	ev.RequestContext.HTTP.Path = path
	// As API Gateway's IAM authorizer names a data steward's session (events/access grants the
	// role every zone).
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: steward}}
	return ev
}

const steward = "arn:aws:sts::123456789012:assumed-role/sluice-data-steward/tests"

// TestHandlerOnMoto runs API Gateway events through the handler to the Athena engine on
// moto_server, and reads back from moto the SQL and parameters the query was started with.
func TestHandlerOnMoto(t *testing.T) {
	s3c, endpoint := s3test.StartMoto(t)
	ac := sdkathena.NewFromConfig(aws.Config{
		Region:      s3test.Region,
		Credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, ""),
		HTTPClient:  awshttp.NewBuildableClient(),
	}, func(o *sdkathena.Options) { o.BaseEndpoint = aws.String(endpoint) })
	ctx := context.Background()
	if _, err := ac.CreateWorkGroup(ctx, &sdkathena.CreateWorkGroupInput{Name: aws.String("wg")}); err != nil {
		t.Fatal(err)
	}
	eng, err := athena.New(ac, athena.Options{Database: "sluice_test", WorkGroup: "wg"})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := sluiceevents.Registry()
	if err != nil {
		t.Fatal(err)
	}
	curated := s3test.CreateBucket(t, s3c, "curated")
	probe := newZoneProbe(s3c, curated)
	policy, err := sluiceevents.Access()
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler(&api.Service{Compiler: &query.Compiler{Contracts: reg, HasData: probe.hasData, Access: policy}, Engine: eng})

	body := `{"dataset":"customers","columns":["uuid","status"],"where":[{"column":"status","op":"=","value":"Active"},{"column":"name","op":"like","value":"O'Br%"}],"limit":50}`
	// A named stage puts its name before the route; base64 bodies are decoded.
	ev := httpEvent("POST", "/prod/queries", base64.StdEncoding.EncodeToString([]byte(body)), nil)
	ev.IsBase64Encoded = true
	resp, err := h.handle(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 202 || resp.Headers["Content-Type"] != "application/json" {
		t.Fatalf("POST: %d %s", resp.StatusCode, resp.Body)
	}
	var started api.Started
	if err := json.Unmarshal([]byte(resp.Body), &started); err != nil {
		t.Fatal(err)
	}
	// The curated bucket is empty: the query falls back to the cleansed zone.
	wantSQL := `SELECT "uuid", "status" FROM "cleansed_customers" WHERE "status" = ? AND "name" LIKE ? LIMIT 50`
	if started.SQL != wantSQL {
		t.Errorf("sql %s", started.SQL)
	}
	x, err := ac.GetQueryExecution(ctx, &sdkathena.GetQueryExecutionInput{QueryExecutionId: aws.String(started.ID)})
	if err != nil {
		t.Fatal(err)
	}
	// The owner travels with the query as a leading comment, so that only its caller reads it.
	if aws.ToString(x.QueryExecution.Query) != "-- sluice owner "+api.Owner(access.CallerOf(steward))+"\n"+wantSQL || strings.Join(x.QueryExecution.ExecutionParameters, "|") != `'Active'|'O''Br%'` {
		t.Errorf("moto received %s with %q", aws.ToString(x.QueryExecution.Query), x.QueryExecution.ExecutionParameters)
	}

	resp, _ = h.handle(ctx, httpEvent("GET", "/queries/"+started.ID, "", nil))
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"state":"SUCCEEDED"`) {
		t.Errorf("GET status: %d %s", resp.StatusCode, resp.Body)
	}
	resp, _ = h.handle(ctx, httpEvent("GET", "/queries/"+started.ID+"/results", "", map[string]string{"page_size": "10"}))
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"rows":[]`) {
		t.Errorf("GET results: %d %s", resp.StatusCode, resp.Body)
	}
	resp, _ = h.handle(ctx, httpEvent("POST", "/queries", `{"dataset":"customers","columns":["ssn"]}`, nil))
	if resp.StatusCode != 400 || !strings.Contains(resp.Body, `dataset customers has no column \"ssn\"`) {
		t.Errorf("unknown column: %d %s", resp.StatusCode, resp.Body)
	}
	resp, _ = h.handle(ctx, httpEvent("GET", "/queries/00000000-0000-4000-8000-00000000000x", "", nil))
	if resp.StatusCode != 404 {
		t.Errorf("malformed id: %d %s", resp.StatusCode, resp.Body)
	}

	// A curated table's metadata alone is not data.
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(curated), Key: aws.String("customers/metadata/00000-x.metadata.json"), Body: strings.NewReader("{}")}); err != nil {
		t.Fatal(err)
	}
	probe.no = map[string]time.Time{}
	if probe.hasData(zone.Curated, "customers") {
		t.Error("curated has only the customers table's metadata, no data yet")
	}
	// Once curated holds the dataset's data, it is the default zone.
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(curated), Key: aws.String("customers/data/dt=2026-11-23/hr=09/a.parquet"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	probe.no = map[string]time.Time{} // forget the cached "no" instead of waiting a minute
	if !probe.hasData(zone.Curated, "customers") {
		t.Error("curated has customers now")
	}
}

func TestReadSettings(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	base := map[string]string{"SLUICE_GLUE_DATABASE": "sluice_prod", "SLUICE_ATHENA_WORKGROUP": "sluice", "SLUICE_AUDIT_BUCKET": "audit"}
	s, err := readSettings(env(base))
	if err != nil || s.rawSQL || s.athena.ReuseMaxAge != 0 {
		t.Errorf("defaults: %+v %v", s, err)
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range base {
			m[a] = b
		}
		return m
	}
	if s, _ := readSettings(env(with("SLUICE_ATHENA_RESULT_REUSE_MINUTES", "15"))); s.athena.ReuseMaxAge != 15*time.Minute {
		t.Errorf("reuse 15: %v", s.athena.ReuseMaxAge)
	}
	if s, _ := readSettings(env(with("SLUICE_ATHENA_RESULT_REUSE_MINUTES", "0"))); s.athena.ReuseMaxAge >= 0 {
		t.Errorf("reuse 0 should switch it off: %v", s.athena.ReuseMaxAge)
	}
	if s, _ := readSettings(env(with("SLUICE_RAW_SQL", "true"))); !s.rawSQL {
		t.Error("SLUICE_RAW_SQL=true")
	}
	for k, v := range map[string]string{"SLUICE_RAW_SQL": "maybe", "SLUICE_ATHENA_RESULT_REUSE_MINUTES": "99999"} {
		if _, err := readSettings(env(with(k, v))); err == nil {
			t.Errorf("%s=%s accepted", k, v)
		}
	}
	if _, err := readSettings(env(nil)); err == nil {
		t.Error("no database and workgroup accepted")
	}
}
