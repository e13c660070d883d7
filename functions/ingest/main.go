// Command ingest is the Kinesis- and Kafka-triggered Lambda: it validates stream records against
// their dataset contracts and writes them as Parquet to the cleansed zone, quarantining the rest.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/ingest"
	"github.com/sluicelake/sluice/shared/kafkawire"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/startup"
	"github.com/sluicelake/sluice/shared/streammap"
	"github.com/sluicelake/sluice/shared/tracing"
)

func main() {
	env := startup.Start("ingest", tracing.InstrumentAWS)
	streams, err := streammap.Parse(env.Getenv(envvar.DatasetStreams), env.Getenv(envvar.StreamName))
	if err != nil {
		env.Fatal("configuration", err)
	}
	topics, err := ingest.ParseTopics(env.Getenv(envvar.KafkaTopics), env.Contracts)
	if err != nil {
		env.Fatal("configuration", err)
	}
	schemas, err := kafkawire.ParseRegistry(env.Getenv(envvar.KafkaSchemaIDs), env.Contracts)
	if err != nil {
		env.Fatal("configuration", err)
	}
	p := &ingest.Processor{
		Contracts:  env.Contracts,
		Options:    record.Options{DefaultDataset: env.Getenv(envvar.DefaultDataset)},
		Cleansed:   env.Bucket(envvar.CleansedBucket),
		Quarantine: env.Bucket(envvar.QuarantineBucket),
		Log:        env.Log,
		Streams:    streams,
		Kafka:      ingest.Kafka{Topics: topics, Schemas: schemas},
	}
	lambda.Start(newHandler(p, env.Log, os.Stdout).handle)
}
