package iceberg

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// PartitionField is one field of a partition spec: a transform of a source column.
type PartitionField struct {
	SourceID  int    `json:"source-id"`
	FieldID   int    `json:"field-id"`
	Name      string `json:"name"`
	Transform string `json:"transform"`
}

// PartitionSpec says how data files are partitioned.
type PartitionSpec struct {
	SpecID int              `json:"spec-id"`
	Fields []PartitionField `json:"fields"`
}

// SortOrder is the (empty) sort order the spec requires a table to declare.
type SortOrder struct {
	OrderID int   `json:"order-id"`
	Fields  []any `json:"fields"`
}

// Snapshot is one state of a table.
type Snapshot struct {
	SnapshotID       int64             `json:"snapshot-id"`
	ParentSnapshotID *int64            `json:"parent-snapshot-id,omitempty"`
	SequenceNumber   int64             `json:"sequence-number"`
	TimestampMs      int64             `json:"timestamp-ms"`
	ManifestList     string            `json:"manifest-list"`
	Summary          map[string]string `json:"summary"`
	SchemaID         *int              `json:"schema-id,omitempty"`
}

// Operation is the summary's "operation" of a snapshot.
func (s *Snapshot) Operation() string { return s.Summary["operation"] }

// LogEntry is one entry of the snapshot log.
type LogEntry struct {
	TimestampMs int64 `json:"timestamp-ms"`
	SnapshotID  int64 `json:"snapshot-id"`
}

// MetadataLogEntry is one entry of the metadata log: an earlier metadata file.
type MetadataLogEntry struct {
	TimestampMs  int64  `json:"timestamp-ms"`
	MetadataFile string `json:"metadata-file"`
}

// Ref is a named pointer to a snapshot; sluice keeps one, the main branch.
type Ref struct {
	SnapshotID int64  `json:"snapshot-id"`
	Type       string `json:"type"`
}

// Metadata is a table metadata file (format version 2).
type Metadata struct {
	FormatVersion      int                `json:"format-version"`
	TableUUID          string             `json:"table-uuid"`
	Location           string             `json:"location"`
	LastSequenceNumber int64              `json:"last-sequence-number"`
	LastUpdatedMs      int64              `json:"last-updated-ms"`
	LastColumnID       int                `json:"last-column-id"`
	Schemas            []Schema           `json:"schemas"`
	CurrentSchemaID    int                `json:"current-schema-id"`
	PartitionSpecs     []PartitionSpec    `json:"partition-specs"`
	DefaultSpecID      int                `json:"default-spec-id"`
	LastPartitionID    int                `json:"last-partition-id"`
	Properties         map[string]string  `json:"properties,omitempty"`
	CurrentSnapshotID  *int64             `json:"current-snapshot-id,omitempty"`
	Snapshots          []Snapshot         `json:"snapshots"`
	SnapshotLog        []LogEntry         `json:"snapshot-log"`
	MetadataLog        []MetadataLogEntry `json:"metadata-log"`
	SortOrders         []SortOrder        `json:"sort-orders"`
	DefaultSortOrderID int                `json:"default-sort-order-id"`
	Refs               map[string]Ref     `json:"refs,omitempty"`
}

// firstPartitionFieldID is where the spec starts partition field ids.
const firstPartitionFieldID = 1000

// PropNameMapping is the table property readers use to find columns of files without field ids.
const PropNameMapping = "schema.name-mapping.default"

// NewMetadata describes a new, empty table at location (s3://bucket/<dataset>) with schema s,
// partitioned on the hour of the timestamp column eventTime, or unpartitioned when eventTime
// is empty (a change stream's table, whose rows move when their key's event time does).
//
// Only hour(eventTime) is declared, not day(eventTime) beside it: the hour determines the day,
// and Iceberg's reference implementation refuses two time transforms of one column as
// redundant. Data files are still laid out as dt=/hr= folders, as in the other zones.
func NewMetadata(location string, s *Schema, lastColumnID int, eventTime string, now time.Time) (*Metadata, error) {
	spec := PartitionSpec{SpecID: 0, Fields: []PartitionField{}}
	if eventTime != "" {
		ts, ok := s.Field(eventTime)
		if !ok {
			return nil, fmt.Errorf("iceberg: the event-time field %q is not a column of the table: check the contract's sluice.eventTime", eventTime)
		}
		if ts.Type != "timestamptz" && ts.Type != "timestamp" {
			return nil, fmt.Errorf("iceberg: the event-time field %q is %v, not a timestamp", eventTime, ts.Type)
		}
		spec.Fields = append(spec.Fields, PartitionField{SourceID: ts.ID, FieldID: firstPartitionFieldID, Name: eventTime + "_hour", Transform: "hour"})
	}
	s.SchemaID = 0
	m := &Metadata{
		FormatVersion:   2,
		TableUUID:       uuid.NewString(),
		Location:        location,
		LastUpdatedMs:   now.UnixMilli(),
		LastColumnID:    lastColumnID,
		Schemas:         []Schema{*s},
		PartitionSpecs:  []PartitionSpec{spec},
		LastPartitionID: firstPartitionFieldID - 1 + len(spec.Fields),
		Properties: map[string]string{
			"write.format.default":            "parquet",
			"write.parquet.compression-codec": "zstd",
			PropNameMapping:                   nameMapping([]Schema{*s}),
		},
		Snapshots:   []Snapshot{},
		SnapshotLog: []LogEntry{},
		MetadataLog: []MetadataLogEntry{},
		SortOrders:  []SortOrder{{OrderID: 0, Fields: []any{}}},
	}
	return m, nil
}

// ParseMetadata reads a metadata file and checks the fields sluice relies on.
func ParseMetadata(b []byte) (*Metadata, error) {
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("iceberg: table metadata is not valid JSON: %w", err)
	}
	if m.FormatVersion != 2 {
		return nil, fmt.Errorf("iceberg: table metadata has format-version %d; sluice reads and writes version 2 only", m.FormatVersion)
	}
	if m.Location == "" || len(m.Schemas) == 0 || len(m.PartitionSpecs) == 0 {
		return nil, fmt.Errorf("iceberg: table metadata lacks location, schemas or partition-specs: it was not written by an Iceberg writer")
	}
	return &m, nil
}

// Schema returns the schema with the given id.
func (m *Metadata) Schema(id int) (*Schema, bool) {
	for i := range m.Schemas {
		if m.Schemas[i].SchemaID == id {
			return &m.Schemas[i], true
		}
	}
	return nil, false
}

// CurrentSchema is the schema new data is written with.
func (m *Metadata) CurrentSchema() *Schema {
	s, _ := m.Schema(m.CurrentSchemaID)
	return s
}

// Spec is the default partition spec.
func (m *Metadata) Spec() *PartitionSpec {
	for i := range m.PartitionSpecs {
		if m.PartitionSpecs[i].SpecID == m.DefaultSpecID {
			return &m.PartitionSpecs[i]
		}
	}
	return &m.PartitionSpecs[0]
}

// Current returns the current snapshot, or nil for a table with no data yet.
func (m *Metadata) Current() *Snapshot {
	if m.CurrentSnapshotID == nil {
		return nil
	}
	return m.Snapshot(*m.CurrentSnapshotID)
}

// Snapshot returns the snapshot with the given id, or nil.
func (m *Metadata) Snapshot(id int64) *Snapshot {
	for i := range m.Snapshots {
		if m.Snapshots[i].SnapshotID == id {
			return &m.Snapshots[i]
		}
	}
	return nil
}

// SnapshotAsOf returns the snapshot that was current at t: the last one the snapshot log
// shows made current at or before t. It returns nil when the table had no snapshot then.
func (m *Metadata) SnapshotAsOf(t time.Time) *Snapshot {
	var found *Snapshot
	for _, e := range m.SnapshotLog {
		if e.TimestampMs <= t.UnixMilli() {
			if s := m.Snapshot(e.SnapshotID); s != nil {
				found = s
			}
		}
	}
	return found
}

// SetSchema makes s the current schema, adding it as a new schema version unless the current
// one has the same fields. It reports whether the schema changed.
func (m *Metadata) SetSchema(s *Schema, lastColumnID int) bool {
	if cur := m.CurrentSchema(); cur != nil && sameFields(cur, s) {
		return false
	}
	id := 0
	for _, old := range m.Schemas {
		id = max(id, old.SchemaID+1)
	}
	s.SchemaID = id
	m.Schemas = append(m.Schemas, *s)
	m.CurrentSchemaID = id
	m.LastColumnID = max(m.LastColumnID, lastColumnID)
	if m.Properties == nil {
		m.Properties = map[string]string{}
	}
	m.Properties[PropNameMapping] = nameMapping(m.Schemas)
	return true
}

// clone deep-copies m through JSON, so a plan that fails leaves the loaded metadata as it was.
func (m *Metadata) clone() *Metadata {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	out, err := ParseMetadata(b)
	if err != nil {
		panic(err)
	}
	return out
}

// addSnapshot appends s and makes it current on main.
func (m *Metadata) addSnapshot(s Snapshot) {
	m.Snapshots = append(m.Snapshots, s)
	m.SnapshotLog = append(m.SnapshotLog, LogEntry{TimestampMs: s.TimestampMs, SnapshotID: s.SnapshotID})
	m.LastSequenceNumber = s.SequenceNumber
	m.LastUpdatedMs = s.TimestampMs
	id := s.SnapshotID
	m.CurrentSnapshotID = &id
	m.Refs = map[string]Ref{"main": {SnapshotID: id, Type: "branch"}}
}

// History is one snapshot as the history lists it.
type History struct {
	SnapshotID   int64     `json:"snapshot_id"`
	ParentID     *int64    `json:"parent_id,omitempty"`
	Time         time.Time `json:"time"`
	Operation    string    `json:"operation"`
	AddedFiles   int64     `json:"added_files"`
	DeletedFiles int64     `json:"deleted_files"`
	AddedRows    int64     `json:"added_rows"`
	DeletedRows  int64     `json:"deleted_rows"`
	TotalRows    int64     `json:"total_rows"`
	TotalFiles   int64     `json:"total_files"`
	// Run is the promotion (or rollback, or maintenance) run that made the snapshot.
	Run string `json:"run,omitempty"`
	// Current marks the table's current snapshot.
	Current bool `json:"current"`
	// RolledBackTo is the snapshot whose state a rollback snapshot restored.
	RolledBackTo *int64 `json:"rolled_back_to,omitempty"`
}

// Summary keys sluice writes beside the spec's own.
const (
	SummaryRun        = "sluice.run-id"
	SummaryRollbackTo = "sluice.rollback-to-snapshot-id"
)

// History lists the table's snapshots oldest first.
func (m *Metadata) History() []History {
	out := make([]History, 0, len(m.Snapshots))
	for _, s := range m.Snapshots {
		h := History{SnapshotID: s.SnapshotID, ParentID: s.ParentSnapshotID, Time: time.UnixMilli(s.TimestampMs).UTC(),
			Operation: s.Operation(), Run: s.Summary[SummaryRun],
			AddedFiles: num(s.Summary, "added-data-files"), DeletedFiles: num(s.Summary, "deleted-data-files"),
			AddedRows: num(s.Summary, "added-records"), DeletedRows: num(s.Summary, "deleted-records"),
			TotalRows: num(s.Summary, "total-records"), TotalFiles: num(s.Summary, "total-data-files"),
			Current: m.CurrentSnapshotID != nil && *m.CurrentSnapshotID == s.SnapshotID}
		if v, err := strconv.ParseInt(s.Summary[SummaryRollbackTo], 10, 64); err == nil {
			h.RolledBackTo = &v
		}
		out = append(out, h)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

func num(m map[string]string, k string) int64 {
	v, _ := strconv.ParseInt(m[k], 10, 64)
	return v
}
