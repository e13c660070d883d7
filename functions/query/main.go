// Command query is the query API's Lambda behind the API Gateway HTTP API: structured queries
// (and, where switched on, raw SELECTs) compiled with every value a parameter, run on Athena,
// started at once and then polled and paged.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	sdkathena "github.com/aws/aws-sdk-go-v2/service/athena"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/obs"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/query/api"
	"github.com/sluicelake/sluice/shared/query/athena"
)

func main() {
	ctx := context.Background()
	log := obs.NewLogger(os.Stdout, "query")
	contracts, err := events.Registry()
	if err != nil {
		fatal(log, "load contracts", err)
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		fatal(log, "load AWS configuration", err)
	}
	settings, err := readSettings(os.Getenv)
	if err != nil {
		fatal(log, "configuration", err)
	}
	eng, err := athena.New(sdkathena.NewFromConfig(cfg), settings.athena)
	if err != nil {
		fatal(log, "configuration", err)
	}
	probe := newZoneProbe(awsconfig.NewS3Client(cfg), settings.curatedBucket)
	svc := &api.Service{
		Compiler: &query.Compiler{Contracts: contracts, RawSQL: settings.rawSQL, HasData: probe.hasData},
		Engine:   eng,
		Log:      log,
	}
	lambda.Start(newHandler(svc).handle)
}
