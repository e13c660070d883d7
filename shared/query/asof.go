package query

import (
	"bytes"
	"encoding/json"

	"strconv"
	"time"

	"github.com/sluicelake/sluice/shared/zone"
)

// AsOf is a state of a curated Iceberg table: a snapshot id, or the snapshot current at a time.
type AsOf struct {
	SnapshotID int64
	Time       time.Time
}

// SQL is Athena's time-travel clause for the state, written after the table name. Both values
// are checked (an int64, a parsed time), so they are written as literals: Athena takes no
// parameter there.
func (a *AsOf) SQL() string {
	if a.SnapshotID != 0 {
		return "FOR VERSION AS OF " + strconv.FormatInt(a.SnapshotID, 10)
	}
	return "FOR TIMESTAMP AS OF TIMESTAMP '" + a.Time.UTC().Format("2006-01-02 15:04:05.000") + " UTC'"
}

// parseAsOf reads as_of: a JSON number is a snapshot id, a string an RFC 3339 time. Only the
// curated zone has snapshots.
func parseAsOf(raw json.RawMessage, z zone.Zone) (*AsOf, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if z != zone.Curated {
		return nil, invalid("as_of", "zone %s keeps no snapshots: time travel reads the curated zone's Iceberg tables", z)
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, invalid("as_of", "not a JSON string: %v", err)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, invalid("as_of", "%q is not an RFC 3339 time such as 2026-12-05T08:00:00Z (or give a snapshot id as a number)", clip(s))
		}
		return &AsOf{Time: t.UTC()}, nil
	}
	id, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || id <= 0 {
		return nil, invalid("as_of", "give a snapshot id (a positive whole number, from GET /tables/{dataset}/history) or an RFC 3339 time string, not %s", clip(string(raw)))
	}
	return &AsOf{SnapshotID: id}, nil
}

// WithoutAsOf is sql with the time-travel clause taken out, for an engine that binds the
// table to the snapshot's files itself (the local one).
func (q *Query) WithoutAsOf() string {
	if q.AsOf == nil {
		return q.SQL
	}
	return string(bytes.Replace([]byte(q.SQL), []byte(" "+q.AsOf.SQL()), nil, 1))
}
