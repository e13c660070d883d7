// Command collect is the HTTP ingestion API's Lambda behind the API Gateway HTTP API:
// POST /events/{dataset} and POST /events take a JSON array or JSON lines, validate every record
// as ingest does, write the valid ones to their dataset's stream and answer per record.
package main

import (
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/sluicelake/sluice/shared/collect"
	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/startup"
	"github.com/sluicelake/sluice/shared/streammap"
	"github.com/sluicelake/sluice/shared/streamput"
	"github.com/sluicelake/sluice/shared/tracing"
)

func main() {
	env := startup.Start("collect", tracing.InstrumentAWS)
	streams, err := streammap.Parse(env.Getenv(envvar.DatasetStreams), env.Getenv(envvar.StreamName))
	if err != nil {
		env.Fatal("configuration", err)
	}
	svc := &collect.Service{
		Contracts: env.Contracts,
		Streams:   streams,
		Kinesis:   kinesis.NewFromConfig(env.AWS),
		// The caller waits: a few quick resends of refused records (about 1.5 s in all), then
		// the rest is answered as retryable rather than holding the call near API Gateway's 29 s.
		Put: streamput.Config{MaxAttempts: 5, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second},
		Log: env.Log,
	}
	lambda.Start(newHandler(svc).handle)
}
