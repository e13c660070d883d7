// Package quarantine encodes rejected records: the original bytes, why, and where they came from.
//
// A quarantine object is gzip'd JSON lines, one Entry a line, so Athena's JSON SerDe or zcat | jq
// can read it. Nothing is lost: the original bytes are kept whole (base64), whatever they were.
package quarantine

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// Ext is the file extension of quarantine objects.
const Ext = ".jsonl.gz"

// Source says where a record came from.
type Source struct {
	Kind string `json:"kind"` // "kinesis", "kafka" or "s3"
	// Kinesis
	Stream       string    `json:"stream,omitempty"`
	Shard        string    `json:"shard,omitempty"`
	Sequence     string    `json:"sequence,omitempty"`
	PartitionKey string    `json:"partition_key,omitempty"`
	Arrival      time.Time `json:"arrival,omitzero"`
	// Kafka (Arrival is the record's timestamp)
	Topic     string `json:"topic,omitempty"`
	Partition *int32 `json:"partition,omitempty"` // pointers: partition and offset 0 are real positions
	Offset    *int64 `json:"offset,omitempty"`
	// S3
	Bucket  string `json:"bucket,omitempty"`
	Key     string `json:"key,omitempty"`
	Version string `json:"version,omitempty"`
	Line    int64  `json:"line,omitempty"` // 1-based line or row within the object
}

// Entry is one rejected record.
type Entry struct {
	Reason   string `json:"reason"` // a record.Code or a whole-file reason
	Field    string `json:"field,omitempty"`
	Detail   string `json:"detail"`
	Dataset  string `json:"dataset,omitempty"`
	Contract string `json:"contract_version,omitempty"`
	Source   Source `json:"source"`
	// Original is the record exactly as received.
	Original []byte `json:"original"`
	// Preview is the start of the record as text, for people; absent when not UTF-8.
	Preview string `json:"preview,omitempty"`
}

// PreviewOf is the first bytes of b when they are text.
func PreviewOf(b []byte) string {
	const n = 256
	if len(b) > n {
		b = b[:n]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1] // don't cut a character in half
		}
	}
	if !utf8.Valid(b) {
		return ""
	}
	return string(b)
}

// Encode writes entries as gzip'd JSON lines. The same entries give the same bytes.
func Encode(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	for i := range entries {
		if err := enc.Encode(&entries[i]); err != nil {
			return nil, fmt.Errorf("quarantine: encode entry %d: %w", i, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decode reads what Encode wrote.
func Decode(r io.Reader) ([]Entry, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("quarantine: not gzip: %w", err)
	}
	var out []Entry
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("quarantine: line %d: %w", len(out)+1, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}
