// Command summarize is the Lambda that keeps the consumption zone's summary tables
// (events/summaries) up to date: triggered by objects created in the curated zone, batched by
// its SQS queue's window, it recomputes the days those objects touched on Athena and replaces
// them in the consumption bucket. See shared/summary.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	sdkathena "github.com/aws/aws-sdk-go-v2/service/athena"

	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/query/athena"
	"github.com/sluicelake/sluice/shared/startup"
	"github.com/sluicelake/sluice/shared/summary"
	"github.com/sluicelake/sluice/shared/tracing"
)

func main() {
	env := startup.Start("summarize", tracing.InstrumentAWS)
	sums, err := summary.Shipped()
	if err != nil {
		env.Fatal("summary definitions", err)
	}
	// A refresh must read curated as it is now: no result reuse.
	eng, err := athena.New(sdkathena.NewFromConfig(env.AWS), athena.Options{
		Database: env.Must(envvar.GlueDatabase), WorkGroup: env.Must(envvar.AthenaWorkGroup), ReuseMaxAge: -1})
	if err != nil {
		env.Fatal("configuration", err)
	}
	curated := env.Must(envvar.CuratedBucket)
	h := &summary.Handler{
		Summaries:     sums,
		CuratedBucket: curated,
		Log:           env.Log,
		Refresher: &summary.Refresher{
			Compiler:      &query.Compiler{Contracts: env.Contracts},
			Engine:        eng,
			Store:         env.Bucket(envvar.ConsumptionBucket),
			CuratedBucket: curated,
		},
	}
	lambda.Start(h.Handle)
}
