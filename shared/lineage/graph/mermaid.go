package graph

import (
	"fmt"
	"strconv"
	"strings"
)

// Mermaid renders the graph as a Mermaid flowchart, left to right. Node ids are n0, n1, ... in
// the graph's node order (whatever the lineage ids hold, the diagram's syntax cannot break);
// labels are quoted with Mermaid's entity codes for the characters that would end them. The
// root (every node of a dataset asked for without a zone) is drawn bold.
func (g *Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	ids := make(map[string]string, len(g.Nodes))
	var roots []string
	for i, n := range g.Nodes {
		id := "n" + strconv.Itoa(i)
		ids[n.ID] = id
		label := escape(n.label())
		if n.Kind == KindObject && n.Zone != "" {
			label = escape(n.Zone) + ": " + label
		}
		if n.Rows != nil {
			label += "<br/>" + strconv.FormatInt(*n.Rows, 10) + " rows"
		}
		open, close := shape(n.Kind)
		fmt.Fprintf(&b, "  %s%s\"%s\"%s\n", id, open, label, close)
		if n.ID == g.Root || (n.Kind == KindDataset && n.Dataset == g.Root) {
			roots = append(roots, id)
		}
	}
	for _, e := range g.Edges {
		label := e.Job
		if e.Rows != nil {
			label += ": " + strconv.FormatInt(*e.Rows, 10) + " rows"
		}
		if e.Runs > 1 {
			label += ", " + strconv.Itoa(e.Runs) + " runs"
		}
		fmt.Fprintf(&b, "  %s -->|\"%s\"| %s\n", ids[e.From], escape(label), ids[e.To])
	}
	if len(roots) > 0 {
		b.WriteString("  classDef root stroke-width:3px\n")
		fmt.Fprintf(&b, "  class %s root\n", strings.Join(roots, ","))
	}
	switch {
	case !g.Truncated:
	case g.Reason == TruncatedBudget:
		b.WriteString("  %% truncated: the walk ran out of time; ask for a later since or a smaller depth\n")
	case g.Reason == TruncatedWidth:
		b.WriteString("  %% truncated: a level had more nodes or rows than a walk reads; ask for a later since or a zone/dataset\n")
	default:
		fmt.Fprintf(&b, "  %%%% truncated at depth %d: ask for a greater depth to see more\n", g.Depth)
	}
	return b.String()
}

func (n *Node) label() string {
	if n.Kind == KindStream {
		return n.ID
	}
	return n.Name
}

// shape draws datasets as cylinders, streams and their ranges as stadiums, objects as boxes.
func shape(kind string) (string, string) {
	switch kind {
	case KindDataset:
		return "[(", ")]"
	case KindStream, KindStreamRange:
		return "([", "])"
	}
	return "[", "]"
}

// escape writes the characters that could end a quoted Mermaid label (or start markup) as
// Mermaid entity codes.
var escaper = strings.NewReplacer(`#`, "#35;", `"`, "#quot;", `<`, "#lt;", `>`, "#gt;", `|`, "#124;",
	"\n", " ", "\r", " ", "`", "#96;", `&`, "#amp;")

func escape(s string) string { return escaper.Replace(s) }
