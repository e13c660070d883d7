// Package startup is what every function does before it handles its first event: size the heap
// to the function, make the JSON logger, load the contracts and the AWS configuration. A failure
// here ends the process with one clear log line, which Lambda reports as an init error.
package startup

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/memlimit"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/obs"
)

// Env is a started function's shared equipment.
type Env struct {
	Log       *slog.Logger
	Contracts map[string]*contract.Contract
	AWS       aws.Config
	s3        *s3.Client
	name      string
}

// Start prepares the function called name. configure adjusts the AWS configuration before any
// client is made from it: functions pass tracing.InstrumentAWS to trace their AWS calls (a
// function that does not links no X-Ray SDK, which keeps its binary small).
func Start(name string, configure ...func(*aws.Config)) *Env {
	memlimit.Apply()
	e := &Env{Log: obs.NewLogger(os.Stdout, name), name: name}
	var err error
	if e.Contracts, err = events.Registry(); err != nil {
		e.Fatal("load contracts", err)
	}
	if e.AWS, err = awsconfig.Load(context.Background()); err != nil {
		e.Fatal("load AWS configuration", err)
	}
	for _, fn := range configure {
		fn(&e.AWS)
	}
	return e
}

// S3 is the S3 client, made on first use.
func (e *Env) S3() *s3.Client {
	if e.s3 == nil {
		e.s3 = awsconfig.NewS3Client(e.AWS)
	}
	return e.s3
}

// Bucket is the object store of the bucket named by the environment variable env, which must be set.
func (e *Env) Bucket(env string) objectstore.Store {
	return s3store.New(e.S3(), e.Must(env))
}

// Getenv reads an environment variable the function declares in envvar.Functions; reading
// one it does not declare ends the process, so that the stack and the function cannot drift
// apart (the functions' built-binary tests start every function).
func (e *Env) Getenv(name string) string {
	if err := envvar.Check(e.name, name); err != nil {
		e.Fatal("configuration", err)
	}
	return os.Getenv(name)
}

// Must returns a required environment variable.
func (e *Env) Must(name string) string {
	v := e.Getenv(name)
	if v == "" {
		e.Fatal("configuration", fmt.Errorf("environment variable %s is not set: the stack sets it; set it by hand to run the function elsewhere", name))
	}
	return v
}

// Fatal logs what failed and ends the process.
func (e *Env) Fatal(what string, err error) {
	e.Log.Error(what+" failed", "error", err)
	os.Exit(1)
}

// Int reads an optional positive whole number; unset is 0, which callers take as their default.
func (e *Env) Int(name string) int {
	s := e.Getenv(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		e.Fatal("configuration", fmt.Errorf("%s must be a positive whole number, got %q", name, s))
	}
	return n
}
