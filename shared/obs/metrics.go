package obs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// emfLevel is the level metric lines carry: the one no ApplicationLogLevel filters out.
const emfLevel = "FATAL"

// Unit is a CloudWatch metric unit.
type Unit string

// The units the lake reports in.
const (
	Count        Unit = "Count"
	Bytes        Unit = "Bytes"
	Milliseconds Unit = "Milliseconds"
)

// DefaultNamespace is the CloudWatch namespace metrics go to unless WithNamespace says otherwise.
const DefaultNamespace = "Sluice"

// Dimension names. Every metric carries the function; metrics about one dataset carry it too.
const (
	DimFunction = "function"
	DimDataset  = "dataset"
)

// EMF allows at most 100 metric definitions per directive; longer sets are split over lines.
const maxMetricsPerLine = 100

// Option configures Metrics.
type Option func(*Metrics)

// WithNamespace sends the metrics to namespace instead of DefaultNamespace.
func WithNamespace(namespace string) Option {
	return func(m *Metrics) { m.namespace = namespace }
}

// WithClock sets the source of the EMF timestamp (tests and examples pin it).
func WithClock(now func() time.Time) Option {
	return func(m *Metrics) { m.now = now }
}

// Metrics collects counters and gauges for one function and writes them as CloudWatch
// Embedded Metric Format lines on Flush. It is safe for concurrent use.
type Metrics struct {
	namespace string
	function  string
	now       func() time.Time

	mu       sync.Mutex
	sets     map[string]*metricSet // by dataset; "" holds the function-only dimension set
	rejected []string
}

type metricSet struct {
	values map[string]*value
}

type value struct {
	unit Unit
	v    float64
}

// NewMetrics returns an empty collector for function.
func NewMetrics(function string, opts ...Option) *Metrics {
	m := &Metrics{
		namespace: DefaultNamespace,
		function:  function,
		now:       time.Now,
		sets:      map[string]*metricSet{},
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Add adds v to the counter name. An empty dataset records the metric with the function
// dimension only.
func (m *Metrics) Add(dataset, name string, unit Unit, v float64) {
	m.record(dataset, name, unit, v, true)
}

// Set sets the gauge name to v, replacing the value recorded since the last Flush.
func (m *Metrics) Set(dataset, name string, unit Unit, v float64) {
	m.record(dataset, name, unit, v, false)
}

func (m *Metrics) record(dataset, name string, unit Unit, v float64, add bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case name == "" || name == DimFunction || name == DimDataset || name == keyLevel || name == keyTimestamp || strings.HasPrefix(name, "_aws"):
		m.rejected = append(m.rejected, fmt.Sprintf("%q: the name is empty or collides with a dimension, the _aws key or the level and timestamp Lambda reads", name))
		return
	case unit == "":
		m.rejected = append(m.rejected, fmt.Sprintf("%q: no unit", name))
		return
	case math.IsNaN(v) || math.IsInf(v, 0):
		m.rejected = append(m.rejected, fmt.Sprintf("%q: value %v cannot be written as JSON", name, v))
		return
	}
	set := m.sets[dataset]
	if set == nil {
		set = &metricSet{values: map[string]*value{}}
		m.sets[dataset] = set
	}
	cur := set.values[name]
	if cur == nil {
		set.values[name] = &value{unit: unit, v: v}
		return
	}
	if cur.unit != unit {
		m.rejected = append(m.rejected, fmt.Sprintf("%q: recorded in %s before, now in %s", name, cur.unit, unit))
		return
	}
	if add {
		cur.v += v
	} else {
		cur.v = v
	}
}

// Flush writes one EMF line per dimension set (function alone, then each dataset in name
// order) and starts collecting afresh. Metrics rejected since the last Flush (bad name,
// unit changed, NaN) are reported in the error after the valid ones are written.
func (m *Metrics) Flush(w io.Writer) error {
	m.mu.Lock()
	sets, rejected := m.sets, m.rejected
	m.sets, m.rejected = map[string]*metricSet{}, nil
	ts := m.now().UnixMilli()
	m.mu.Unlock()

	datasets := make([]string, 0, len(sets))
	for d := range sets {
		datasets = append(datasets, d)
	}
	slices.Sort(datasets) // "" (function only) sorts first

	var errs []error
	for _, d := range datasets {
		names := make([]string, 0, len(sets[d].values))
		for n := range sets[d].values {
			names = append(names, n)
		}
		slices.Sort(names)
		for chunk := range slices.Chunk(names, maxMetricsPerLine) {
			line, err := m.line(ts, d, chunk, sets[d].values)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if _, err := w.Write(line); err != nil {
				return fmt.Errorf("obs: write EMF metrics line: %w", err)
			}
		}
	}
	if len(rejected) > 0 {
		errs = append(errs, fmt.Errorf("obs: metrics dropped, fix the calls that record them: %s", strings.Join(rejected, "; ")))
	}
	return errors.Join(errs...)
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// line renders one EMF document. The member order is fixed (_aws, dimensions, metrics by
// name) so that lines are stable and diffable; CloudWatch itself does not care.
func (m *Metrics) line(ts int64, dataset string, names []string, values map[string]*value) ([]byte, error) {
	dims := []string{DimFunction}
	if dataset != "" {
		dims = append(dims, DimDataset)
	}
	dir := emfDirective{Namespace: m.namespace, Dimensions: [][]string{dims}}
	for _, n := range names {
		dir.Metrics = append(dir.Metrics, emfMetric{Name: n, Unit: values[n].unit})
	}
	meta, err := json.Marshal(emfMeta{Timestamp: ts, CloudWatchMetrics: []emfDirective{dir}})
	if err != nil {
		return nil, fmt.Errorf("obs: encode EMF metadata: %w", err)
	}

	var b bytes.Buffer
	b.WriteString(`{"_aws":`)
	b.Write(meta)
	member := func(k string, v any) {
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v) // strings and finite floats always encode
		b.WriteByte(',')
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	// Lambda's log-level filtering treats a line without a level as INFO and drops it under
	// an ApplicationLogLevel of WARN or above, and with it the metrics. FATAL is the most
	// severe level Lambda knows, so no setting filters these lines out; the timestamp must
	// be there too or Lambda demotes the line to INFO after all.
	member(keyLevel, emfLevel)
	member(keyTimestamp, time.UnixMilli(ts).UTC().Format(time.RFC3339Nano))
	member(DimFunction, m.function)
	if dataset != "" {
		member(DimDataset, dataset)
	}
	for _, n := range names {
		member(n, values[n].v)
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}
