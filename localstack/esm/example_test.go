package esm_test

import (
	"context"
	"fmt"
	"log"

	"github.com/sluicelake/sluice/localstack/esm"
	"github.com/sluicelake/sluice/localstack/kinesislocal"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
)

// The local pipeline's Kinesis leg: a stream on kinesis-mock, the built ingest bootstrap run
// through the Runtime API, and the event source mapping between them, configured as in the CDK
// stack.
func Example() {
	ctx := context.Background()
	kin, err := kinesislocal.Start(ctx, kinesislocal.Options{})
	if err != nil {
		log.Fatal(err) // e.g. "run `make tools`"
	}
	defer kin.Close()
	client := kin.Client()
	if err := kinesislocal.CreateStream(ctx, client, "events", 2); err != nil {
		log.Fatal(err)
	}

	fn, err := runtimeapi.Start(ctx, runtimeapi.Config{
		Name:   "ingest",
		Binary: ".build/amd64/ingest/bootstrap",
		Env:    []string{"AWS_ENDPOINT_URL_KINESIS=" + kin.Endpoint},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer fn.Close()
	fmt.Println("ingest ready in", fn.InitDuration())

	m, err := esm.Start(ctx, client, fn, esm.Config{
		Stream:                     "events",
		BatchSize:                  1000,
		ReportBatchItemFailures:    true,
		MaximumRetryAttempts:       3,
		BisectBatchOnFunctionError: true,
		OnFailure:                  esm.DirDestination(".local/dlq/ingest"),
		FunctionARN:                fn.ARN(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	// ... producers write to the stream ...
	if err := m.WaitIdle(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", m.Stats())
}
