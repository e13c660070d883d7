// Package cdc reads Debezium change events: the envelope with before, after, op, ts_ms and
// source, as JSON with or without Kafka Connect's schema/payload wrapper, and tombstones. A
// change becomes one flat record of its dataset's contract: the row image (after, or before for
// a delete) plus the operation, the source's position and the source's time, so that the
// cleansed zone keeps every change with what is needed to apply changes in order later.
//
// A dataset is a change stream when its contract declares the fields OpField (an enum of c, r,
// u, d), PositionField (a string) and SourceTimeField (a timestamp, usually the event time).
// Positions are strings that sort as the source orders its changes (see Position).
package cdc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/record"
)

// The fields a change stream's contract declares for what a change adds to its row.
const (
	OpField         = "cdc_op"        // c (create), r (read, a snapshot row), u (update), d (delete)
	PositionField   = "cdc_position"  // the source's position, as a string that sorts in the source's order
	SourceTimeField = "cdc_source_ts" // when the change happened in the source database (source.ts_ms)
)

// Reasons a change event is quarantined. Codes are stable, as record's are.
const (
	// Tombstone: a null value, which Debezium sends after a delete so that log compaction can
	// drop the key. The delete itself came as a change; the tombstone adds nothing to store.
	Tombstone record.Code = "cdc_tombstone"
	// NotAChange: JSON that is not a Debezium change envelope.
	NotAChange record.Code = "cdc_not_a_change"
	// UnsupportedOp: an operation that changes no row (t truncate, m message).
	UnsupportedOp record.Code = "cdc_unsupported_op"
	// MissingImage: a create, read or update without after, or a delete without before.
	MissingImage record.Code = "cdc_missing_image"
)

// Op is a change's operation.
type Op string

// Operations that change a row.
const (
	Create Op = "c"
	Read   Op = "r" // a row of the initial snapshot
	Update Op = "u"
	Delete Op = "d"
)

// Change is one decoded change event.
type Change struct {
	Op            Op
	Before, After json.RawMessage // row images; nil when absent or null
	TsMs          int64           // when the connector handled the change
	Source        Source
}

// Source is the envelope's source block: where and when the change happened.
type Source struct {
	Connector string `json:"connector"`
	DB        string `json:"db"`
	Schema    string `json:"schema"`
	Table     string `json:"table"`
	TsMs      int64  `json:"ts_ms"`
	Snapshot  any    `json:"snapshot"` // "true", "false", "last", or a boolean in older versions
	// PostgreSQL
	LSN *uint64 `json:"lsn"`
	// MySQL
	File string `json:"file"`
	Pos  *int64 `json:"pos"`
	Row  int64  `json:"row"`
	// SQL Server
	ChangeLSN     string `json:"change_lsn"`
	CommitLSN     string `json:"commit_lsn"`
	EventSerialNo int64  `json:"event_serial_no"`
	// Oracle, Db2 and the like
	SCN string `json:"scn"`
	// MongoDB
	Ord int64 `json:"ord"`
}

// envelope is the change as Debezium writes it; payload is set when the Kafka Connect JSON
// converter wraps it with its schema.
type envelope struct {
	Schema  json.RawMessage `json:"schema"`
	Payload json.RawMessage `json:"payload"`
	Before  json.RawMessage `json:"before"`
	After   json.RawMessage `json:"after"`
	Source  *Source         `json:"source"`
	Op      *string         `json:"op"`
	TsMs    int64           `json:"ts_ms"`
}

func reject(code record.Code, format string, a ...any) *record.Reject {
	return &record.Reject{Code: code, Detail: fmt.Sprintf(format, a...)}
}

// Decode reads one Kafka value as a Debezium change event.
func Decode(value []byte) (Change, *record.Reject) {
	v := bytes.TrimSpace(value)
	if len(v) == 0 || string(v) == "null" {
		return Change{}, reject(Tombstone, "a null value: Debezium's tombstone after a delete, which the delete event itself already carries")
	}
	var e envelope
	if err := json.Unmarshal(v, &e); err != nil {
		return Change{}, reject(NotAChange, "not a JSON object: %v", err)
	}
	if e.Op == nil && len(e.Payload) > 0 {
		// The schema/payload wrapper of Kafka Connect's JSON converter (schemas.enable=true).
		p := bytes.TrimSpace(e.Payload)
		if string(p) == "null" {
			return Change{}, reject(Tombstone, "a null payload: Debezium's tombstone after a delete, which the delete event itself already carries")
		}
		e = envelope{}
		if err := json.Unmarshal(p, &e); err != nil {
			return Change{}, reject(NotAChange, "the payload is not a JSON object: %v", err)
		}
	}
	if e.Op == nil {
		return Change{}, reject(NotAChange, `no "op": not a Debezium change event (with or without the schema/payload wrapper)`)
	}
	c := Change{Op: Op(*e.Op), Before: image(e.Before), After: image(e.After), TsMs: e.TsMs}
	if e.Source != nil {
		c.Source = *e.Source
	}
	switch c.Op {
	case Create, Read, Update:
		if c.After == nil {
			return Change{}, reject(MissingImage, "op %q without an after image", c.Op)
		}
	case Delete:
		if c.Before == nil {
			return Change{}, reject(MissingImage, `a delete without a before image: the key cannot be told (PostgreSQL: REPLICA IDENTITY DEFAULT or FULL; MySQL: binlog_row_image=FULL)`)
		}
	default:
		return Change{}, reject(UnsupportedOp, "op %q changes no row (c, r, u and d do)", c.Op)
	}
	return c, nil
}

// image is a row image, nil when absent or null; an image that is not an object is kept and
// refused when flattened.
func image(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// Position is the change's place in the source's order as a string that sorts the same way,
// from what the connector gives: PostgreSQL's LSN, MySQL's binlog file, position and row, SQL
// Server's commit and change LSNs and event serial number, an SCN, or MongoDB's ordinal; else the
// source's time. Positions of one source table compare; a snapshot's rows share a position and
// are told apart by their time.
func (c Change) Position() string {
	s := c.Source
	switch {
	case s.LSN != nil:
		return fmt.Sprintf("%020d", *s.LSN)
	case s.File != "" && s.Pos != nil:
		// mysql-bin.000003: the index sorts as a number whatever its width.
		base, idx := s.File, int64(0)
		if i := strings.LastIndexByte(s.File, '.'); i >= 0 {
			if n, err := strconv.ParseInt(s.File[i+1:], 10, 64); err == nil {
				base, idx = s.File[:i], n
			}
		}
		return fmt.Sprintf("%s.%019d:%019d:%010d", base, idx, *s.Pos, s.Row)
	case s.CommitLSN != "" || s.ChangeLSN != "":
		return fmt.Sprintf("%s:%s:%010d", s.CommitLSN, s.ChangeLSN, s.EventSerialNo)
	case s.SCN != "":
		return fmt.Sprintf("%030s", s.SCN)
	case s.Ord != 0:
		return fmt.Sprintf("%020d:%010d", s.TsMs, s.Ord)
	}
	return fmt.Sprintf("%020d", s.TsMs)
}

// IsChangeStream reports whether c declares the fields a change adds to its row.
func IsChangeStream(c *contract.Contract) bool {
	return CheckContract(c) == nil
}

// CheckContract says what a contract lacks to be a change stream.
func CheckContract(c *contract.Contract) error {
	want := []struct {
		name string
		ok   func(f contract.Field) bool
		is   string
	}{
		{OpField, func(f contract.Field) bool {
			return f.Kind == contract.Enum && !f.Nullable && slices.Equal(sortedCopy(f.Symbols), []string{"c", "d", "r", "u"})
		}, `a required enum with the symbols c, r, u and d`},
		{PositionField, func(f contract.Field) bool { return f.Kind == contract.String && !f.Nullable }, "a required string"},
		{SourceTimeField, func(f contract.Field) bool { return f.Kind == contract.Timestamp && !f.Nullable }, "a required timestamp-millis"},
	}
	for _, w := range want {
		f, ok := c.Field(w.name)
		if !ok || !w.ok(*f) {
			return fmt.Errorf("cdc: contract %s is not a change stream: it needs the field %s, %s", c.Name, w.name, w.is)
		}
	}
	return nil
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// AppendRecord appends the change as one JSON record of its change stream: the row image's
// fields, then OpField, PositionField and SourceTimeField. A field of the image with one of
// those names is refused rather than overwritten.
func (c Change) AppendRecord(dst []byte) ([]byte, *record.Reject) {
	img := c.After
	if c.Op == Delete {
		img = c.Before
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(img, &members); err != nil {
		return dst, reject(MissingImage, "the row image is not a JSON object: %v", err)
	}
	for _, name := range []string{OpField, PositionField, SourceTimeField} {
		if _, ok := members[name]; ok {
			return dst, reject(record.DuplicateKey, "the source row has a column %s, which the change stream uses for the change itself", name)
		}
	}
	// The image is copied as it came (its members in their order), then the change's fields.
	body := bytes.TrimSpace(img)
	body = bytes.TrimSpace(body[:len(body)-1]) // drop the closing brace
	dst = append(dst, body...)
	if len(members) > 0 {
		dst = append(dst, ',')
	}
	ts := c.Source.TsMs
	if ts == 0 {
		ts = c.TsMs
	}
	for i, kv := range [][2]string{{OpField, string(c.Op)}, {PositionField, c.Position()},
		{SourceTimeField, time.UnixMilli(ts).UTC().Format("2006-01-02T15:04:05.000Z")}} {
		if i > 0 {
			dst = append(dst, ',')
		}
		v, _ := json.Marshal(kv[1]) // a string: cannot fail
		dst = append(append(append(dst, '"'), kv[0]...), '"', ':')
		dst = append(dst, v...)
	}
	return append(dst, '}'), nil
}
