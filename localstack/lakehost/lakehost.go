// Package lakehost runs the whole lake on one machine, without Docker or an AWS account: real
// stand-ins for the AWS APIs on 127.0.0.1 (kinesis-mock for Kinesis, versitygw over plain files
// for S3), the built function binaries driven through the Lambda Runtime API, and an event
// source mapping that feeds them from the stream the way Lambda does.
package lakehost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/apigw"
	"github.com/sluicelake/sluice/localstack/esm"
	"github.com/sluicelake/sluice/localstack/firehose"
	"github.com/sluicelake/sluice/localstack/kafkaesm"
	"github.com/sluicelake/sluice/localstack/kafkalocal"
	"github.com/sluicelake/sluice/localstack/kinesislocal"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/localstack/s3events"
	"github.com/sluicelake/sluice/localstack/s3iam"
	"github.com/sluicelake/sluice/localstack/s3local"
	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/piikey"
	"github.com/sluicelake/sluice/shared/streammap"
	"github.com/sluicelake/sluice/shared/streamput"
	"github.com/sluicelake/sluice/shared/zone"
)

// Buckets are the local bucket names: one per zone, as in the deployed stack, plus lineage and
// the query API's audit trail.
var Buckets = map[zone.Zone]string{
	zone.Raw: "raw", zone.Cleansed: "cleansed", zone.Curated: "curated", zone.Quarantine: "quarantine",
	table.Zone: "lineage", audit.Zone: "audit", zone.Consumption: "consumption",
}

// Config says where things are and how the mapping behaves.
type Config struct {
	// Dir holds the lake: one folder per bucket, one file per object. Default .local/lake.
	Dir string
	// BinDir holds the built functions as <BinDir>/<name>/bootstrap.
	BinDir string
	// Stream and Shards name and size the stream. Defaults sluice-events, 2.
	Stream string
	Shards int
	// DefaultDataset is ingest's dataset for records without _dataset. Default user_events.
	DefaultDataset string
	// BatchSize and BatchWindow drive the event source mapping. Defaults 500 and 250 ms.
	BatchSize   int
	BatchWindow time.Duration
	// S3Endpoint, when set, is given to the functions instead of the stand-in's own endpoint
	// (a fault-injecting proxy in front of it, say).
	S3Endpoint func(standIn string) string
	// Template, when set, is a synthesized CloudFormation template (make synth writes
	// infra/cdk.out/sluice-dev.template.json): each function then runs under its own
	// credentials and every S3 call is authorized against its role's policies there, as in
	// AWS (see localstack/s3iam). Denials() lists what was refused.
	Template string
	// Logs receives the functions' output and the mapping's log. Default io.Discard.
	Logs io.Writer
	// ToolsDir is where `make tools` put the npm stand-ins ("" finds it).
	ToolsDir string
	// OpenLineageURL, when set, is where the lineage function also posts its events.
	OpenLineageURL string
	// ArchiveDataset is the dataset the local Firehose archives, as the stack's archiveDataset.
	// Default user_events.
	ArchiveDataset string
	// DatasetStreams gives datasets streams of their own besides the shared Stream: dataset →
	// stream name. nil gives every contract in events/ its own, DatasetStream(dataset); an
	// empty map none (every dataset on the shared stream, named by _dataset).
	DatasetStreams map[string]string
	// Contracts are the lake's datasets by name; nil means the contracts embedded from events/.
	// Give the registry the functions in BinDir were built with (a module copy with a new
	// contract, say): streams, archives and Produce follow it.
	Contracts map[string]*contract.Contract
	// ArchiveScale scales the stack's Firehose buffering hints (300 s, 128 MB) for the local
	// archive. Default 0.01 (3 s, 1.28 MB); negative runs no archive.
	ArchiveScale float64
	// KafkaTopics, when set, starts a Kafka broker stand-in with these topics (topic →
	// dataset) and a Kafka event source mapping feeding ingest from them (kafka.go).
	KafkaTopics map[string]string
}

// Lake is a running local lake.
type Lake struct {
	cfg     Config
	S3      *s3local.Server
	Kinesis *kinesislocal.Server
	// KinesisClient and S3Client talk to the stand-ins.
	KinesisClient *kinesis.Client
	S3Client      *s3.Client
	Ingest        *runtimeapi.Function
	// Validate runs when its binary was built; file drops under raw landing/ trigger it.
	Validate *runtimeapi.Function
	// Promote runs when its binary was built; every cleansed Parquet object triggers it.
	Promote *runtimeapi.Function
	// Lineage runs when its binary was built; every object created in a zone triggers it
	// (an instance per zone). This is the curated zone's instance.
	Lineage *runtimeapi.Function
	// Collect runs when its binary was built: the HTTP ingestion API (see EventsAPI).
	Collect *runtimeapi.Function
	// Maintainer runs when its binary was built, on Maintain calls: the deployed schedule's
	// run (curated table maintenance).
	Maintainer *runtimeapi.Function
	Mapping    *esm.Mapping
	// Archive is the local Firehose: the stream's raw archive under archive/ in the raw bucket.
	Archive *firehose.Stream
	// Streams says which stream carries which dataset; Mappings and Archives are by stream
	// name, every stream's (Mapping and Archive are the shared stream's).
	Streams  streammap.Map
	Mappings map[string]*esm.Mapping
	Archives map[string]*firehose.Stream
	// Events announces objects created in the stand-in, as S3 notifications do.
	Events *s3events.Tap
	// IAM authorizes the functions' S3 calls, between the event tap and the stand-in, when
	// Config.Template is set: a denied write is never announced, and announced ETags are the
	// ones clients see.
	IAM      *s3iam.Front
	template *roleTemplate
	// Kafka is the broker stand-in and KafkaMapping the mapping reading its topics, when
	// Config.KafkaTopics names any.
	Kafka        *kafkalocal.Broker
	KafkaMapping *kafkaesm.Mapping
	// DLQDir holds the batches the mapping gave up on, one JSON file each.
	DLQDir  string
	closers []func() error
	// piiKey is the key promote hashes PII with (this run's), which erasure needs too.
	piiKey []byte
}

// Start brings the lake up. Close it to stop everything it started.
func Start(ctx context.Context, cfg Config) (l *Lake, err error) {
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(".local", "lake")
	}
	if cfg.Stream == "" {
		cfg.Stream = "sluice-events"
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 2
	}
	if cfg.DefaultDataset == "" {
		cfg.DefaultDataset = "user_events"
	}
	if cfg.ArchiveDataset == "" {
		cfg.ArchiveDataset = "user_events"
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.BatchWindow == 0 {
		cfg.BatchWindow = 250 * time.Millisecond
	}
	if cfg.Logs == nil {
		cfg.Logs = io.Discard
	}
	if cfg.Contracts == nil {
		if cfg.Contracts, err = events.Registry(); err != nil {
			return nil, err
		}
	}
	// Absolute paths: the S3 stand-in changes the working directory while it runs.
	if cfg.Dir, err = filepath.Abs(cfg.Dir); err != nil {
		return nil, err
	}
	if cfg.BinDir, err = filepath.Abs(cfg.BinDir); err != nil {
		return nil, err
	}
	if cfg.Template != "" {
		if cfg.Template, err = filepath.Abs(cfg.Template); err != nil {
			return nil, err
		}
	}
	binary := filepath.Join(cfg.BinDir, "ingest", "bootstrap")
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("no built ingest function at %s: run `make build` first (%w)", binary, err)
	}
	l = &Lake{cfg: cfg, DLQDir: filepath.Join(cfg.Dir, "..", "dlq")}
	started := l
	defer func() {
		if err != nil {
			started.Close() // l is nil by now: the error returns replaced it
		}
	}()
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(l.DLQDir, 0o755); err != nil {
		return nil, err
	}

	// Kinesis first: the S3 stand-in changes the working directory, and the Kinesis starter finds
	// its tools folder from there.
	if l.Kinesis, err = kinesislocal.Start(ctx, kinesislocal.Options{ToolsDir: cfg.ToolsDir}); err != nil {
		return nil, fmt.Errorf("start the Kinesis stand-in: %w", err)
	}
	l.closers = append(l.closers, l.Kinesis.Close)
	l.KinesisClient = kinesislocal.NewClient(l.Kinesis.Endpoint)
	if err := kinesislocal.CreateStream(ctx, l.KinesisClient, cfg.Stream, cfg.Shards); err != nil {
		return nil, fmt.Errorf("create stream %s: %w", cfg.Stream, err)
	}
	if l.Streams, err = streamsOf(cfg); err != nil {
		return nil, err
	}
	if err := l.createDatasetStreams(ctx); err != nil {
		return nil, err
	}

	if l.S3, err = s3local.Start(ctx, cfg.Dir); err != nil {
		return nil, fmt.Errorf("start the S3 stand-in: %w", err)
	}
	l.closers = append(l.closers, l.S3.Close)
	l.S3Client = l.S3.Client()
	for _, b := range Buckets {
		if err := l.S3.CreateBucket(ctx, b); err != nil {
			return nil, fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	// Raw, cleansed and curated are versioned, as the template makes them: promote rewrites
	// curated files, each event names the version lineage must read, and erasure must find
	// and delete the old versions that still hold an erased key.
	for _, z := range []zone.Zone{zone.Raw, zone.Cleansed, zone.Curated} {
		if err := l.S3.EnableVersioning(ctx, Buckets[z]); err != nil {
			return nil, err
		}
	}

	s3Endpoint := l.S3.Endpoint()
	if cfg.S3Endpoint != nil {
		s3Endpoint = cfg.S3Endpoint(s3Endpoint)
	}
	direct := l.S3Client
	if cfg.Template != "" {
		if err := l.enforce(s3Endpoint); err != nil {
			return nil, err
		}
		s3Endpoint = l.IAM.Endpoint
		direct = l.adminClient(s3Endpoint) // the tap's Head sees the ETags clients see
	}
	// Everything writes through the event tap, so that every object created is announced.
	l.Events, err = s3events.Start(s3Endpoint, s3events.Config{
		Region: l.S3.Region, DeadLetterDir: filepath.Join(l.DLQDir, "s3-events"),
		Logger: slog.New(slog.NewTextHandler(cfg.Logs, nil)),
		Head: func(ctx context.Context, bucket, key string) (int64, string, error) {
			out, err := direct.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
			if err != nil {
				return 0, "", err
			}
			return aws.ToInt64(out.ContentLength), strings.Trim(aws.ToString(out.ETag), `"`), nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("start the S3 event tap: %w", err)
	}
	l.closers = append(l.closers, l.Events.Close)
	l.S3Client = l.adminClient(l.Events.Endpoint)

	function := func(name, binary string, memory int, timeout time.Duration, env ...string) (*runtimeapi.Function, error) {
		accessKey, secret, err := l.credentialsOf(name)
		if err != nil {
			return nil, err
		}
		fn, err := runtimeapi.Start(ctx, runtimeapi.Config{
			Name: "sluice-" + name, Binary: binary, Timeout: timeout, MemorySize: memory,
			Region: l.S3.Region, Stdout: cfg.Logs, Stderr: cfg.Logs,
			Env: append([]string{
				"AWS_ENDPOINT_URL_S3=" + l.Events.Endpoint,
				"AWS_ACCESS_KEY_ID=" + accessKey,
				"AWS_SECRET_ACCESS_KEY=" + secret,
				"AWS_SESSION_TOKEN=",
				envvar.Tracing + "=off",
			}, append(l.resourceEnvList(), env...)...),
		})
		if err != nil {
			return nil, fmt.Errorf("start the %s function: %w", name, err)
		}
		l.closers = append(l.closers, fn.Close)
		return fn, nil
	}
	ingestEnv := append([]string{envvar.DefaultDataset + "=" + cfg.DefaultDataset,
		envvar.DatasetStreams + "=" + l.Streams.Encode()}, l.kafkaEnv()...)
	if l.Ingest, err = function("ingest", binary, 256, 60*time.Second, ingestEnv...); err != nil {
		return nil, err
	}
	if validate := filepath.Join(cfg.BinDir, "validate", "bootstrap"); exists(validate) {
		if l.Validate, err = function("validate", validate, 512, 300*time.Second); err != nil {
			return nil, err
		}
		l.Events.Subscribe(s3events.Subscription{Name: "validate", Bucket: Buckets[zone.Raw], Prefix: "landing/",
			Deliver: invoker(l.Validate)})
	}
	if promote := filepath.Join(cfg.BinDir, "promote", "bootstrap"); exists(promote) {
		key := os.Getenv(envvar.PIIKey)
		if key == "" {
			// Configuration, never code: a fresh key per local run (hashes differ between runs).
			b := make([]byte, 32)
			rand.Read(b)
			key = hex.EncodeToString(b)
		}
		l.piiKey = piikey.Decode([]byte(key)) // as promote reads it
		if l.Promote, err = function("promote", promote, 1024, 300*time.Second, envvar.PIIKey+"="+key); err != nil {
			return nil, err
		}
		l.Events.Subscribe(s3events.Subscription{Name: "promote", Bucket: Buckets[zone.Cleansed], Suffix: ".parquet",
			Deliver: invoker(l.Promote)})
	}

	if lin := filepath.Join(cfg.BinDir, "lineage", "bootstrap"); exists(lin) {
		// Every zone, as the deployed rule; the lineage bucket is not one, so its own writes
		// never come back to it. One instance serves them all: an event names the version it
		// is about, so a curated event that waits behind cleansed ones still reads its own.
		if l.Lineage, err = function("lineage", lin, 128, 30*time.Second, envvar.OpenLineageURL+"="+cfg.OpenLineageURL); err != nil {
			return nil, err
		}
		for _, z := range append(slices.Clone(zone.All), zone.Consumption) {
			l.Events.Subscribe(s3events.Subscription{Name: "lineage-" + string(z), Bucket: Buckets[z], Deliver: invoker(l.Lineage)})
		}
	}

	if collect := filepath.Join(cfg.BinDir, "collect", "bootstrap"); exists(collect) {
		// Each dataset's records to its own stream, as the deployed function's settings say.
		if l.Collect, err = function("collect", collect, 256, 29*time.Second,
			"AWS_ENDPOINT_URL_KINESIS="+l.Kinesis.Endpoint, envvar.DatasetStreams+"="+l.Streams.Encode()); err != nil {
			return nil, err
		}
	}

	if mt := filepath.Join(cfg.BinDir, "maintain", "bootstrap"); exists(mt) {
		// The template's memory and timeout; no schedule locally: Maintain runs it.
		if l.Maintainer, err = function("maintain", mt, 1024, 900*time.Second); err != nil {
			return nil, err
		}
	}

	if cfg.ArchiveScale >= 0 {
		if err := l.startArchives(ctx); err != nil {
			return nil, err
		}
	}
	if err := l.startMappings(ctx); err != nil {
		return nil, err
	}
	if err := l.startKafka(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Produce writes amount fake records (a share bad) of the named datasets, each to its dataset's
// stream (the shared one for datasets without their own).
func (l *Lake) Produce(ctx context.Context, datasets string, amount int, bad float64, seed uint64, progress func(streamput.Stats)) (fake.Tally, streamput.Stats, error) {
	gens, err := fake.Generators(l.cfg.Contracts, datasets, fake.Options{Seed: seed, BadShare: bad})
	if err != nil {
		return nil, streamput.Stats{}, err
	}
	w := &multiWriter{l: l, progress: progress, writers: map[string]*streamput.Writer{}}
	tally, err := fake.Produce(ctx, gens, amount, func(ctx context.Context, r fake.Record) error {
		return w.put(ctx, r.Dataset, streamput.Entry{Data: r.Data, PartitionKey: r.PartitionKey})
	})
	if err == nil {
		err = w.flush(ctx)
	}
	return tally, w.stats(), err
}

// EventsAPI is POST /events and POST /events/{dataset} as the deployed HTTP API routes them:
// each request becomes an API Gateway payload 2.0 event for the built collect function. It is
// nil when collect was not built.
func (l *Lake) EventsAPI() http.Handler {
	if l.Collect == nil {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/events", apigw.Route{Fn: l.Collect, RouteKey: "POST /events"})
	mux.Handle("/events/", apigw.Route{Fn: l.Collect, RouteKey: "POST /events/{dataset}"})
	return mux
}

// WaitIdle returns once the mapping has delivered everything in the stream and every object
// created has been announced to its functions.
func (l *Lake) WaitIdle(ctx context.Context) error {
	for _, m := range l.Mappings {
		if err := m.WaitIdle(ctx); err != nil {
			return err
		}
	}
	for _, a := range l.Archives {
		if err := a.WaitIdle(ctx); err != nil {
			return err
		}
	}
	if l.KafkaMapping != nil {
		if err := l.KafkaMapping.WaitIdle(ctx); err != nil {
			return err
		}
	}
	return l.Events.WaitIdle(ctx)
}

// DropFile puts a file into the raw zone's landing area, as a producer of files would.
func (l *Lake) DropFile(ctx context.Context, dataset, name string, body []byte) error {
	key := "landing/" + dataset + "/" + name
	_, err := l.S3Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(Buckets[zone.Raw]), Key: &key, Body: bytes.NewReader(body)})
	return err
}

// invoker adapts a function to an event subscription: a function error is a failed delivery.
// scheduledEvent is what an EventBridge schedule sends a function.
const scheduledEvent = `{"version":"0","id":"00000000-0000-0000-0000-000000000000","detail-type":"Scheduled Event","source":"aws.events",` +
	`"account":"` + LocalAccount + `","time":"%s","region":"%s","resources":["arn:aws:events:%s:` + LocalAccount + `:rule/sluice-maintain"],"detail":{}}`

// Maintain runs table maintenance once, as the deployed schedule does, and returns each
// table's record (shared/maintain.Record as JSON).
func (l *Lake) Maintain(ctx context.Context) ([]byte, error) {
	if l.Maintainer == nil {
		return nil, fmt.Errorf("no maintain function: build it first (make build)")
	}
	event := fmt.Sprintf(scheduledEvent, time.Now().UTC().Format(time.RFC3339), l.S3.Region, l.S3.Region)
	res, err := l.Maintainer.Invoke(ctx, []byte(event))
	if err != nil {
		return nil, err
	}
	if res.FunctionError != nil {
		return res.Payload, res.FunctionError
	}
	return res.Payload, nil
}

func invoker(fn *runtimeapi.Function) func(context.Context, []byte) error {
	return func(ctx context.Context, payload []byte) error {
		res, err := fn.Invoke(ctx, payload)
		if err != nil {
			return err
		}
		if res.FunctionError != nil {
			return res.FunctionError
		}
		return nil
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Stream is the shared stream's name (records name their dataset in _dataset).
func (l *Lake) Stream() string { return l.cfg.Stream }

// Dir is where the lake's files are.
func (l *Lake) Dir() string { return l.cfg.Dir }

// Close stops everything Start started, the last first.
func (l *Lake) Close() error {
	var errs []error
	for i := len(l.closers) - 1; i >= 0; i-- {
		errs = append(errs, l.closers[i]())
	}
	l.closers = nil
	return errors.Join(errs...)
}
