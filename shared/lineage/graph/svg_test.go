package graph_test

import (
	"encoding/xml"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/lineage/graph"
)

// TestSVG: the drawing is well-formed XML with a node per node and an edge per edge, data
// flows rightwards, and ids that hold markup stay text.
func TestSVG(t *testing.T) {
	rows := int64(95)
	g := &graph.Graph{Root: "user_events",
		Nodes: []graph.Node{
			{ID: "curated/user_events", Kind: graph.KindDataset, Zone: "curated", Dataset: "user_events", Name: "curated/user_events"},
			{ID: "cleansed/user_events", Kind: graph.KindDataset, Zone: "cleansed", Dataset: "user_events", Name: "cleansed/user_events"},
			{ID: "kinesis://r/<script>alert(1)</script>", Kind: graph.KindStream, Name: "<script>alert(1)</script>"},
		},
		Edges: []graph.Edge{
			{From: "kinesis://r/<script>alert(1)</script>", To: "cleansed/user_events", Job: "ingest", Rows: &rows, Runs: 3},
			{From: "cleansed/user_events", To: "curated/user_events", Job: "promote", Rows: &rows},
		},
	}
	svg := g.SVG()
	if svg != g.SVG() {
		t.Fatal("two drawings of one graph differ")
	}
	if strings.Contains(svg, "<script") {
		t.Fatalf("markup from an id reached the drawing: %s", svg)
	}
	d := xml.NewDecoder(strings.NewReader(svg))
	nodes, edges := map[string]int{}, 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not well-formed XML: %v\n%s", err, svg)
			}
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "g" {
			var class, id string
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "class":
					class = a.Value
				case "data-id":
					id = a.Value
				}
			}
			if class == "node" {
				nodes[id]++
			}
			if class == "edge" {
				edges++
			}
		}
	}
	if len(nodes) != 3 || edges != 2 {
		t.Fatalf("%d nodes and %d edges drawn, want 3 and 2", len(nodes), edges)
	}
	// Left to right: stream, cleansed, curated.
	x := func(id string) int {
		m := regexp.MustCompile(`data-id="` + regexp.QuoteMeta(id) + `"[^>]*><title>[^<]*</title><rect x="(\d+)"`).FindStringSubmatch(svg)
		if m == nil {
			t.Fatalf("no rect for %s", id)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	xs, xc, xu := x("kinesis://r/&lt;script&gt;alert(1)&lt;/script&gt;"), x("cleansed/user_events"), x("curated/user_events")
	if !(xs < xc && xc < xu) {
		t.Errorf("not left to right: stream x=%d, cleansed x=%d, curated x=%d", xs, xc, xu)
	}
	if !strings.Contains(svg, "ingest: 95 rows, 3 runs") {
		t.Error("edge label missing")
	}
}

func TestSVGEmptyAndCycle(t *testing.T) {
	if svg := (&graph.Graph{Root: "x"}).SVG(); !strings.Contains(svg, "no lineage recorded") {
		t.Errorf("empty graph: %s", svg)
	}
	g := &graph.Graph{Root: "a",
		Nodes: []graph.Node{{ID: "a", Kind: graph.KindDataset, Name: "a"}, {ID: "b", Kind: graph.KindDataset, Name: "b"}},
		Edges: []graph.Edge{{From: "a", To: "b", Job: "j"}, {From: "b", To: "a", Job: "k"}},
	}
	if svg := g.SVG(); strings.Count(svg, `class="edge"`) != 2 {
		t.Errorf("cycle: %s", svg)
	}
}

// TestSVGLabelsApart: two edges crossing between the same columns put their labels at one
// spot; the second moves to a free line.
func TestSVGLabelsApart(t *testing.T) {
	g := &graph.Graph{Root: "a",
		Nodes: []graph.Node{{ID: "a", Kind: graph.KindDataset, Name: "a"}, {ID: "b", Kind: graph.KindDataset, Name: "b"},
			{ID: "c", Kind: graph.KindDataset, Name: "c"}, {ID: "d", Kind: graph.KindDataset, Name: "d"}},
		Edges: []graph.Edge{{From: "a", To: "d", Job: "one"}, {From: "b", To: "c", Job: "two"}},
	}
	m := regexp.MustCompile(`<text x="(\d+)" y="(\d+)" text-anchor="middle"[^>]*>(one|two)</text>`).FindAllStringSubmatch(g.SVG(), -1)
	if len(m) != 2 {
		t.Fatalf("labels: %v", m)
	}
	if m[0][1] == m[1][1] && m[0][2] == m[1][2] {
		t.Errorf("both labels at x=%s y=%s", m[0][1], m[0][2])
	}
}
