package graph_test

import (
	"fmt"

	"github.com/sluicelake/sluice/shared/lineage/graph"
)

// A graph renders as a Mermaid flowchart: datasets as cylinders, streams as stadiums, edges
// labelled with the job and the rows that went along them.
func ExampleGraph_Mermaid() {
	n := int64(95)
	g := &graph.Graph{Root: "cleansed/user_events", Depth: 1,
		Nodes: []graph.Node{
			{ID: "cleansed/user_events", Kind: graph.KindDataset, Zone: "cleansed", Dataset: "user_events", Name: "cleansed/user_events"},
			{ID: "kinesis://eu-west-1/sluice-events", Kind: graph.KindStream, Name: "sluice-events"},
		},
		Edges: []graph.Edge{{From: "kinesis://eu-west-1/sluice-events", To: "cleansed/user_events", Job: "ingest", Rows: &n, Runs: 3}},
	}
	fmt.Print(g.Mermaid())
	// Output:
	// flowchart LR
	//   n0[("cleansed/user_events")]
	//   n1(["kinesis://eu-west-1/sluice-events"])
	//   n1 -->|"ingest: 95 rows, 3 runs"| n0
	//   classDef root stroke-width:3px
	//   class n0 root
}
