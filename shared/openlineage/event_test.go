package openlineage_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/openlineage"
	"github.com/sluicelake/sluice/shared/openlineage/oltest"
)

const producer = "https://github.com/sluicelake/sluice/tree/main/shared/openlineage"

func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }

// streamRange is a custom run facet of the kind sluice adds.
type streamRange struct {
	openlineage.BaseFacet
	Stream              string `json:"stream"`
	ShardID             string `json:"shardId"`
	FirstSequenceNumber string `json:"firstSequenceNumber"`
	LastSequenceNumber  string `json:"lastSequenceNumber"`
}

const streamRangeURL = "https://github.com/sluicelake/sluice/blob/main/shared/openlineage/facets/StreamRangeRunFacet.json#/$defs/StreamRangeRunFacet"

func fullEvent() openlineage.RunEvent {
	t0 := time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC)
	end := openlineage.Time(t0.Add(time.Hour))
	return openlineage.RunEvent{
		EventTime: time.Date(2026, 11, 23, 14, 5, 6, 789_000_000, time.FixedZone("CET", 3600)),
		EventType: openlineage.Complete,
		Producer:  producer,
		Run: openlineage.Run{
			RunID: openlineage.NewRunID("cleansed", "user_events/dt=2026-11-23/hr=13/a.parquet"),
			Facets: &openlineage.RunFacets{
				ProcessingEngine: &openlineage.ProcessingEngineRunFacet{Version: "go1.26", Name: "sluice", OpenlineageAdapterVersion: "0.1.0"},
				ErrorMessage:     &openlineage.ErrorMessageRunFacet{Message: "3 records quarantined", ProgrammingLanguage: "GO"},
				NominalTime:      &openlineage.NominalTimeRunFacet{NominalStartTime: openlineage.Time(t0), NominalEndTime: &end},
				Parent: &openlineage.ParentRunFacet{
					Run: openlineage.ParentRun{RunID: openlineage.NewRunID("batch", "42")},
					Job: openlineage.ParentJob{Namespace: "sluice", Name: "ingest"},
				},
				Custom: map[string]any{"sluice_streamRange": &streamRange{
					BaseFacet: openlineage.BaseFacet{SchemaURL: streamRangeURL},
					Stream:    "events", ShardID: "shardId-000000000000",
					FirstSequenceNumber: "4960", LastSequenceNumber: "4971",
				}},
			},
		},
		Job: openlineage.Job{
			Namespace: "sluice", Name: "promote.user_events",
			Facets: &openlineage.JobFacets{
				JobType:       &openlineage.JobTypeJobFacet{ProcessingType: openlineage.Batch, Integration: "SLUICE", JobType: "JOB"},
				Documentation: &openlineage.DocumentationJobFacet{Description: "dedupe and mask cleansed user events into curated"},
			},
		},
		Inputs: []openlineage.InputDataset{{
			Namespace: "s3://lake-cleansed", Name: "user_events/dt=2026-11-23/hr=13/a.parquet",
			Facets: &openlineage.DatasetFacets{
				Schema:  &openlineage.SchemaDatasetFacet{Fields: []openlineage.SchemaField{{Name: "user_id", Type: "string"}, {Name: "email", Type: "string", Description: "PII: hash"}}},
				Version: &openlineage.DatasetVersionDatasetFacet{DatasetVersion: "3b9f1c"},
				Storage: &openlineage.StorageDatasetFacet{StorageLayer: "s3", FileFormat: "parquet"},
			},
			InputFacets: &openlineage.InputDatasetFacets{DataQualityMetrics: &openlineage.DataQualityMetricsInputDatasetFacet{
				RowCount: i64(1000), Bytes: i64(52_000), FileCount: i64(1),
				ColumnMetrics: map[string]openlineage.ColumnMetrics{"age": {NullCount: i64(2), DistinctCount: i64(80), Min: f64(18), Max: f64(99)}},
			}},
		}},
		Outputs: []openlineage.OutputDataset{{
			Namespace: "s3://lake-curated", Name: "user_events",
			Facets: &openlineage.DatasetFacets{
				Storage: &openlineage.StorageDatasetFacet{StorageLayer: "s3", FileFormat: "parquet"},
				ColumnLineage: &openlineage.ColumnLineageDatasetFacet{Fields: map[string]openlineage.ColumnLineageField{
					"email_hash": {InputFields: []openlineage.InputField{{
						Namespace: "s3://lake-cleansed", Name: "user_events", Field: "email",
						Transformations: []openlineage.Transformation{{Type: openlineage.Direct, Subtype: openlineage.SubtypeTransformation, Description: "sha256", Masking: true}},
					}}},
				}},
			},
			OutputFacets: &openlineage.OutputDatasetFacets{OutputStatistics: &openlineage.OutputStatisticsOutputDatasetFacet{RowCount: 997, Size: i64(40_000), FileCount: i64(1)}},
		}},
	}
}

func marshal(t *testing.T, ev openlineage.RunEvent) []byte {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFullEventValidates(t *testing.T) {
	ev := fullEvent()
	if err := ev.Validate(); err != nil {
		t.Fatal(err)
	}
	b := marshal(t, ev)
	oltest.Validate(t, b)

	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if got := m["eventTime"]; got != "2026-11-23T14:05:06.789+01:00" {
		t.Errorf("eventTime = %v, want RFC 3339 with milliseconds and zone", got)
	}
	if got := m["schemaURL"]; got != openlineage.SchemaURL {
		t.Errorf("schemaURL = %v", got)
	}
	run := m["run"].(map[string]any)["facets"].(map[string]any)
	custom := run["sluice_streamRange"].(map[string]any)
	if custom["_producer"] != producer || custom["_schemaURL"] != streamRangeURL || custom["shardId"] != "shardId-000000000000" {
		t.Errorf("custom facet not flattened with its base fields: %v", custom)
	}
	pe := run["processing_engine"].(map[string]any)
	if pe["_producer"] != producer || pe["_schemaURL"] != openlineage.ProcessingEngineRunFacetURL {
		t.Errorf("standard facet base fields not filled: %v", pe)
	}
	// Filling base fields must not write to the caller's facets.
	if ev.Run.Facets.ProcessingEngine.Producer != "" || ev.Run.Facets.Custom["sluice_streamRange"].(*streamRange).Producer != "" {
		t.Error("marshalling wrote into the caller's facets")
	}
}

// Each facet alone on a minimal event, so a failure names the facet.
func TestEveryFacetValidates(t *testing.T) {
	full := fullEvent()
	base := func() openlineage.RunEvent {
		return openlineage.RunEvent{EventTime: full.EventTime, EventType: openlineage.Start, Producer: producer,
			Run: openlineage.Run{RunID: full.Run.RunID}, Job: openlineage.Job{Namespace: "sluice", Name: "t"}}
	}
	rf, jf := full.Run.Facets, full.Job.Facets
	in, out := full.Inputs[0], full.Outputs[0]
	cases := map[string]func(*openlineage.RunEvent){
		"processing_engine": func(e *openlineage.RunEvent) {
			e.Run.Facets = &openlineage.RunFacets{ProcessingEngine: rf.ProcessingEngine}
		},
		"errorMessage":  func(e *openlineage.RunEvent) { e.Run.Facets = &openlineage.RunFacets{ErrorMessage: rf.ErrorMessage} },
		"nominalTime":   func(e *openlineage.RunEvent) { e.Run.Facets = &openlineage.RunFacets{NominalTime: rf.NominalTime} },
		"parent":        func(e *openlineage.RunEvent) { e.Run.Facets = &openlineage.RunFacets{Parent: rf.Parent} },
		"jobType":       func(e *openlineage.RunEvent) { e.Job.Facets = &openlineage.JobFacets{JobType: jf.JobType} },
		"documentation": func(e *openlineage.RunEvent) { e.Job.Facets = &openlineage.JobFacets{Documentation: jf.Documentation} },
		"schema": func(e *openlineage.RunEvent) {
			e.Inputs = []openlineage.InputDataset{{Namespace: in.Namespace, Name: in.Name, Facets: &openlineage.DatasetFacets{Schema: in.Facets.Schema}}}
		},
		"version": func(e *openlineage.RunEvent) {
			e.Inputs = []openlineage.InputDataset{{Namespace: in.Namespace, Name: in.Name, Facets: &openlineage.DatasetFacets{Version: in.Facets.Version}}}
		},
		"storage": func(e *openlineage.RunEvent) {
			e.Outputs = []openlineage.OutputDataset{{Namespace: out.Namespace, Name: out.Name, Facets: &openlineage.DatasetFacets{Storage: out.Facets.Storage}}}
		},
		"columnLineage": func(e *openlineage.RunEvent) {
			e.Outputs = []openlineage.OutputDataset{{Namespace: out.Namespace, Name: out.Name, Facets: &openlineage.DatasetFacets{ColumnLineage: out.Facets.ColumnLineage}}}
		},
		"dataQualityMetrics": func(e *openlineage.RunEvent) {
			e.Inputs = []openlineage.InputDataset{{Namespace: in.Namespace, Name: in.Name, InputFacets: in.InputFacets}}
		},
		"dataQualityMetrics without columns": func(e *openlineage.RunEvent) {
			e.Inputs = []openlineage.InputDataset{{Namespace: in.Namespace, Name: in.Name,
				InputFacets: &openlineage.InputDatasetFacets{DataQualityMetrics: &openlineage.DataQualityMetricsInputDatasetFacet{RowCount: i64(1)}}}}
		},
		"outputStatistics": func(e *openlineage.RunEvent) {
			e.Outputs = []openlineage.OutputDataset{{Namespace: out.Namespace, Name: out.Name, OutputFacets: out.OutputFacets}}
		},
		"custom": func(e *openlineage.RunEvent) { e.Run.Facets = &openlineage.RunFacets{Custom: rf.Custom} },
	}
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			ev := base()
			set(&ev)
			b := marshal(t, ev)
			oltest.Validate(t, b)
			key := strings.TrimSuffix(name, " without columns")
			if !strings.Contains(string(b), `"`+key+`":{`) && name != "custom" {
				t.Errorf("facet %q missing from %s", key, b)
			}
		})
	}
}

func TestEmptyFacetsAreOmitted(t *testing.T) {
	ev := fullEvent()
	ev.Run.Facets = &openlineage.RunFacets{}
	ev.Job.Facets = &openlineage.JobFacets{Custom: map[string]any{}}
	ev.Inputs = []openlineage.InputDataset{{Namespace: "ns", Name: "in", Facets: &openlineage.DatasetFacets{}, InputFacets: &openlineage.InputDatasetFacets{}}}
	ev.Outputs = []openlineage.OutputDataset{{Namespace: "ns", Name: "out", OutputFacets: &openlineage.OutputDatasetFacets{}}}
	b := marshal(t, ev)
	oltest.Validate(t, b)
	for _, key := range []string{`"facets"`, `"inputFacets"`, `"outputFacets"`} {
		if strings.Contains(string(b), key) {
			t.Errorf("empty %s written: %s", key, b)
		}
	}
}

func TestCustomFacetMayNotShadowAStandardOne(t *testing.T) {
	ev := fullEvent()
	ev.Job.Facets.Custom = map[string]any{"jobType": map[string]any{"_producer": producer, "_schemaURL": streamRangeURL}}
	if _, err := json.Marshal(ev); err == nil || !strings.Contains(err.Error(), `"jobType"`) {
		t.Fatalf("err = %v, want a collision on jobType", err)
	}
}

func TestRoundTrip(t *testing.T) {
	b := marshal(t, fullEvent())
	var back openlineage.RunEvent
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Run.Facets.Parent == nil || back.Inputs[0].InputFacets.DataQualityMetrics == nil || back.Outputs[0].Facets.ColumnLineage == nil {
		t.Fatalf("typed facets lost: %+v", back)
	}
	if _, ok := back.Run.Facets.Custom["sluice_streamRange"]; !ok {
		t.Fatal("custom facet lost")
	}
	again := marshal(t, back)
	if string(again) != string(b) {
		t.Errorf("round trip changed the event:\n%s\n%s", b, again)
	}
}

// The validator must really reject broken events, or every other test here
// proves nothing.
func TestBrokenEventsFailValidation(t *testing.T) {
	good := marshal(t, fullEvent())
	if err := oltest.Check(good); err != nil {
		t.Fatalf("the unbroken event fails: %v", err)
	}
	cases := map[string]func(m map[string]any){
		"missing runId":      func(m map[string]any) { delete(m["run"].(map[string]any), "runId") },
		"bad eventType":      func(m map[string]any) { m["eventType"] = "FINISHED" },
		"non-UUID run id":    func(m map[string]any) { m["run"].(map[string]any)["runId"] = "run-42" },
		"eventTime not time": func(m map[string]any) { m["eventTime"] = "yesterday" },
		"missing job name":   func(m map[string]any) { delete(m["job"].(map[string]any), "name") },
		"facet missing _producer": func(m map[string]any) {
			delete(m["job"].(map[string]any)["facets"].(map[string]any)["jobType"].(map[string]any), "_producer")
		},
		"columnLineage without fields (facet schema)": func(m map[string]any) {
			out := m["outputs"].([]any)[0].(map[string]any)
			delete(out["facets"].(map[string]any)["columnLineage"].(map[string]any), "fields")
		},
		"dataQualityMetrics rowCount not integer (facet schema)": func(m map[string]any) {
			in := m["inputs"].([]any)[0].(map[string]any)
			in["inputFacets"].(map[string]any)["dataQualityMetrics"].(map[string]any)["rowCount"] = 1.5
		},
		"facet schema not shipped": func(m map[string]any) {
			m["job"].(map[string]any)["facets"].(map[string]any)["jobType"].(map[string]any)["_schemaURL"] =
				"https://openlineage.io/spec/facets/9-9-9/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
		},
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(good, &m); err != nil {
				t.Fatal(err)
			}
			breakIt(m)
			b, _ := json.Marshal(m)
			if err := oltest.Check(b); err == nil {
				t.Fatalf("validation passed a broken event:\n%s", oltest.Pretty(b))
			}
		})
	}
}

func TestValidateReportsWhatIsWrong(t *testing.T) {
	ev := fullEvent()
	ev.EventType = "DONE"
	ev.Run.RunID = "nope"
	ev.Producer = ""
	err := ev.Validate()
	for _, want := range []string{`"DONE"`, "NewRunID", "producer"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want mention of %s", err, want)
		}
	}
}
