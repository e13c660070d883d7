// Command ingest is the Kinesis-triggered Lambda: it validates stream records against their
// dataset contracts and writes them as Parquet to the cleansed zone, quarantining the rest.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/ingest"
	"github.com/sluicelake/sluice/shared/memlimit"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/obs"
	"github.com/sluicelake/sluice/shared/record"
)

func main() {
	ctx := context.Background()
	memlimit.Apply()
	log := obs.NewLogger(os.Stdout, "ingest")
	contracts, err := events.Registry()
	if err != nil {
		fatal(log, "load contracts", err)
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		fatal(log, "load AWS configuration", err)
	}
	s3 := awsconfig.NewS3Client(cfg)
	p := &ingest.Processor{
		Contracts:  contracts,
		Options:    record.Options{DefaultDataset: os.Getenv("SLUICE_DEFAULT_DATASET")},
		Cleansed:   s3store.New(s3, mustEnv(log, "SLUICE_CLEANSED_BUCKET")),
		Quarantine: s3store.New(s3, mustEnv(log, "SLUICE_QUARANTINE_BUCKET")),
		Log:        log,
	}
	lambda.Start(newHandler(p, log, os.Stdout).handle)
}
