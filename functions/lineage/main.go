// Command lineage is the Lambda triggered by every object created in a zone (EventBridge
// "Object Created" events through SQS, or S3 notifications): it records the object's lineage
// as an OpenLineage run event in the lineage dataset and forwards it to an OpenLineage endpoint
// when SLUICE_OPENLINEAGE_URL is set.
//
// It is not traced with the X-Ray SDK, which would triple its size; Lambda's active tracing
// still records each invocation.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/lineage"
	"github.com/sluicelake/sluice/shared/startup"
	"github.com/sluicelake/sluice/shared/zone"
)

func main() {
	env := startup.Start("lineage")
	zones := map[string]lineage.Zone{}
	for z, name := range map[zone.Zone]string{zone.Raw: envvar.RawBucket, zone.Cleansed: envvar.CleansedBucket,
		zone.Curated: envvar.CuratedBucket, zone.Quarantine: envvar.QuarantineBucket, zone.Consumption: envvar.ConsumptionBucket} {
		s := env.Bucket(name)
		zones[s.Bucket()] = lineage.Zone{Zone: z, Store: s}
	}
	r := &lineage.Recorder{
		Zones:     zones,
		Store:     env.Bucket(envvar.LineageBucket),
		Contracts: env.Contracts,
		Stream:    env.Getenv(envvar.StreamName),
		Region:    os.Getenv("AWS_REGION"),
		Log:       env.Log,
	}
	sink, err := lineage.SinkFromEnv(env.Getenv)
	if err != nil {
		env.Fatal("configure the OpenLineage endpoint", err)
	}
	r.Sink = sink
	lambda.Start(newHandler(r, env.Log, os.Stdout).handle)
}
