package openlineage

import (
	"encoding/json"
	"fmt"
	"sort"
)

// The schema each facet type declares in its _schemaURL. The versions are
// those of the facet files shipped in testdata/spec, against which the tests
// validate every facet.
const (
	SchemaDatasetFacetURL           = "https://openlineage.io/spec/facets/1-0-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
	ColumnLineageDatasetFacetURL    = "https://openlineage.io/spec/facets/1-1-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
	DatasetVersionDatasetFacetURL   = "https://openlineage.io/spec/facets/1-0-0/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"
	StorageDatasetFacetURL          = "https://openlineage.io/spec/facets/1-0-0/StorageDatasetFacet.json#/$defs/StorageDatasetFacet"
	DataQualityMetricsInputFacetURL = "https://openlineage.io/spec/facets/1-0-2/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet"
	OutputStatisticsOutputFacetURL  = "https://openlineage.io/spec/facets/1-0-0/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"
	ProcessingEngineRunFacetURL     = "https://openlineage.io/spec/facets/1-1-0/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet"
	ErrorMessageRunFacetURL         = "https://openlineage.io/spec/facets/1-0-0/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
	NominalTimeRunFacetURL          = "https://openlineage.io/spec/facets/1-0-0/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet"
	ParentRunFacetURL               = "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"
	JobTypeJobFacetURL              = "https://openlineage.io/spec/facets/2-0-2/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
	DocumentationJobFacetURL        = "https://openlineage.io/spec/facets/1-0-1/DocumentationJobFacet.json#/$defs/DocumentationJobFacet"
)

// BaseFacet carries the two fields every facet has. Embed it in custom
// facets; empty fields are filled when the facet is marshalled in an event.
type BaseFacet struct {
	Producer  string `json:"_producer"`
	SchemaURL string `json:"_schemaURL"`
}

func (b *BaseFacet) base() *BaseFacet { return b }

func (b *BaseFacet) fill(producer, schemaURL string) {
	if b.Producer == "" {
		b.Producer = producer
	}
	if b.SchemaURL == "" {
		b.SchemaURL = schemaURL
	}
}

type facet interface{ base() *BaseFacet }

// --- dataset facets (allowed on inputs and outputs) ---

// SchemaDatasetFacet lists a dataset's fields.
type SchemaDatasetFacet struct {
	BaseFacet
	Fields []SchemaField `json:"fields"`
}

// SchemaField is one column of a SchemaDatasetFacet.
type SchemaField struct {
	Name        string `json:"name"`
	Type        string `json:"type,omitempty"`
	Description string `json:"description,omitempty"`
}

// ColumnLineageDatasetFacet maps each output field to the input fields it
// was computed from. It belongs on output datasets.
type ColumnLineageDatasetFacet struct {
	BaseFacet
	Fields map[string]ColumnLineageField `json:"fields"`
}

// ColumnLineageField lists the inputs of one output field.
type ColumnLineageField struct {
	InputFields []InputField `json:"inputFields"`
}

// InputField is one input column feeding an output column.
type InputField struct {
	Namespace       string           `json:"namespace"`
	Name            string           `json:"name"`
	Field           string           `json:"field"`
	Transformations []Transformation `json:"transformations,omitempty"`
}

// TransformationType says whether an input's values reach the output.
type TransformationType string

// The transformation types of ColumnLineageDatasetFacet.
const (
	Direct   TransformationType = "DIRECT"   // the value flows into the output
	Indirect TransformationType = "INDIRECT" // the value only affects which rows or how (filter, join, sort)
)

// Subtypes of a transformation as OpenLineage documents them.
const (
	SubtypeIdentity       = "IDENTITY"
	SubtypeTransformation = "TRANSFORMATION"
	SubtypeAggregation    = "AGGREGATION"
	SubtypeJoin           = "JOIN"
	SubtypeGroupBy        = "GROUP_BY"
	SubtypeFilter         = "FILTER"
	SubtypeSort           = "SORT"
	SubtypeWindow         = "WINDOW"
	SubtypeConditional    = "CONDITIONAL"
)

// Transformation describes how an input field becomes (part of) an output field.
type Transformation struct {
	Type        TransformationType `json:"type"`
	Subtype     string             `json:"subtype,omitempty"`
	Description string             `json:"description,omitempty"`
	// Masking is true when the output hides the input's values (hash, mask).
	Masking bool `json:"masking"`
}

// DatasetVersionDatasetFacet names the version of a dataset a run saw.
type DatasetVersionDatasetFacet struct {
	BaseFacet
	DatasetVersion string `json:"datasetVersion"`
}

// StorageDatasetFacet says how a dataset is stored (e.g. "s3", "parquet").
type StorageDatasetFacet struct {
	BaseFacet
	StorageLayer string `json:"storageLayer"`
	FileFormat   string `json:"fileFormat,omitempty"`
}

// DatasetFacets are the facets any dataset may carry.
type DatasetFacets struct {
	Schema        *SchemaDatasetFacet
	ColumnLineage *ColumnLineageDatasetFacet
	Version       *DatasetVersionDatasetFacet
	Storage       *StorageDatasetFacet
	// Custom holds further facets by key; each value must marshal to an
	// object with _producer and _schemaURL (embed BaseFacet).
	Custom map[string]any

	producer string
}

func (f *DatasetFacets) slots() []slot {
	return []slot{
		slotOf("schema", SchemaDatasetFacetURL, &f.Schema),
		slotOf("columnLineage", ColumnLineageDatasetFacetURL, &f.ColumnLineage),
		slotOf("version", DatasetVersionDatasetFacetURL, &f.Version),
		slotOf("storage", StorageDatasetFacetURL, &f.Storage),
	}
}

func (f *DatasetFacets) state() (*map[string]any, *string) { return &f.Custom, &f.producer }

// MarshalJSON writes the set facets and the custom ones as one object.
func (f DatasetFacets) MarshalJSON() ([]byte, error) { return marshalSet(&f) }

// UnmarshalJSON reads known facets into their fields and the rest into Custom.
func (f *DatasetFacets) UnmarshalJSON(b []byte) error {
	*f = DatasetFacets{}
	return unmarshalSet(b, f)
}

// --- input dataset facets ---

// DataQualityMetricsInputDatasetFacet reports metrics of the data a run
// read. The spec defines it as an input facet only.
type DataQualityMetricsInputDatasetFacet struct {
	BaseFacet
	RowCount  *int64 `json:"rowCount,omitempty"`
	Bytes     *int64 `json:"bytes,omitempty"`
	FileCount *int64 `json:"fileCount,omitempty"`
	// ColumnMetrics is keyed by column name; the spec requires the key even
	// when empty.
	ColumnMetrics map[string]ColumnMetrics `json:"columnMetrics"`
}

// MarshalJSON writes columnMetrics as {} when there are none: the spec requires the key.
func (f DataQualityMetricsInputDatasetFacet) MarshalJSON() ([]byte, error) {
	type plain DataQualityMetricsInputDatasetFacet
	if f.ColumnMetrics == nil {
		f.ColumnMetrics = map[string]ColumnMetrics{}
	}
	return json.Marshal(plain(f))
}

// ColumnMetrics are one column's metrics; nil fields are omitted.
type ColumnMetrics struct {
	NullCount     *int64   `json:"nullCount,omitempty"`
	DistinctCount *int64   `json:"distinctCount,omitempty"`
	Sum           *float64 `json:"sum,omitempty"`
	Count         *float64 `json:"count,omitempty"`
	Min           *float64 `json:"min,omitempty"`
	Max           *float64 `json:"max,omitempty"`
}

// InputDatasetFacets are the facets only an input dataset may carry.
type InputDatasetFacets struct {
	DataQualityMetrics *DataQualityMetricsInputDatasetFacet
	Custom             map[string]any

	producer string
}

func (f *InputDatasetFacets) slots() []slot {
	return []slot{
		slotOf("dataQualityMetrics", DataQualityMetricsInputFacetURL, &f.DataQualityMetrics),
	}
}

func (f *InputDatasetFacets) state() (*map[string]any, *string) { return &f.Custom, &f.producer }

// MarshalJSON writes the set facets and the custom ones as one object.
func (f InputDatasetFacets) MarshalJSON() ([]byte, error) { return marshalSet(&f) }

// UnmarshalJSON reads known facets into their fields and the rest into Custom.
func (f *InputDatasetFacets) UnmarshalJSON(b []byte) error {
	*f = InputDatasetFacets{}
	return unmarshalSet(b, f)
}

// --- output dataset facets ---

// OutputStatisticsOutputDatasetFacet reports what a run wrote.
type OutputStatisticsOutputDatasetFacet struct {
	BaseFacet
	RowCount  int64  `json:"rowCount"`
	Size      *int64 `json:"size,omitempty"`
	FileCount *int64 `json:"fileCount,omitempty"`
}

// OutputDatasetFacets are the facets only an output dataset may carry.
type OutputDatasetFacets struct {
	OutputStatistics *OutputStatisticsOutputDatasetFacet
	Custom           map[string]any

	producer string
}

func (f *OutputDatasetFacets) slots() []slot {
	return []slot{
		slotOf("outputStatistics", OutputStatisticsOutputFacetURL, &f.OutputStatistics),
	}
}

func (f *OutputDatasetFacets) state() (*map[string]any, *string) { return &f.Custom, &f.producer }

// MarshalJSON writes the set facets and the custom ones as one object.
func (f OutputDatasetFacets) MarshalJSON() ([]byte, error) { return marshalSet(&f) }

// UnmarshalJSON reads known facets into their fields and the rest into Custom.
func (f *OutputDatasetFacets) UnmarshalJSON(b []byte) error {
	*f = OutputDatasetFacets{}
	return unmarshalSet(b, f)
}

// --- run facets ---

// ProcessingEngineRunFacet names the engine that ran the job.
type ProcessingEngineRunFacet struct {
	BaseFacet
	Version                   string `json:"version"`
	Name                      string `json:"name,omitempty"`
	OpenlineageAdapterVersion string `json:"openlineageAdapterVersion,omitempty"`
}

// ErrorMessageRunFacet tells why a run failed.
type ErrorMessageRunFacet struct {
	BaseFacet
	Message             string `json:"message"`
	ProgrammingLanguage string `json:"programmingLanguage"`
	StackTrace          string `json:"stackTrace,omitempty"`
}

// NominalTimeRunFacet is the scheduled time window a run covers.
type NominalTimeRunFacet struct {
	BaseFacet
	NominalStartTime Time  `json:"nominalStartTime"`
	NominalEndTime   *Time `json:"nominalEndTime,omitempty"`
}

// ParentRunFacet links a run to the run that spawned it.
type ParentRunFacet struct {
	BaseFacet
	Run ParentRun `json:"run"`
	Job ParentJob `json:"job"`
}

// ParentRun identifies the parent run.
type ParentRun struct {
	RunID string `json:"runId"`
}

// ParentJob identifies the parent run's job.
type ParentJob struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// RunFacets are the facets a run may carry.
type RunFacets struct {
	ProcessingEngine *ProcessingEngineRunFacet
	ErrorMessage     *ErrorMessageRunFacet
	NominalTime      *NominalTimeRunFacet
	Parent           *ParentRunFacet
	Custom           map[string]any

	producer string
}

func (f *RunFacets) slots() []slot {
	return []slot{
		slotOf("processing_engine", ProcessingEngineRunFacetURL, &f.ProcessingEngine),
		slotOf("errorMessage", ErrorMessageRunFacetURL, &f.ErrorMessage),
		slotOf("nominalTime", NominalTimeRunFacetURL, &f.NominalTime),
		slotOf("parent", ParentRunFacetURL, &f.Parent),
	}
}

func (f *RunFacets) state() (*map[string]any, *string) { return &f.Custom, &f.producer }

// MarshalJSON writes the set facets and the custom ones as one object.
func (f RunFacets) MarshalJSON() ([]byte, error) { return marshalSet(&f) }

// UnmarshalJSON reads known facets into their fields and the rest into Custom.
func (f *RunFacets) UnmarshalJSON(b []byte) error {
	*f = RunFacets{}
	return unmarshalSet(b, f)
}

// --- job facets ---

// Processing types of JobTypeJobFacet.
const (
	Batch     = "BATCH"
	Streaming = "STREAMING"
)

// JobTypeJobFacet classifies a job.
type JobTypeJobFacet struct {
	BaseFacet
	ProcessingType string `json:"processingType"`
	Integration    string `json:"integration"`
	JobType        string `json:"jobType,omitempty"`
}

// DocumentationJobFacet describes a job in prose.
type DocumentationJobFacet struct {
	BaseFacet
	Description string `json:"description"`
}

// JobFacets are the facets a job may carry.
type JobFacets struct {
	JobType       *JobTypeJobFacet
	Documentation *DocumentationJobFacet
	Custom        map[string]any

	producer string
}

func (f *JobFacets) slots() []slot {
	return []slot{
		slotOf("jobType", JobTypeJobFacetURL, &f.JobType),
		slotOf("documentation", DocumentationJobFacetURL, &f.Documentation),
	}
}

func (f *JobFacets) state() (*map[string]any, *string) { return &f.Custom, &f.producer }

// MarshalJSON writes the set facets and the custom ones as one object.
func (f JobFacets) MarshalJSON() ([]byte, error) { return marshalSet(&f) }

// UnmarshalJSON reads known facets into their fields and the rest into Custom.
func (f *JobFacets) UnmarshalJSON(b []byte) error {
	*f = JobFacets{}
	return unmarshalSet(b, f)
}

// --- helpers ---

// put adds a copy of f with its base fields filled, leaving the caller's
// facet untouched (events are often built from shared facet values).
func put[T any, P interface {
	*T
	facet
}](m map[string]any, key string, f P, producer, schemaURL string) {
	if f == nil {
		return
	}
	c := *f
	P(&c).base().fill(producer, schemaURL)
	m[key] = &c
}

// slot is one typed facet of a set: its key, how to write it (a copy with its base fields
// filled) and where to read it into.
type slot struct {
	key string
	put func(m map[string]any, producer string)
	dst any
}

func slotOf[T any, P interface {
	*T
	facet
}](key, schemaURL string, field *P) slot {
	return slot{key: key, dst: field, put: func(m map[string]any, producer string) { put(m, key, *field, producer, schemaURL) }}
}

// facetSet is a run's, job's or dataset's facets: typed slots and custom ones.
type facetSet interface {
	slots() []slot
	state() (custom *map[string]any, producer *string)
}

// withProducer returns a copy of f that fills empty _producer fields with p, or nil when f
// sets no facet (so that the event leaves "facets" out).
func withProducer[S any, P interface {
	*S
	facetSet
}](f P, p string) P {
	if f == nil {
		return nil
	}
	c := *f
	custom, producer := P(&c).state()
	*producer = p
	if len(entries(P(&c))) == 0 && len(*custom) == 0 {
		return nil
	}
	return &c
}

func entries(f facetSet) map[string]any {
	_, producer := f.state()
	m := map[string]any{}
	for _, s := range f.slots() {
		s.put(m, *producer)
	}
	return m
}

func marshalSet(f facetSet) ([]byte, error) {
	known := entries(f)
	customp, producerp := f.state()
	custom, producer := *customp, *producerp
	for k, v := range custom {
		if _, dup := known[k]; dup {
			return nil, fmt.Errorf("openlineage: custom facet %q collides with the standard facet of that name; set the typed field instead", k)
		}
		if v == nil {
			continue
		}
		if fc, ok := v.(facet); ok && fc.base().Producer == "" {
			b, err := withRawProducer(v, producer)
			if err != nil {
				return nil, fmt.Errorf("openlineage: custom facet %q: %w", k, err)
			}
			v = b
		}
		known[k] = v
	}
	keys := make([]string, 0, len(known))
	for k := range known {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	buf := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(known[k])
		if err != nil {
			return nil, fmt.Errorf("openlineage: facet %q: %w", k, err)
		}
		buf = append(append(append(buf, kb...), ':'), vb...)
	}
	return append(buf, '}'), nil
}

func unmarshalSet(b []byte, f facetSet) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	known := map[string]any{}
	for _, s := range f.slots() {
		known[s.key] = s.dst
	}
	custom, _ := f.state()
	for k, v := range raw {
		if dst, ok := known[k]; ok {
			if err := json.Unmarshal(v, dst); err != nil {
				return fmt.Errorf("openlineage: facet %q: %w", k, err)
			}
			continue
		}
		if *custom == nil {
			*custom = map[string]any{}
		}
		(*custom)[k] = v
	}
	return nil
}

// withRawProducer marshals a custom facet with its empty _producer set,
// without writing to the caller's value.
func withRawProducer(v any, producer string) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("a facet must marshal to a JSON object: %w", err)
	}
	obj["_producer"], _ = json.Marshal(producer)
	return json.Marshal(obj)
}
