package lakehost

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/firehose"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/zone"
)

// startArchive starts the local Firehose: its own reader of the stream, writing the raw bucket
// through the event tap like the functions (so lineage sees its objects). It uses the host's
// credentials until the host gives each writer its own identity.
func startArchive(ctx context.Context, l *Lake, cfg Config) (*firehose.Stream, error) {
	if cfg.ArchiveDataset == "" {
		cfg.ArchiveDataset = "user_events"
	}
	if cfg.ArchiveScale == 0 {
		cfg.ArchiveScale = 0.01
	}
	reg, err := events.Registry()
	if err != nil {
		return nil, err
	}
	c := reg[cfg.ArchiveDataset]
	if c == nil {
		return nil, fmt.Errorf("archive dataset %q has no contract in events/", cfg.ArchiveDataset)
	}
	fh, err := firehose.Start(ctx, l.KinesisClient, firehose.Config{
		Name: "sluice-archive", Stream: cfg.Stream, Contract: c,
		Store: s3store.New(l.S3Client, Buckets[zone.Raw]), Scale: cfg.ArchiveScale,
		Poll: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(cfg.Logs, nil)),
	})
	if err != nil {
		return nil, fmt.Errorf("start the local Firehose: %w", err)
	}
	l.closers = append(l.closers, fh.Close)
	return fh, nil
}
