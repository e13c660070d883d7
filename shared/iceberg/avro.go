package iceberg

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"
)

// Manifest entry statuses.
const (
	statusExisting = 0
	statusAdded    = 1
	statusDeleted  = 2
)

// DataFile is one data file of a table.
type DataFile struct {
	// Path is the file's full location: s3://bucket/key.
	Path string `json:"path"`
	// Partition holds the partition values by partition field name (for hour(ts): hours since
	// the epoch).
	Partition map[string]int `json:"partition"`
	Records   int64          `json:"records"`
	Size      int64          `json:"size"`
	// Set when read from a manifest: the snapshot that added the file and its sequence numbers.
	SnapshotID     int64 `json:"snapshot_id,omitempty"`
	SequenceNumber int64 `json:"sequence_number,omitempty"`
	FileSequence   int64 `json:"file_sequence_number,omitempty"`
}

type manifestEntry struct {
	Status             int         `avro:"status"`
	SnapshotID         *int64      `avro:"snapshot_id"`
	SequenceNumber     *int64      `avro:"sequence_number"`
	FileSequenceNumber *int64      `avro:"file_sequence_number"`
	DataFile           dataFileRec `avro:"data_file"`
}

type dataFileRec struct {
	Content         int            `avro:"content"`
	FilePath        string         `avro:"file_path"`
	FileFormat      string         `avro:"file_format"`
	Partition       map[string]any `avro:"partition"`
	RecordCount     int64          `avro:"record_count"`
	FileSizeInBytes int64          `avro:"file_size_in_bytes"`
}

type manifestFile struct {
	Path              string          `avro:"manifest_path"`
	Length            int64           `avro:"manifest_length"`
	SpecID            int             `avro:"partition_spec_id"`
	Content           int             `avro:"content"`
	SequenceNumber    int64           `avro:"sequence_number"`
	MinSequenceNumber int64           `avro:"min_sequence_number"`
	AddedSnapshotID   int64           `avro:"added_snapshot_id"`
	AddedFiles        int             `avro:"added_files_count"`
	ExistingFiles     int             `avro:"existing_files_count"`
	DeletedFiles      int             `avro:"deleted_files_count"`
	AddedRows         int64           `avro:"added_rows_count"`
	ExistingRows      int64           `avro:"existing_rows_count"`
	DeletedRows       int64           `avro:"deleted_rows_count"`
	Partitions        *[]fieldSummary `avro:"partitions"`
}

type fieldSummary struct {
	ContainsNull bool    `avro:"contains_null"`
	ContainsNaN  *bool   `avro:"contains_nan"`
	LowerBound   *[]byte `avro:"lower_bound"`
	UpperBound   *[]byte `avro:"upper_bound"`
}

// manifestSchema is the v2 manifest entry schema for spec (the partition record depends on
// it). Field ids are the spec's; readers match columns by them.
func manifestSchema(spec *PartitionSpec) (avro.Schema, error) {
	var parts []map[string]any
	for _, f := range spec.Fields {
		// Every transform sluice uses (hour) yields an int.
		parts = append(parts, map[string]any{"name": f.Name, "type": "int", "field-id": f.FieldID})
	}
	if parts == nil {
		parts = []map[string]any{}
	}
	opt := func(name, typ string, id int) map[string]any {
		return map[string]any{"name": name, "type": []any{"null", typ}, "default": nil, "field-id": id}
	}
	s := map[string]any{
		"type": "record", "name": "manifest_entry",
		"fields": []any{
			map[string]any{"name": "status", "type": "int", "field-id": 0},
			opt("snapshot_id", "long", 1),
			opt("sequence_number", "long", 3),
			opt("file_sequence_number", "long", 4),
			map[string]any{"name": "data_file", "field-id": 2, "type": map[string]any{
				"type": "record", "name": "r2",
				"fields": []any{
					map[string]any{"name": "content", "type": "int", "field-id": 134},
					map[string]any{"name": "file_path", "type": "string", "field-id": 100},
					map[string]any{"name": "file_format", "type": "string", "field-id": 101},
					map[string]any{"name": "partition", "field-id": 102, "type": map[string]any{"type": "record", "name": "r102", "fields": parts}},
					map[string]any{"name": "record_count", "type": "long", "field-id": 103},
					map[string]any{"name": "file_size_in_bytes", "type": "long", "field-id": 104},
				}}},
		}}
	b, _ := json.Marshal(s)
	return avro.Parse(string(b))
}

var manifestListSchema = avro.MustParse(`{"type":"record","name":"manifest_file","fields":[
 {"name":"manifest_path","type":"string","field-id":500},
 {"name":"manifest_length","type":"long","field-id":501},
 {"name":"partition_spec_id","type":"int","field-id":502},
 {"name":"content","type":"int","field-id":517},
 {"name":"sequence_number","type":"long","field-id":515},
 {"name":"min_sequence_number","type":"long","field-id":516},
 {"name":"added_snapshot_id","type":"long","field-id":503},
 {"name":"added_files_count","type":"int","field-id":504},
 {"name":"existing_files_count","type":"int","field-id":505},
 {"name":"deleted_files_count","type":"int","field-id":506},
 {"name":"added_rows_count","type":"long","field-id":512},
 {"name":"existing_rows_count","type":"long","field-id":513},
 {"name":"deleted_rows_count","type":"long","field-id":514},
 {"name":"partitions","type":["null",{"type":"array","element-id":508,"items":{"type":"record","name":"r508","fields":[
   {"name":"contains_null","type":"boolean","field-id":509},
   {"name":"contains_nan","type":["null","boolean"],"default":null,"field-id":518},
   {"name":"lower_bound","type":["null","bytes"],"default":null,"field-id":510},
   {"name":"upper_bound","type":["null","bytes"],"default":null,"field-id":511}]}}],"default":null,"field-id":507}
]}`)

// writeManifest encodes entries as a manifest of spec under schema.
func writeManifest(schema *Schema, spec *PartitionSpec, entries []manifestEntry) ([]byte, error) {
	as, err := manifestSchema(spec)
	if err != nil {
		return nil, fmt.Errorf("iceberg: manifest schema: %w", err)
	}
	sj, _ := json.Marshal(schema)
	pj, _ := json.Marshal(spec.Fields)
	var buf bytes.Buffer
	enc, err := ocf.NewEncoderWithSchema(as, &buf, ocf.WithCodec(ocf.Deflate), ocf.WithMetadata(map[string][]byte{
		"schema": sj, "schema-id": []byte(strconv.Itoa(schema.SchemaID)),
		"partition-spec": pj, "partition-spec-id": []byte(strconv.Itoa(spec.SpecID)),
		"format-version": []byte("2"), "content": []byte("data"),
	}))
	if err != nil {
		return nil, fmt.Errorf("iceberg: manifest: %w", err)
	}
	for i := range entries {
		if err := enc.Encode(&entries[i]); err != nil {
			return nil, fmt.Errorf("iceberg: encode manifest entry %s: %w", entries[i].DataFile.FilePath, err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("iceberg: manifest: %w", err)
	}
	return buf.Bytes(), nil
}

func readManifest(b []byte) ([]manifestEntry, error) {
	dec, err := ocf.NewDecoder(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("iceberg: manifest is not an Avro file: %w", err)
	}
	var out []manifestEntry
	for dec.HasNext() {
		var e manifestEntry
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("iceberg: decode manifest entry: %w", err)
		}
		out = append(out, e)
	}
	return out, dec.Error()
}

func writeManifestList(snapshotID int64, parent *int64, seq int64, files []manifestFile) ([]byte, error) {
	meta := map[string][]byte{"snapshot-id": []byte(strconv.FormatInt(snapshotID, 10)),
		"sequence-number": []byte(strconv.FormatInt(seq, 10)), "format-version": []byte("2")}
	if parent != nil {
		meta["parent-snapshot-id"] = []byte(strconv.FormatInt(*parent, 10))
	}
	var buf bytes.Buffer
	enc, err := ocf.NewEncoderWithSchema(manifestListSchema, &buf, ocf.WithCodec(ocf.Deflate), ocf.WithMetadata(meta))
	if err != nil {
		return nil, fmt.Errorf("iceberg: manifest list: %w", err)
	}
	for i := range files {
		if err := enc.Encode(&files[i]); err != nil {
			return nil, fmt.Errorf("iceberg: encode manifest list entry: %w", err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("iceberg: manifest list: %w", err)
	}
	return buf.Bytes(), nil
}

func readManifestList(b []byte) ([]manifestFile, error) {
	dec, err := ocf.NewDecoder(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("iceberg: manifest list is not an Avro file: %w", err)
	}
	var out []manifestFile
	for dec.HasNext() {
		var f manifestFile
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("iceberg: decode manifest list entry: %w", err)
		}
		out = append(out, f)
	}
	return out, dec.Error()
}

// partitionSummaries bounds each partition field over files, in Iceberg's single-value
// binary form (an int is 4 bytes little-endian), so readers skip manifests by partition.
func partitionSummaries(spec *PartitionSpec, files []DataFile) *[]fieldSummary {
	out := make([]fieldSummary, 0, len(spec.Fields))
	for _, f := range spec.Fields {
		var lo, hi int
		for i, d := range files {
			v := d.Partition[f.Name]
			if i == 0 || v < lo {
				lo = v
			}
			if i == 0 || v > hi {
				hi = v
			}
		}
		s := fieldSummary{}
		if len(files) > 0 {
			l, h := binary.LittleEndian.AppendUint32(nil, uint32(int32(lo))), binary.LittleEndian.AppendUint32(nil, uint32(int32(hi)))
			s.LowerBound, s.UpperBound = &l, &h
		}
		out = append(out, s)
	}
	return &out
}
