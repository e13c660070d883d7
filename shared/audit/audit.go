// Package audit is the lake's record of who read what: one row per query API request, allowed
// or refused, with the caller, what the request touched (datasets, zones, columns), the compiled
// SQL's hash, the bytes scanned and the outcome. Rows are gzip'd JSON lines in the audit bucket
// under audit/dt=/hr=/, one object per request, so the audit table reads like the lineage table,
// by callers the access rules allow (zone audit).
package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/zone"
)

const (
	// Dataset and Zone name the table, audit_audit.
	Dataset = "audit"
	// Zone is the audit table's own zone; access.Audit names the same.
	Zone zone.Zone = "audit"
	// TimeFormat is how event_time is written (as the lineage table writes it).
	TimeFormat = "2006-01-02 15:04:05.000"
	// Ext ends every audit object's name.
	Ext = ".json.gz"
	// MaxRequest bounds the request body kept.
	MaxRequest = 4 << 10
)

// Outcomes.
const (
	OK       = "ok"
	Denied   = "denied"
	Invalid  = "invalid"
	NotFound = "not_found"
	Error    = "error"
)

// Record is one request.
type Record struct {
	Time         time.Time `json:"-"`
	RequestID    string    `json:"request_id"`
	Caller       string    `json:"caller"`
	Method       string    `json:"method"`
	Path         string    `json:"path"`
	Request      string    `json:"request,omitempty"`
	SQLHash      string    `json:"sql_sha256,omitempty"`
	QueryID      string    `json:"query_id,omitempty"`
	Datasets     string    `json:"datasets,omitempty"`
	Zones        string    `json:"zones,omitempty"`
	Columns      string    `json:"columns,omitempty"`
	BytesScanned int64     `json:"bytes_scanned"`
	Status       int       `json:"status"`
	Outcome      string    `json:"outcome"`
	Reason       string    `json:"reason,omitempty"`
}

type plain Record

// MarshalJSON writes event_time in TimeFormat, UTC.
func (r Record) MarshalJSON() ([]byte, error) {
	p := plain(r)
	return json.Marshal(struct {
		EventTime string `json:"event_time"`
		*plain
	}{r.Time.UTC().Format(TimeFormat), &p})
}

// UnmarshalJSON reads event_time in TimeFormat.
func (r *Record) UnmarshalJSON(data []byte) error {
	w := struct {
		EventTime string `json:"event_time"`
		*plain
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	t, err := time.Parse(TimeFormat, w.EventTime)
	if err != nil {
		return fmt.Errorf("audit: event_time %q is not %q", w.EventTime, TimeFormat)
	}
	r.Time = t.UTC()
	return nil
}

// HashSQL is the sql_sha256 of a compiled query.
func HashSQL(sql string) string {
	sum := sha256.Sum256([]byte(sql))
	return hex.EncodeToString(sum[:])
}

// Key is where a request's record goes: under the hour it arrived, named by time and id so a
// listing reads in order.
func Key(r *Record) string {
	t := r.Time.UTC()
	return zone.Key(Dataset, zone.Partition{Date: t.Format(time.DateOnly), Hour: t.Hour()},
		t.Format("20060102T150405.000Z")+"-"+r.RequestID+Ext)
}

// Encode writes records as gzip'd JSON lines.
func Encode(rs ...Record) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	for i := range rs {
		if err := enc.Encode(rs[i]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decode reads what Encode wrote.
func Decode(data []byte) ([]Record, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("audit: not gzip: %w", err)
	}
	dec := json.NewDecoder(zr)
	var out []Record
	for dec.More() {
		var r Record
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("audit: record %d: %w", len(out), err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Sink keeps records.
type Sink interface {
	Write(ctx context.Context, r Record) error
}

// Store writes each record as its own object: a request is recorded before its answer leaves,
// and no record waits in memory for a batch that a frozen Lambda might never send.
type Store struct {
	Objects objectstore.Store
}

// Write puts the record under Key.
func (s Store) Write(ctx context.Context, r Record) error {
	body, err := Encode(r)
	if err != nil {
		return err
	}
	// Write-once: a record, once kept, is never replaced (a repeated request id is an error).
	if _, err := s.Objects.Put(ctx, Key(&r), body, objectstore.PutOptions{ContentType: "application/gzip", IfNoneMatch: true}); err != nil {
		return fmt.Errorf("audit: write the record of request %s: %w", r.RequestID, err)
	}
	return nil
}

//go:embed audit.avsc
var schema []byte

var (
	once   sync.Once
	parsed *contract.Contract
)

// Contract is the audit table's contract.
func Contract() *contract.Contract {
	once.Do(func() {
		c, err := contract.Parse("shared/audit/audit.avsc", schema)
		if err != nil {
			panic(err) // the embedded schema is checked by the tests
		}
		parsed = c
	})
	return parsed
}
