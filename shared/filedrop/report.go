package filedrop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/record"
)

// Report is a file's data-quality report, written as JSON to the cleansed bucket under
// _reports/<dataset>/. RowsIn = Valid + Quarantined; when File is set, the file went whole to
// quarantine and the counts are zero.
type Report struct {
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	Version  string `json:"version,omitempty"`
	ETag     string `json:"etag"`
	Dataset  string `json:"dataset"`
	Contract string `json:"contract_version,omitempty"`
	Format   string `json:"format,omitempty"`
	Gzip     bool   `json:"gzip,omitempty"`
	BOM      bool   `json:"byte_order_mark_removed,omitempty"`
	Bytes    int64  `json:"bytes"`

	RowsIn      int64 `json:"rows_in"`
	Valid       int64 `json:"valid"`
	Quarantined int64 `json:"quarantined"`
	// Reasons counts quarantined rows by reason; Rules by reason and field ("pattern_mismatch:email").
	Reasons map[string]int64 `json:"failures_by_reason"`
	Rules   map[string]int64 `json:"failures_by_rule"`
	// Columns profiles the valid rows.
	Columns map[string]*Column `json:"columns"`

	// File is set when the file went whole to quarantine.
	File *FileError `json:"file_quarantined,omitempty"`

	Chunks            int      `json:"chunks"`
	CleansedObjects   []string `json:"cleansed_objects"`
	QuarantineObjects []string `json:"quarantine_objects"`
	ReportKey         string   `json:"report_key"`
	Seconds           float64  `json:"seconds"`
}

// Column profiles one column over the valid rows. Min and Max are as the column's values are
// written in JSON (times RFC 3339, enums their symbol); absent for maps and all-null columns.
type Column struct {
	Nulls int64  `json:"nulls"`
	Min   string `json:"min,omitempty"`
	Max   string `json:"max,omitempty"`

	kind     contract.Kind
	set      bool
	lo, hi   float64
	loS, hiS []byte
	loI, hiI int64
	symbols  []string
}

func newReport(bucket, key, version string) *Report {
	return &Report{Bucket: bucket, Key: key, Version: version, Reasons: map[string]int64{},
		Rules: map[string]int64{}, Columns: map[string]*Column{}, CleansedObjects: []string{}, QuarantineObjects: []string{}}
}

func (r *Report) resetCounts() {
	r.RowsIn, r.Valid, r.Quarantined = 0, 0, 0
	r.Reasons, r.Rules, r.Columns = map[string]int64{}, map[string]int64{}, map[string]*Column{}
	r.CleansedObjects, r.QuarantineObjects = []string{}, []string{}
	r.Chunks = 0
}

func (r *Report) reject(reason, field string) {
	r.Quarantined++
	r.Reasons[reason]++
	if field != "" {
		r.Rules[reason+":"+field]++
	}
}

// stats adds a table's rows to the column profiles. Columns of a dataset other than the file's
// (records naming another with _dataset) are prefixed with it.
func (r *Report) stats(t *record.Table) {
	r.Valid += int64(t.Len())
	c := t.Contract
	for fi := range c.Fields {
		f := &c.Fields[fi]
		name := f.Name
		if c.Name != r.Dataset {
			name = c.Name + "." + name
		}
		col := r.Columns[name]
		if col == nil {
			col = &Column{kind: f.Kind, symbols: f.Symbols}
			r.Columns[name] = col
		}
		for row := 0; row < t.Len(); row++ {
			col.add(&t.Row(row)[fi])
		}
	}
}

func (c *Column) add(v *record.Value) {
	if !v.Set {
		c.Nulls++
		return
	}
	switch c.kind {
	case contract.StringMap:
		return
	case contract.String:
		if !c.set || bytes.Compare(v.Str, c.loS) < 0 {
			c.loS = append(c.loS[:0], v.Str...)
		}
		if !c.set || bytes.Compare(v.Str, c.hiS) > 0 {
			c.hiS = append(c.hiS[:0], v.Str...)
		}
	case contract.Float, contract.Double:
		if !c.set || v.Float < c.lo {
			c.lo = v.Float
		}
		if !c.set || v.Float > c.hi {
			c.hi = v.Float
		}
	default: // integers, booleans, times, dates, enum indexes
		if !c.set || v.Int < c.loI {
			c.loI = v.Int
		}
		if !c.set || v.Int > c.hiI {
			c.hiI = v.Int
		}
	}
	c.set = true
}

func (c *Column) finish() {
	if !c.set {
		return
	}
	switch c.kind {
	case contract.StringMap:
	case contract.String:
		c.Min, c.Max = clip(c.loS), clip(c.hiS)
	case contract.Float, contract.Double:
		c.Min, c.Max = num(c.lo), num(c.hi)
	case contract.Timestamp:
		c.Min = time.UnixMilli(c.loI).UTC().Format("2006-01-02T15:04:05.000Z")
		c.Max = time.UnixMilli(c.hiI).UTC().Format("2006-01-02T15:04:05.000Z")
	case contract.Date:
		c.Min = time.Unix(c.loI*86400, 0).UTC().Format(time.DateOnly)
		c.Max = time.Unix(c.hiI*86400, 0).UTC().Format(time.DateOnly)
	case contract.Boolean:
		c.Min, c.Max = strconv.FormatBool(c.loI == 1), strconv.FormatBool(c.hiI == 1)
	case contract.Enum:
		// Symbol order, which is the contract's.
		c.Min, c.Max = c.symbols[c.loI], c.symbols[c.hiI]
	default:
		c.Min, c.Max = strconv.FormatInt(c.loI, 10), strconv.FormatInt(c.hiI, 10)
	}
}

func num(x float64) string {
	if math.IsNaN(x) {
		return "NaN"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// clip keeps long strings out of the report.
func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}

// Check says whether the counts add up; a report that does not is a bug, never data.
func (r *Report) Check() error {
	if r.RowsIn != r.Valid+r.Quarantined {
		return fmt.Errorf("filedrop: %d rows in but %d valid + %d quarantined", r.RowsIn, r.Valid, r.Quarantined)
	}
	var sum int64
	for _, n := range r.Reasons {
		sum += n
	}
	if sum != r.Quarantined {
		return fmt.Errorf("filedrop: %d quarantined but reasons count %d", r.Quarantined, sum)
	}
	return nil
}

// writeReport writes the report to _reports/<dataset>/<id>.json in the cleansed bucket.
func (r *run) writeReport() error {
	rep := r.rep
	for _, c := range rep.Columns {
		c.finish()
	}
	if err := rep.Check(); err != nil {
		return err
	}
	rep.ReportKey = r.reportKey()
	body, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if _, err := r.v.Cleansed.Put(r.ctx, rep.ReportKey, body, objectstore.PutOptions{ContentType: "application/json", Metadata: map[string]string{"sluice-job": "validate", "sluice-kind": provenance.Report}}); err != nil {
		return fmt.Errorf("filedrop: write report %s/%s: %w", r.v.Cleansed.Bucket(), rep.ReportKey, err)
	}
	return nil
}

func sortStrings(s []string) []string { sort.Strings(s); return s }
