package lakehost

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicelake/sluice/localstack/firehose"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/zone"
)

// startArchive starts a local Firehose named name: its own reader of stream, archiving dataset, writing the raw bucket
// through the event tap like the functions (so lineage sees its objects). It uses the host's
// credentials until the host gives each writer its own identity.
func startArchive(ctx context.Context, l *Lake, cfg Config, name, stream, dataset string) (*firehose.Stream, error) {
	if cfg.ArchiveScale == 0 {
		cfg.ArchiveScale = 0.01
	}
	c := cfg.Contracts[dataset]
	if c == nil {
		return nil, fmt.Errorf("archive dataset %q has no contract in events/ (or Config.Contracts)", dataset)
	}
	fh, err := firehose.Start(ctx, l.KinesisClient, firehose.Config{
		Name: name, Stream: stream, Contract: c,
		Store: s3store.New(l.S3Client, Buckets[zone.Raw]), Scale: cfg.ArchiveScale,
		Poll: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(cfg.Logs, nil)),
	})
	if err != nil {
		return nil, fmt.Errorf("start the local Firehose of %s: %w", stream, err)
	}
	l.closers = append(l.closers, fh.Close)
	return fh, nil
}
