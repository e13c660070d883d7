package graph_test

import (
	"testing"
	"time"

	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/shared/lineage/graph"
	"github.com/sluicelake/sluice/shared/lineage/graph/graphtest"
	"github.com/sluicelake/sluice/shared/lineage/table"
)

// A Kafka topic feeding ingest is a stream node named after its topic, beside the Kinesis
// stream: kafka://<bootstrap server>/<topic>, as the ingest provenance names it.
func TestKafkaTopicIsAStream(t *testing.T) {
	events := graphtest.Events()
	rows := int64(30)
	events["ingest-kafka"] = []table.Row{{EventTime: graphtest.At.Add(2 * time.Second), EventType: "COMPLETE", RunID: "run-kafka",
		JobNamespace: "sluice", JobName: "ingest", OutputNamespace: "s3://cleansed",
		OutputName: "user_events/dt=2026-11-23/hr=09/clicks-0-00000000000000000040.parquet", OutputZone: "cleansed",
		OutputDataset: "user_events", OutputVersion: `"k"`, OutputRows: &rows,
		InputNamespace: "kafka://b-1.kafka:9092", InputName: "clicks", InputShard: "0",
		InputFirstSequence: "40", InputLastSequence: "69", InputRows: &rows, InputDataset: "user_events"}}
	dir := t.TempDir()
	if _, err := graphtest.WriteLake(dir, events); err != nil {
		t.Fatal(err)
	}
	eng, err := duckengine.Open(duckengine.Options{LakeDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	g := build(t, eng, graph.Request{Dataset: "cleansed/user_events", Depth: 1})
	var stream *graph.Node
	for i, n := range g.Nodes {
		if n.ID == "kafka://b-1.kafka:9092/clicks" {
			stream = &g.Nodes[i]
		}
	}
	if stream == nil || stream.Kind != graph.KindStream || stream.Name != "clicks" {
		t.Fatalf("no stream node for the topic: %v", nodes(g))
	}
	found := false
	for _, e := range edges(g) {
		found = found || e == "kafka://b-1.kafka:9092/clicks -ingest-> cleansed/user_events 30"
	}
	if !found {
		t.Errorf("no edge from the topic: %v", edges(g))
	}
}
