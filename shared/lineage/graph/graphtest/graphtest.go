// Package graphtest is a small lineage graph for tests of the lineage table and view: the
// rows the lineage function would write for one hour of a lake, and a writer that lays them out
// as the local lake does (<lake dir>/lineage/lineage/dt=…/hr=…/<id>.json.gz).
//
// Two paths feed curated/user_events:
//
//	stream kinesis://eu-west-1/sluice-events, shard 0, records 100-199 (100 records)
//	  ├─ firehose ─► s3://raw/firehose/…/archive-1.parquet                 (100 rows)
//	  └─ ingest ───► s3://cleansed/user_events/…/shardId-000000000000-100.parquet (95 rows)
//	               ► s3://quarantine/user_events/…/shardId-000000000000-100.json (5 rows)
//	upload (root) ► s3://raw/landing/user_events/drop.csv                   (50 rows)
//	  └─ validate ─► s3://cleansed/user_events/…/landing-drop.parquet       (48 rows)
//	               ► s3://quarantine/user_events/…/landing-drop.json        (2 rows)
//	promote, both cleansed objects, 55 minutes later (hour 10)
//	               ► s3://curated/user_events/…/part-0.parquet (140 rows: 3 duplicates dropped)
//
// Each edge's input_rows are the rows of that input that went into that output.
package graphtest

import (
	"os"
	"path/filepath"
	"time"

	"github.com/sluicelake/sluice/shared/lineage/table"
)

// At is when the first object was created.
var At = time.Date(2026, 11, 23, 9, 10, 0, 0, time.UTC)

// Object keys of the chain, by what they are.
const (
	Stream         = "sluice-events"
	StreamNS       = "kinesis://eu-west-1"
	Shard          = "shardId-000000000000"
	Archive        = "firehose/user_events/dt=2026-11-23/hr=09/archive-1.parquet"
	CleansedStream = "user_events/dt=2026-11-23/hr=09/shardId-000000000000-100.parquet"
	QuarStream     = "user_events/dt=2026-11-23/hr=09/shardId-000000000000-100.json"
	Drop           = "landing/user_events/drop.csv"
	CleansedDrop   = "user_events/dt=2026-11-23/hr=09/landing-drop.parquet"
	QuarDrop       = "user_events/dt=2026-11-23/hr=09/landing-drop.json"
	Curated        = "user_events/dt=2026-11-23/hr=10/part-0.parquet"
)

func n(v int64) *int64 { return &v }

func row(at time.Duration, run, job, zone, key string, rows int64) table.Row {
	return table.Row{EventTime: At.Add(at), EventType: "COMPLETE", RunID: run, JobNamespace: "sluice", JobName: job,
		OutputNamespace: "s3://" + zone, OutputName: key, OutputZone: zone, OutputDataset: "user_events",
		OutputVersion: `"` + run + `"`, OutputRows: n(rows)}
}

func fromStream(r table.Row, rows int64) table.Row {
	r.InputNamespace, r.InputName, r.InputShard = StreamNS, Stream, Shard
	r.InputFirstSequence, r.InputLastSequence, r.InputRows = "100", "199", n(rows)
	r.InputDataset = "user_events"
	return r
}

func fromObject(r table.Row, zone, key string, rows int64) table.Row {
	r.InputNamespace, r.InputName, r.InputZone, r.InputDataset, r.InputRows = "s3://"+zone, key, zone, "user_events", n(rows)
	return r
}

// Events are the chain's lineage objects: one per OpenLineage event, by id.
func Events() map[string][]table.Row {
	return map[string][]table.Row{
		"firehose-1": {fromStream(row(0, "run-firehose", "firehose", "raw", Archive, 100), 100)},
		"ingest-c":   {fromStream(row(time.Second, "run-ingest", "ingest", "cleansed", CleansedStream, 95), 95)},
		"ingest-q":   {fromStream(row(time.Second, "run-ingest", "ingest", "quarantine", QuarStream, 5), 5)},
		"upload-1":   {row(2*time.Minute, "run-upload", "upload", "raw", Drop, 50)},
		"validate-c": {fromObject(row(3*time.Minute, "run-validate", "validate", "cleansed", CleansedDrop, 48), "raw", Drop, 48)},
		"validate-q": {fromObject(row(3*time.Minute, "run-validate", "validate", "quarantine", QuarDrop, 2), "raw", Drop, 2)},
		"promote-1": {
			fromObject(row(55*time.Minute, "run-promote", "promote", "curated", Curated, 140), "cleansed", CleansedStream, 95),
			fromObject(row(55*time.Minute, "run-promote", "promote", "curated", Curated, 140), "cleansed", CleansedDrop, 48),
		},
	}
}

// WriteLake writes events as the lineage function would into a local lake directory and
// returns the paths written.
func WriteLake(dir string, events map[string][]table.Row) ([]string, error) {
	var paths []string
	for id, rows := range events {
		data, err := table.Encode(rows)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, string(table.Zone), filepath.FromSlash(table.Key(rows[0].EventTime, id)))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}
