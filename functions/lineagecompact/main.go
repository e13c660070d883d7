// Command lineagecompact is the Lambda a schedule (EventBridge, hourly) invokes to compact the
// lineage dataset: each closed hour's lineage objects become one Parquet generation
// (shared/lineage/compact). It is a sibling of the lineage function rather than a mode of it,
// so that the lineage function, which runs on every object, stays small and links no Parquet.
//
// SLUICE_LINEAGE_BUCKET names the lineage bucket; SLUICE_COMPACT_LOOKBACK_HOURS (default 48)
// and SLUICE_COMPACT_MAX_OBJECTS (default 5000) bound a run.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/lineage/compact"
	"github.com/sluicelake/sluice/shared/startup"
)

func main() {
	env := startup.Start("lineagecompact")
	opts := compact.Options{Lookback: env.Int(envvar.CompactLookbackHours), MaxObjects: env.Int(envvar.CompactMaxObjects)}
	lambda.Start(newHandler(env.Bucket(envvar.LineageBucket), opts, env.Log, os.Stdout).handle)
}
