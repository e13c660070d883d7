// Command promote is the Lambda triggered by objects created in the cleansed zone: it
// brings each named partition of the curated zone up to date (deduplicated, PII policy applied,
// compacted), converting only the cleansed files not yet promoted. See shared/promote.
package main

import (
	"context"
	"os"
	"runtime/debug"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/iceberg/gluecatalog"
	"github.com/sluicelake/sluice/shared/piikey"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/startup"
	"github.com/sluicelake/sluice/shared/tracing"
)

func main() {
	env := startup.Start("promote", tracing.InstrumentAWS)
	key, err := piikey.Read(context.Background(), env.AWS, env.Getenv)
	if err != nil {
		env.Fatal("load the PII key", err)
	}
	if err := promote.CheckKey(env.Contracts, key); err != nil {
		env.Fatal("configuration", err)
	}
	// Curated file and batch sizes follow the function's memory unless set; the garbage
	// collector holds the heap under three quarters of it, the rest being the binary's pages,
	// stacks and the runtime's own (a heap allowed 90% peaked at 110% of a 128 MB function).
	mem := env.Int("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
	target, step := promote.ForMemory(mem)
	if v := env.Int(envvar.PromoteTargetBytes); v > 0 {
		target = int64(v)
	}
	if v := env.Int(envvar.PromoteStepBytes); v > 0 {
		step = int64(v)
	}
	if mem > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(mem) << 20 * 3 / 4)
	}
	p := &promote.Promoter{
		Contracts:   env.Contracts,
		Cleansed:    env.Bucket(envvar.CleansedBucket),
		Curated:     env.Bucket(envvar.CuratedBucket),
		PIIKey:      key,
		TargetBytes: target,
		StepBytes:   step,
		Log:         env.Log,
	}
	if db := env.Getenv(envvar.IcebergGlueDatabase); db != "" {
		p.Catalog = gluecatalog.Curated(env.AWS, db, env.Getenv)
	}
	lambda.Start(newHandler(p, env.Log, os.Stdout).handle)
}
