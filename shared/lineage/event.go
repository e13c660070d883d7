package lineage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/openlineage"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/zone"
)

// Producer names sluice as the emitter of its OpenLineage events.
const Producer = "https://github.com/sluicelake/sluice/tree/main/shared/lineage"

// Custom facets. Their schemas are sluice's own: the URLs name them, nothing fetches them.
const (
	streamRangeURL = "https://github.com/sluicelake/sluice/blob/main/shared/lineage/facets.md#streamRange"
	rowsURL        = "https://github.com/sluicelake/sluice/blob/main/shared/lineage/facets.md#rows"
)

// StreamRangeFacet is the part of a stream a run read: one shard, first to last sequence.
type StreamRangeFacet struct {
	openlineage.BaseFacet
	Shard string `json:"shard,omitempty"`
	First string `json:"firstSequenceNumber,omitempty"`
	Last  string `json:"lastSequenceNumber,omitempty"`
}

// RowsFacet accounts for the rows of a hop: those taken from an input, or on the run, those
// written and those left out and why (rows in = rows out + the dropped).
type RowsFacet struct {
	openlineage.BaseFacet
	Rows    int64            `json:"rows"`
	Dropped map[string]int64 `json:"dropped,omitempty"`
	Kind    string           `json:"kind,omitempty"`
}

// event builds the OpenLineage run event of an output.
func (r *Recorder) event(ctx context.Context, o output) ([]byte, error) {
	rec := o.rec
	processing := openlineage.Batch
	if rec.Job == "ingest" || rec.Job == "firehose" {
		processing = openlineage.Streaming
	}
	ev := openlineage.RunEvent{
		EventTime: o.info.LastModified.UTC(),
		EventType: openlineage.Complete,
		Producer:  Producer,
		Run: openlineage.Run{RunID: r.runID(o), Facets: &openlineage.RunFacets{
			ProcessingEngine: &openlineage.ProcessingEngineRunFacet{Name: "sluice", Version: Version, OpenlineageAdapterVersion: openlineage.SpecVersion},
			Custom:           map[string]any{"sluice_rows": &RowsFacet{BaseFacet: custom(rowsURL), Rows: rec.Rows, Dropped: rec.Dropped, Kind: rec.Kind}},
		}},
		Job: openlineage.Job{Namespace: Namespace, Name: rec.Job, Facets: &openlineage.JobFacets{
			JobType: &openlineage.JobTypeJobFacet{ProcessingType: processing, Integration: "SLUICE", JobType: "TASK"},
		}},
	}
	quality := r.quality(ctx, rec)
	for _, in := range rec.Inputs {
		ns, name := r.inputName(in)
		ds := openlineage.InputDataset{Namespace: ns, Name: name, Facets: &openlineage.DatasetFacets{}}
		if in.IsStream() {
			ds.Facets.Custom = map[string]any{"sluice_streamRange": &StreamRangeFacet{BaseFacet: custom(streamRangeURL), Shard: in.Shard, First: in.First, Last: in.Last}}
		} else if v := firstOf(in.Version, in.ETag); v != "" {
			ds.Facets.Version = &openlineage.DatasetVersionDatasetFacet{DatasetVersion: v}
		}
		ds.InputFacets = &openlineage.InputDatasetFacets{Custom: map[string]any{"sluice_rows": &RowsFacet{BaseFacet: custom(rowsURL), Rows: in.Rows}}}
		if quality != nil && !in.IsStream() && in.Key == quality.Key {
			ds.InputFacets.DataQualityMetrics = quality.facet()
		}
		ev.Inputs = append(ev.Inputs, ds)
	}
	out := openlineage.OutputDataset{Namespace: "s3://" + o.bucket, Name: o.info.Key, Facets: &openlineage.DatasetFacets{
		Storage: &openlineage.StorageDatasetFacet{StorageLayer: "s3", FileFormat: fileFormat(o)},
		Version: &openlineage.DatasetVersionDatasetFacet{DatasetVersion: firstOf(o.version, o.etag())},
	}}
	if o.counted {
		size := o.info.Size
		one := int64(1)
		out.OutputFacets = &openlineage.OutputDatasetFacets{OutputStatistics: &openlineage.OutputStatisticsOutputDatasetFacet{RowCount: rec.Rows, Size: &size, FileCount: &one}}
	}
	if len(rec.Columns) > 0 {
		out.Facets.ColumnLineage = r.derivedLineage(rec)
	} else if c := r.Contracts[o.dataset]; c != nil && rec.Kind == provenance.Data {
		out.Facets.Schema = schemaOf(c, o.zone)
		out.Facets.ColumnLineage = r.columnLineage(c, o)
	}
	ev.Outputs = []openlineage.OutputDataset{out}
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("lineage: the event of %s/%s is not valid OpenLineage: %w", o.bucket, o.info.Key, err)
	}
	return json.Marshal(ev)
}

// Version is sluice's version as events report it.
var Version = "dev"

func custom(url string) openlineage.BaseFacet { return openlineage.BaseFacet{SchemaURL: url} }

// runID is the writer's run id when it is a UUID (a Lambda request id), else one derived from
// it (or, when the writer named none, from the object), so that every object of a run shares it.
func (r *Recorder) runID(o output) string {
	if openlineage.IsUUID(o.rec.Run) {
		return o.rec.Run
	}
	if o.rec.Run != "" {
		return openlineage.NewRunID(o.rec.Job, o.rec.Run)
	}
	return openlineage.NewRunID(o.rec.Job, o.bucket, o.info.Key, o.etag())
}

func fileFormat(o output) string {
	switch {
	case o.rec.Kind == provenance.Quarantine, o.rec.Kind == provenance.Marker:
		return "json"
	case o.zone == zone.Raw && o.rec.Job == "upload":
		return "" // whatever was dropped: CSV, JSON lines or Parquet
	}
	return "parquet"
}

// schemaOf is the output's columns: the contract's, less the fields curated drops.
func schemaOf(c *contract.Contract, z zone.Zone) *openlineage.SchemaDatasetFacet {
	s := &openlineage.SchemaDatasetFacet{}
	for _, f := range c.Fields {
		if z == zone.Curated && f.PII == contract.Drop {
			continue
		}
		t := f.GlueType()
		if z == zone.Curated && f.PII == contract.Hash {
			t = "string"
		}
		s.Fields = append(s.Fields, openlineage.SchemaField{Name: f.Name, Type: t, Description: f.Doc})
	}
	return s
}

// columnLineage maps each output column to the same column of every object input: identity,
// except in curated where the PII policy masks or hashes.
func (r *Recorder) columnLineage(c *contract.Contract, o output) *openlineage.ColumnLineageDatasetFacet {
	fields := map[string]openlineage.ColumnLineageField{}
	for _, f := range c.Fields {
		if o.zone == zone.Curated && f.PII == contract.Drop {
			continue
		}
		t := openlineage.Transformation{Type: openlineage.Direct, Subtype: openlineage.SubtypeIdentity}
		if o.zone == zone.Curated && (f.PII == contract.Hash || f.PII == contract.Mask) {
			t = openlineage.Transformation{Type: openlineage.Direct, Subtype: openlineage.SubtypeTransformation,
				Description: "PII policy: " + string(f.PII), Masking: true}
		}
		var from []openlineage.InputField
		for _, in := range o.rec.Inputs {
			if in.IsStream() {
				continue // a stream has no columns: records are JSON
			}
			ns, name := r.inputName(in)
			from = append(from, openlineage.InputField{Namespace: ns, Name: name, Field: f.Name,
				Transformations: []openlineage.Transformation{t}})
		}
		if len(from) > 0 {
			fields[f.Name] = openlineage.ColumnLineageField{InputFields: from}
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &openlineage.ColumnLineageDatasetFacet{Fields: fields}
}

// derivedLineage is the column lineage a computed table's writer recorded: per output column,
// the input columns and what was done to them (an aggregation, a join, a filter).
func (r *Recorder) derivedLineage(rec *provenance.Record) *openlineage.ColumnLineageDatasetFacet {
	fields := map[string]openlineage.ColumnLineageField{}
	for name, ins := range rec.Columns {
		var from []openlineage.InputField
		for _, in := range ins {
			ns, input := "", in.Dataset
			for _, i := range rec.Inputs {
				if i.Key == in.Dataset+"/" {
					ns, input = r.inputName(i)
				}
			}
			from = append(from, openlineage.InputField{Namespace: ns, Name: input, Field: in.Field, Transformations: []openlineage.Transformation{{
				Type: openlineage.TransformationType(in.Type), Subtype: in.Subtype, Description: in.Description}}})
		}
		fields[name] = openlineage.ColumnLineageField{InputFields: from}
	}
	return &openlineage.ColumnLineageDatasetFacet{Fields: fields}
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// report is the part of validate's data-quality report an input facet carries.
type report struct {
	Key         string `json:"key"`
	Bytes       int64  `json:"bytes"`
	RowsIn      int64  `json:"rows_in"`
	Valid       int64  `json:"valid"`
	Quarantined int64  `json:"quarantined"`
	Columns     map[string]struct {
		Nulls int64  `json:"nulls"`
		Min   string `json:"min"`
		Max   string `json:"max"`
	} `json:"columns"`
}

// quality reads the data-quality report a validate output names. The report is written after
// the run's outputs, so it may not exist yet: then the event goes without it.
func (r *Recorder) quality(ctx context.Context, rec *provenance.Record) *report {
	if rec.Report == "" {
		return nil
	}
	var store objectstore.Store
	for _, z := range r.Zones {
		if z.Zone == zone.Cleansed {
			store = z.Store
		}
	}
	if store == nil {
		return nil
	}
	rc, _, err := store.Get(ctx, rec.Report)
	if err != nil {
		if !errors.Is(err, objectstore.ErrNotFound) {
			r.log().Warn("data-quality report not read; the event goes without it", "report", rec.Report, "error", err)
		}
		return nil
	}
	defer rc.Close()
	var rep report
	if err := json.NewDecoder(io.LimitReader(rc, 16<<20)).Decode(&rep); err != nil {
		r.log().Warn("data-quality report not readable; the event goes without it", "report", rec.Report, "error", err)
		return nil
	}
	return &rep
}

func (rep *report) facet() *openlineage.DataQualityMetricsInputDatasetFacet {
	f := &openlineage.DataQualityMetricsInputDatasetFacet{RowCount: &rep.RowsIn, Bytes: &rep.Bytes, ColumnMetrics: map[string]openlineage.ColumnMetrics{}}
	for name, c := range rep.Columns {
		nulls := c.Nulls
		m := openlineage.ColumnMetrics{NullCount: &nulls}
		if v, err := strconv.ParseFloat(c.Min, 64); err == nil {
			m.Min = &v
		}
		if v, err := strconv.ParseFloat(c.Max, 64); err == nil {
			m.Max = &v
		}
		f.ColumnMetrics[name] = m
	}
	return f
}
