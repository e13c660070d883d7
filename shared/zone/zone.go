// Package zone knows the lake's zones and how object keys are laid out inside them.
//
// Each zone is its own bucket. Inside it, keys are Hive style and partitioned on the event's own
// time, so that Athena's partition projection finds them without a crawler:
//
//	<dataset>/dt=YYYY-MM-DD/hr=HH/<name>
package zone

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Zone names a stage of the lake.
type Zone string

const (
	Raw        Zone = "raw"        // as landed: the Firehose archive and file drops
	Cleansed   Zone = "cleansed"   // typed and valid
	Curated    Zone = "curated"    // deduplicated, PII policy applied, compacted
	Quarantine Zone = "quarantine" // rejected records, each with its reason
)

// Consumption (gold) holds the summary tables (shared/summary): aggregated and joined from
// curated, one folder per summary, <summary>/dt=YYYY-MM-DD/<name> by day. It is not in All:
// it holds no dataset's records, only tables computed from them, so nothing that walks a
// dataset's zones (promotion, the catalog's zones of a dataset, quarantine) looks there.
const Consumption Zone = "consumption"

// Unknown is the quarantine dataset of records whose dataset could not be told. Like every
// key of the lake's own bookkeeping (locks, manifests, reports) it starts with an underscore,
// which keeps it out of every table; unlike those, it holds data.
const Unknown = "_unknown"

// IsBookkeeping reports whether key is one of the lake's own bookkeeping objects rather than
// data: a key starting with an underscore, other than the Unknown dataset's, or a curated
// table's metadata (<dataset>/metadata/…: Iceberg metadata, manifests, catalog pointer).
func IsBookkeeping(key string) bool {
	if _, rest, ok := strings.Cut(key, "/"); ok && strings.HasPrefix(rest, TableMetadata+"/") {
		return true
	}
	return strings.HasPrefix(key, "_") && !strings.HasPrefix(key, Unknown+"/")
}

// TableData and TableMetadata are the folders of a curated (Iceberg) table under its dataset:
// <dataset>/data/dt=…/hr=…/<file> and <dataset>/metadata/<file>.
const (
	TableData     = "data"
	TableMetadata = "metadata"
)

// All lists the zones in flow order.
var All = []Zone{Raw, Cleansed, Curated, Quarantine}

// Partition is an hour of event time.
type Partition struct {
	Date string // YYYY-MM-DD, UTC
	Hour int    // 0-23
}

// PartitionOf returns the partition of an instant given in ms since the epoch.
func PartitionOf(ms int64) Partition {
	t := time.UnixMilli(ms).UTC()
	return Partition{Date: t.Format(time.DateOnly), Hour: t.Hour()}
}

// Path is the partition's part of a key: dt=2026-11-23/hr=09.
func (p Partition) Path() string { return fmt.Sprintf("dt=%s/hr=%02d", p.Date, p.Hour) }

// Prefix is where a dataset's partition lives in its zone's bucket.
func Prefix(dataset string, p Partition) string { return dataset + "/" + p.Path() + "/" }

// Key is the full key of an object.
func Key(dataset string, p Partition, name string) string { return Prefix(dataset, p) + name }

// ParseKey splits a key made by Key. Keys of other shapes are an error that says which.
//
// A curated table's data file, <dataset>/data/dt=YYYY-MM-DD/hr=HH/<name>, parses the same way.
func ParseKey(key string) (dataset string, p Partition, name string, err error) {
	parts := strings.Split(key, "/")
	if len(parts) == 5 && parts[1] == TableData {
		parts = append(parts[:1], parts[2:]...)
	}
	if len(parts) != 4 || !strings.HasPrefix(parts[1], "dt=") || !strings.HasPrefix(parts[2], "hr=") {
		return "", p, "", fmt.Errorf("key %q is not <dataset>/dt=YYYY-MM-DD/hr=HH/<name>", key)
	}
	p.Date = strings.TrimPrefix(parts[1], "dt=")
	if _, err := time.Parse(time.DateOnly, p.Date); err != nil {
		return "", p, "", fmt.Errorf("key %q: bad dt: %w", key, err)
	}
	p.Hour, err = strconv.Atoi(strings.TrimPrefix(parts[2], "hr="))
	if err != nil || p.Hour < 0 || p.Hour > 23 {
		return "", p, "", fmt.Errorf("key %q: hr must be 00-23", key)
	}
	return parts[0], p, parts[3], nil
}

// StreamObjectName names the object that holds a stream batch's rows of one partition. It is
// made of the position of the partition's first record, so that a redelivered batch rewrites
// the same object instead of adding a copy.
func StreamObjectName(shard, firstSequence, ext string) string {
	return shard + "-" + firstSequence + ext
}
