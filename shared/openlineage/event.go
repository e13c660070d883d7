// Package openlineage provides OpenLineage RunEvents (spec 2-0-2) as plain Go
// types, deterministic run ids, and an HTTP client that posts events to an
// OpenLineage endpoint such as Marquez.
//
// It depends on the standard library only: it is linked into Lambda
// binaries, and the official Go client pulls gRPC and Google libraries.
//
// Facets left nil are omitted. A facet's _schemaURL is filled from the
// facet's type and its _producer from the event's Producer when they are
// empty, so callers set only the facet's own fields.
package openlineage

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SpecVersion is the OpenLineage core spec version the events declare.
const SpecVersion = "2-0-2"

// SchemaURL is the schemaURL a RunEvent carries when the caller leaves it empty.
const SchemaURL = "https://openlineage.io/spec/" + SpecVersion + "/OpenLineage.json#/$defs/RunEvent"

// EventType is the run state transition an event reports.
type EventType string

// The event types of spec 2-0-2. A run sends one START and one of COMPLETE,
// ABORT or FAIL; RUNNING and OTHER may come in between or after.
const (
	Start    EventType = "START"
	Running  EventType = "RUNNING"
	Complete EventType = "COMPLETE"
	Abort    EventType = "ABORT"
	Fail     EventType = "FAIL"
	Other    EventType = "OTHER"
)

// Valid reports whether t is one of the spec's event types.
func (t EventType) Valid() bool {
	switch t {
	case Start, Running, Complete, Abort, Fail, Other:
		return true
	}
	return false
}

// RunEvent is one observation of a job run.
type RunEvent struct {
	EventTime time.Time
	EventType EventType
	// Producer is a URI naming the code that produced the event; facets
	// without their own _producer inherit it.
	Producer string
	// SchemaURL defaults to the package's SchemaURL.
	SchemaURL string
	Run       Run
	Job       Job
	Inputs    []InputDataset
	Outputs   []OutputDataset
}

// Run identifies one execution of a job.
type Run struct {
	RunID  string     `json:"runId"`
	Facets *RunFacets `json:"facets,omitempty"`
}

// Job identifies the process a run executes.
type Job struct {
	Namespace string     `json:"namespace"`
	Name      string     `json:"name"`
	Facets    *JobFacets `json:"facets,omitempty"`
}

// InputDataset is a dataset a run read.
type InputDataset struct {
	Namespace   string              `json:"namespace"`
	Name        string              `json:"name"`
	Facets      *DatasetFacets      `json:"facets,omitempty"`
	InputFacets *InputDatasetFacets `json:"inputFacets,omitempty"`
}

// OutputDataset is a dataset a run wrote.
type OutputDataset struct {
	Namespace    string               `json:"namespace"`
	Name         string               `json:"name"`
	Facets       *DatasetFacets       `json:"facets,omitempty"`
	OutputFacets *OutputDatasetFacets `json:"outputFacets,omitempty"`
}

// TimeFormat is RFC 3339 with milliseconds and the zone, as OpenLineage
// consumers (Marquez among them) expect.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// wireEvent is RunEvent as it goes on the wire; keeping it separate lets
// RunEvent hold a time.Time and defaults without custom tags.
type wireEvent struct {
	EventTime string          `json:"eventTime"`
	EventType EventType       `json:"eventType,omitempty"`
	Producer  string          `json:"producer"`
	SchemaURL string          `json:"schemaURL"`
	Run       Run             `json:"run"`
	Job       Job             `json:"job"`
	Inputs    []InputDataset  `json:"inputs"`
	Outputs   []OutputDataset `json:"outputs"`
}

// Validate reports what in e would make a consumer reject it.
func (e RunEvent) Validate() error {
	var errs []error
	if e.EventTime.IsZero() {
		errs = append(errs, errors.New("eventTime is zero: set RunEvent.EventTime"))
	}
	if e.EventType != "" && !e.EventType.Valid() {
		errs = append(errs, fmt.Errorf("eventType %q is not one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER", e.EventType))
	}
	if e.Producer == "" {
		errs = append(errs, errors.New("producer is empty: set RunEvent.Producer to a URI naming the emitting code"))
	}
	if !IsUUID(e.Run.RunID) {
		errs = append(errs, fmt.Errorf("run.runId %q is not a UUID: use NewRunID", e.Run.RunID))
	}
	if e.Job.Namespace == "" || e.Job.Name == "" {
		errs = append(errs, errors.New("job namespace and name are both required"))
	}
	return errors.Join(errs...)
}

// MarshalJSON writes e as spec-shaped JSON. It does not validate: call
// Validate first when the event comes from untrusted input.
func (e RunEvent) MarshalJSON() ([]byte, error) {
	w := wireEvent{
		EventTime: e.EventTime.Format(TimeFormat),
		EventType: e.EventType,
		Producer:  e.Producer,
		SchemaURL: e.SchemaURL,
		Run:       Run{RunID: e.Run.RunID, Facets: withProducer(e.Run.Facets, e.Producer)},
		Job:       Job{Namespace: e.Job.Namespace, Name: e.Job.Name, Facets: withProducer(e.Job.Facets, e.Producer)},
		Inputs:    make([]InputDataset, len(e.Inputs)),
		Outputs:   make([]OutputDataset, len(e.Outputs)),
	}
	if w.SchemaURL == "" {
		w.SchemaURL = SchemaURL
	}
	for i, in := range e.Inputs {
		in.Facets = withProducer(in.Facets, e.Producer)
		in.InputFacets = withProducer(in.InputFacets, e.Producer)
		w.Inputs[i] = in
	}
	for i, out := range e.Outputs {
		out.Facets = withProducer(out.Facets, e.Producer)
		out.OutputFacets = withProducer(out.OutputFacets, e.Producer)
		w.Outputs[i] = out
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads an event written by MarshalJSON or any other producer
// of spec 2-x events; unknown facets land in the facets' Custom maps.
func (e *RunEvent) UnmarshalJSON(b []byte) error {
	var w wireEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, w.EventTime)
	if err != nil {
		return fmt.Errorf("openlineage: eventTime %q is not RFC 3339: %w", w.EventTime, err)
	}
	*e = RunEvent{
		EventTime: t,
		EventType: w.EventType,
		Producer:  w.Producer,
		SchemaURL: w.SchemaURL,
		Run:       w.Run,
		Job:       w.Job,
		Inputs:    w.Inputs,
		Outputs:   w.Outputs,
	}
	return nil
}

// Time is a timestamp inside a facet, written like eventTime.
type Time time.Time

// MarshalJSON writes t in TimeFormat.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).Format(TimeFormat))
}

// UnmarshalJSON reads an RFC 3339 timestamp.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("openlineage: %q is not an RFC 3339 time: %w", s, err)
	}
	*t = Time(v)
	return nil
}
