// Command validate is the Lambda triggered by files dropped into the raw zone's landing/ prefix
// (S3 notifications, EventBridge "Object Created", or either through SQS): it validates every
// record against its dataset's contract and writes cleansed Parquet, quarantine and a report.
package main

import (
	"context"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/filedrop"
	"github.com/sluicelake/sluice/shared/memlimit"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/obs"
)

func main() {
	ctx := context.Background()
	memlimit.Apply()
	log := obs.NewLogger(os.Stdout, "validate")
	contracts, err := events.Registry()
	if err != nil {
		fatal(log, "load contracts", err)
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		fatal(log, "load AWS configuration", err)
	}
	s3 := awsconfig.NewS3Client(cfg)
	v := &filedrop.Validator{
		Contracts:      contracts,
		Raw:            s3store.New(s3, mustEnv(log, "SLUICE_RAW_BUCKET")),
		Cleansed:       s3store.New(s3, mustEnv(log, "SLUICE_CLEANSED_BUCKET")),
		Quarantine:     s3store.New(s3, mustEnv(log, "SLUICE_QUARANTINE_BUCKET")),
		ChunkRows:      intEnv(log, "SLUICE_VALIDATE_CHUNK_ROWS"),
		MaxGunzipBytes: int64(intEnv(log, "SLUICE_VALIDATE_MAX_GUNZIP_BYTES")),
		Log:            log,
	}
	lambda.Start(newHandler(v, log, os.Stdout).handle)
}

// intEnv reads an optional positive number; unset means the default.
func intEnv(log interface{ Error(string, ...any) }, name string) int {
	s := os.Getenv(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		log.Error("configuration failed", "error", name+" must be a positive whole number, got "+strconv.Quote(s))
		os.Exit(1)
	}
	return n
}
