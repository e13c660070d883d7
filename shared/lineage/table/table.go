// Package table is the lake's lineage dataset: the row the lineage function writes for every
// edge of the lineage graph, the bytes it writes them as (gzip'd JSON lines, which Athena's JSON
// SerDe and DuckDB's read_json both read), where in the lineage bucket they go, and the dataset's
// contract, so that the query API serves the lineage table like any other.
package table

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/zone"
)

const (
	// Dataset is the lineage table's dataset name.
	Dataset = "lineage"
	// Zone is the lineage table's zone: its own, beside raw, cleansed and curated. The table is
	// <zone>_<dataset>, lineage_lineage, like every other table.
	Zone zone.Zone = "lineage"
	// TimeFormat is how event_time is written: UTC to the millisecond, without a zone, the form
	// the Hive JSON SerDe and DuckDB both read as a timestamp.
	TimeFormat = "2006-01-02 15:04:05.000"
	// Ext ends every lineage object's name.
	Ext = ".json.gz"
)

// Row is one edge of the lineage graph: an output object and one of its inputs. An event with n
// inputs is n rows; a root (no inputs) is one row with empty Input fields.
//
// OutputVersion, InputNamespace, InputName and InputShard are part of the table's key, so they
// are always written ("" when absent), never left out: a key column is never null.
type Row struct {
	EventTime       time.Time `json:"event_time"` // when the output object was created
	EventType       string    `json:"event_type"` // OpenLineage eventType, e.g. COMPLETE
	RunID           string    `json:"run_id"`
	JobNamespace    string    `json:"job_namespace"`    // "sluice"
	JobName         string    `json:"job_name"`         // ingest | validate | promote | firehose | upload
	OutputNamespace string    `json:"output_namespace"` // "s3://<bucket>"
	OutputName      string    `json:"output_name"`      // object key
	OutputZone      string    `json:"output_zone"`      // raw | cleansed | curated | quarantine
	OutputDataset   string    `json:"output_dataset"`
	OutputVersion   string    `json:"output_version"` // S3 version id or ETag
	OutputRows      *int64    `json:"output_rows,omitempty"`

	InputNamespace     string `json:"input_namespace"` // "s3://<bucket>" or "kinesis://<region>"
	InputName          string `json:"input_name"`      // object key, or stream name
	InputZone          string `json:"input_zone,omitempty"`
	InputDataset       string `json:"input_dataset,omitempty"`
	InputShard         string `json:"input_shard"` // stream inputs only
	InputFirstSequence string `json:"input_first_sequence,omitempty"`
	InputLastSequence  string `json:"input_last_sequence,omitempty"`
	InputVersion       string `json:"input_version,omitempty"` // the input object's ETag as read
	InputRows          *int64 `json:"input_rows,omitempty"`

	// Event is the whole OpenLineage event as JSON, on the first row of each event only.
	Event string `json:"event,omitempty"`
}

// plain is Row without its methods, so that MarshalJSON can reuse the encoder's handling of
// every other field.
type plain Row

// wire is a Row as written: its event_time field, being shallower, hides plain's.
type wire struct {
	EventTime string `json:"event_time"`
	*plain
}

// MarshalJSON writes EventTime in TimeFormat, UTC.
func (r Row) MarshalJSON() ([]byte, error) {
	p := plain(r)
	return json.Marshal(wire{EventTime: r.EventTime.UTC().Format(TimeFormat), plain: &p})
}

// UnmarshalJSON reads EventTime in TimeFormat (or RFC 3339, for hand-written rows).
func (r *Row) UnmarshalJSON(data []byte) error {
	w := wire{plain: (*plain)(r)}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	t, err := time.Parse(TimeFormat, w.EventTime)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, w.EventTime); err != nil {
			return fmt.Errorf("event_time %q is not %q (UTC) or RFC 3339", w.EventTime, TimeFormat)
		}
	}
	r.EventTime = t.UTC()
	return nil
}

// HasInput reports whether the row is an edge rather than a root's lone row.
func (r *Row) HasInput() bool { return r.InputName != "" }

// Check reports the first required field the row lacks.
func (r *Row) Check() error {
	for _, f := range []struct{ name, v string }{
		{"event_type", r.EventType}, {"run_id", r.RunID}, {"job_namespace", r.JobNamespace},
		{"job_name", r.JobName}, {"output_namespace", r.OutputNamespace}, {"output_name", r.OutputName},
		{"output_zone", r.OutputZone}, {"output_dataset", r.OutputDataset},
	} {
		if f.v == "" {
			return fmt.Errorf("lineage row: %s is required", f.name)
		}
	}
	if r.EventTime.IsZero() {
		return errors.New("lineage row: event_time is required (when the output object was created)")
	}
	if !validEventTypes[r.EventType] {
		return fmt.Errorf("lineage row: event_type %q is not an OpenLineage eventType (START, RUNNING, COMPLETE, ABORT, FAIL, OTHER)", r.EventType)
	}
	if (r.InputNamespace == "") != (r.InputName == "") {
		return errors.New("lineage row: input_namespace and input_name go together: set both for an edge, neither for a root")
	}
	return nil
}

var validEventTypes = map[string]bool{"START": true, "RUNNING": true, "COMPLETE": true, "ABORT": true, "FAIL": true, "OTHER": true}

// Encode writes rows as gzip'd JSON lines. The same rows always give the same bytes (no gzip
// time stamp or name), so a rewritten lineage object is byte-identical and its ETag unchanged.
func Encode(rows []Row) ([]byte, error) {
	if len(rows) == 0 {
		return nil, errors.New("lineage: no rows to encode: an event has at least one (a root's lone row)")
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	for i := range rows {
		if err := rows[i].Check(); err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		line, err := json.Marshal(rows[i])
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		zw.Write(line)
		zw.Write([]byte{'\n'})
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decode reads what Encode wrote (or any gzip'd JSON lines of rows). Blank lines are skipped.
func Decode(data []byte) ([]Row, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("lineage: not a gzip'd lineage object: %w", err)
	}
	defer zr.Close()
	br := bufio.NewReader(zr)
	var rows []Row
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var r Row
			if uerr := json.Unmarshal(line, &r); uerr != nil {
				return nil, fmt.Errorf("lineage: line %d: %w", n, uerr)
			}
			rows = append(rows, r)
		}
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("lineage: line %d: %w", n, err)
		}
	}
}

// Key is the object key, in the lineage bucket, of the lineage object id of an output created at
// ev: lineage/dt=YYYY-MM-DD/hr=HH/<id>.json.gz, partitioned on ev like every dataset.
func Key(ev time.Time, id string) string {
	return zone.Key(Dataset, zone.PartitionOf(ev.UnixMilli()), id+Ext)
}

//go:embed lineage.avsc
var avsc []byte

var (
	parsed     *contract.Contract
	parseOnce  sync.Once
	parseError error
)

// Contract is the lineage table's contract (lineage.avsc, embedded). It is shared: do not modify it.
func Contract() *contract.Contract {
	parseOnce.Do(func() { parsed, parseError = contract.Parse("shared/lineage/table/lineage.avsc", avsc) })
	if parseError != nil {
		// The file is embedded and tested: a failure is a broken build, not a runtime condition.
		panic(parseError)
	}
	return parsed
}

// The compacted lineage table: an hour's lineage objects rewritten by the compaction job
// (shared/lineage/compact) as one Parquet file per generation, in the lineage bucket under
// compacted/dt=YYYY-MM-DD/hr=HH/gen-NNNNNN.parquet, Glue table lineage_compacted. Its columns
// are the lineage table's plus Generation.
const (
	Compacted      = "compacted"
	CompactedExt   = ".parquet"
	GenerationName = "generation"
)

// Tables are the lineage tables a read of the lineage dataset names: the lineage objects and
// their compacted form. Readers go through From, never one of them alone.
var Tables = []string{string(Zone) + "_" + Dataset, string(Zone) + "_" + Compacted}

// From is the FROM item every read of the lineage dataset uses: both tables, each row once.
//
// The compaction job writes an hour's rows into a new Parquet generation before it deletes any
// lineage object, and deletes the objects (and older generations) only once that generation
// is older than any query runs. So every lineage object's rows are, at any moment a query lists
// the files, in the JSON table, in one or more generations, or both; and an object's rows always
// travel together (one event, one object, one hour). From keeps, for each object (its output's
// namespace, name and version, within its hour), the rows of the newest generation holding it,
// else those of the JSON object: never twice, never none. Each table is scanned once, so the
// choice holds even though a query lists each table's files at a slightly different time. The
// window is partitioned on dt and hr, so a filter on them still prunes both tables.
func From() string {
	c := Contract()
	cols := make([]string, 0, len(c.Fields)+2)
	for i := range c.Fields {
		cols = append(cols, `"`+c.Fields[i].Name+`"`)
	}
	cols = append(cols, `"dt"`, `"hr"`)
	list := strings.Join(cols, ", ")
	return `(SELECT ` + list + ` FROM (SELECT ` + list + `, "rank", min("rank") OVER (PARTITION BY "dt", "hr", "output_namespace", "output_name", "output_version") AS "best" FROM (` +
		`SELECT ` + list + `, -"` + GenerationName + `" AS "rank" FROM "` + Tables[1] + `" UNION ALL ` +
		`SELECT ` + list + `, 1 AS "rank" FROM "` + Tables[0] + `") AS "both") AS "ranked" WHERE "rank" = "best") AS "` + Tables[0] + `"`
}

// CompactedKey is the key, in the lineage bucket, of generation gen of the hour starting at hour.
func CompactedKey(hour time.Time, gen int) string {
	return zone.Key(Compacted, zone.PartitionOf(hour.UnixMilli()), fmt.Sprintf("gen-%06d%s", gen, CompactedExt))
}

// CompactedContract is the compacted table's contract: the lineage table's fields and the
// generation, for the Glue table the stack defines over compacted/ (lineage_compacted).
func CompactedContract() *contract.Contract {
	c := *Contract()
	c.Name = Compacted
	c.Doc = "The lineage dataset compacted: each closed hour's lineage objects rewritten as Parquet generations by the compaction job. Read it through the lineage dataset (the query API), which takes each object's rows once from here or from its JSON object."
	c.Fields = append(slices.Clone(c.Fields), contract.Field{Name: GenerationName, Kind: contract.Long, Index: len(c.Fields),
		Doc: "The generation that holds the row: readers take each object's rows from the newest."})
	return &c
}
