// Command ingest is the Kinesis-triggered Lambda: it validates stream records against their
// dataset contracts and writes them as Parquet to the cleansed zone, quarantining the rest.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sluicelake/sluice/shared/ingest"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/startup"
	"github.com/sluicelake/sluice/shared/streammap"
	"github.com/sluicelake/sluice/shared/tracing"
)

func main() {
	env := startup.Start("ingest", tracing.InstrumentAWS)
	streams, err := streammap.Parse(os.Getenv(streammap.EnvDatasetStreams), os.Getenv("SLUICE_STREAM_NAME"))
	if err != nil {
		env.Fatal("configuration", err)
	}
	p := &ingest.Processor{
		Contracts:  env.Contracts,
		Options:    record.Options{DefaultDataset: os.Getenv("SLUICE_DEFAULT_DATASET")},
		Cleansed:   env.Bucket("SLUICE_CLEANSED_BUCKET"),
		Quarantine: env.Bucket("SLUICE_QUARANTINE_BUCKET"),
		Log:        env.Log,
		Streams:    streams,
	}
	lambda.Start(newHandler(p, env.Log, os.Stdout).handle)
}
