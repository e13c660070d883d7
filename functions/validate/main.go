// Command validate is the Lambda triggered by files dropped into the raw zone's landing/ prefix
// (S3 notifications, EventBridge "Object Created", or either through SQS): it validates every
// record against its dataset's contract and writes cleansed Parquet, quarantine and a report.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/filedrop"
	"github.com/sluicelake/sluice/shared/startup"
	"github.com/sluicelake/sluice/shared/tracing"
)

func main() {
	env := startup.Start("validate", tracing.InstrumentAWS)
	v := &filedrop.Validator{
		Contracts:      env.Contracts,
		Raw:            env.Bucket(envvar.RawBucket),
		Cleansed:       env.Bucket(envvar.CleansedBucket),
		Quarantine:     env.Bucket(envvar.QuarantineBucket),
		ChunkRows:      env.Int(envvar.ValidateChunkRows),
		MaxGunzipBytes: int64(env.Int(envvar.ValidateMaxGunzipBytes)),
		Log:            env.Log,
	}
	lambda.Start(newHandler(v, env.Log, os.Stdout).handle)
}
