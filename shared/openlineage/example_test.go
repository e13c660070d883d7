package openlineage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/sluicelake/sluice/shared/openlineage"
)

// Build the COMPLETE event of a run that promoted one cleansed object into
// the curated zone. The run id derives from the object, so a replayed S3
// event reports the same run.
func ExampleRunEvent() {
	object := "user_events/dt=2026-11-23/hr=13/part-0001.parquet"
	ev := openlineage.RunEvent{
		EventTime: time.Date(2026, 11, 23, 13, 5, 0, 0, time.UTC),
		EventType: openlineage.Complete,
		Producer:  "https://github.com/sluicelake/sluice",
		Run:       openlineage.Run{RunID: openlineage.NewRunID("promote", object)},
		Job: openlineage.Job{
			Namespace: "sluice",
			Name:      "promote.user_events",
			Facets: &openlineage.JobFacets{
				JobType: &openlineage.JobTypeJobFacet{ProcessingType: openlineage.Batch, Integration: "SLUICE", JobType: "JOB"},
			},
		},
		Inputs: []openlineage.InputDataset{{Namespace: "s3://lake", Name: "cleansed/" + object}},
		Outputs: []openlineage.OutputDataset{{
			Namespace:    "s3://lake",
			Name:         "curated/user_events",
			Facets:       &openlineage.DatasetFacets{Storage: &openlineage.StorageDatasetFacet{StorageLayer: "s3", FileFormat: "parquet"}},
			OutputFacets: &openlineage.OutputDatasetFacets{OutputStatistics: &openlineage.OutputStatisticsOutputDatasetFacet{RowCount: 997}},
		}},
	}
	if err := ev.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ev); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {
	//   "eventTime": "2026-11-23T13:05:00.000Z",
	//   "eventType": "COMPLETE",
	//   "producer": "https://github.com/sluicelake/sluice",
	//   "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
	//   "run": {
	//     "runId": "7afddc04-ae7f-506d-ab3e-9d6bcb881fd9"
	//   },
	//   "job": {
	//     "namespace": "sluice",
	//     "name": "promote.user_events",
	//     "facets": {
	//       "jobType": {
	//         "_producer": "https://github.com/sluicelake/sluice",
	//         "_schemaURL": "https://openlineage.io/spec/facets/2-0-2/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
	//         "processingType": "BATCH",
	//         "integration": "SLUICE",
	//         "jobType": "JOB"
	//       }
	//     }
	//   },
	//   "inputs": [
	//     {
	//       "namespace": "s3://lake",
	//       "name": "cleansed/user_events/dt=2026-11-23/hr=13/part-0001.parquet"
	//     }
	//   ],
	//   "outputs": [
	//     {
	//       "namespace": "s3://lake",
	//       "name": "curated/user_events",
	//       "facets": {
	//         "storage": {
	//           "_producer": "https://github.com/sluicelake/sluice",
	//           "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/StorageDatasetFacet.json#/$defs/StorageDatasetFacet",
	//           "storageLayer": "s3",
	//           "fileFormat": "parquet"
	//         }
	//       },
	//       "outputFacets": {
	//         "outputStatistics": {
	//           "_producer": "https://github.com/sluicelake/sluice",
	//           "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet",
	//           "rowCount": 997
	//         }
	//       }
	//     }
	//   ]
	// }
}

// Post an event to an OpenLineage endpoint (here a stand-in for Marquez).
// Network errors, 429 and 5xx are retried; any other status fails at once
// with an *openlineage.HTTPError quoting the endpoint's answer.
func ExampleClient_Emit() {
	marquez := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev openlineage.RunEvent
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Println(r.Method, r.URL.Path, ev.EventType, ev.Job.Name)
		w.WriteHeader(http.StatusCreated)
	}))
	defer marquez.Close()

	c, err := openlineage.NewClient(openlineage.Config{BaseURL: marquez.URL, Timeout: 5 * time.Second, MaxAttempts: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = c.Emit(context.Background(), openlineage.RunEvent{
		EventTime: time.Now(),
		EventType: openlineage.Start,
		Producer:  "https://github.com/sluicelake/sluice",
		Run:       openlineage.Run{RunID: openlineage.NewRunID("ingest", "shardId-000000000000", "4960")},
		Job:       openlineage.Job{Namespace: "sluice", Name: "ingest.user_events"},
	})
	fmt.Println("error:", err)
	// Output:
	// POST /api/v1/lineage START ingest.user_events
	// error: <nil>
}
