package graph

import (
	"fmt"
	"html"
	"sort"
	"strconv"
	"strings"
)

// SVG drawing sizes, in pixels.
const (
	svgCharWidth = 7 // of the 12 px sans-serif labels, on average
	svgNodeH     = 44
	svgColGap    = 120
	svgRowGap    = 24
	svgMargin    = 16
	svgMinNodeW  = 120
)

// SVG draws the graph as a standalone SVG image, left to right: each node in the column of its
// longest path from a node with no inputs, so data flows rightwards; datasets as rounded boxes
// coloured by zone, streams as pills, objects as plain boxes; edges as curves labelled with the
// job and rows. The root is drawn with a thick border. Every text is XML-escaped, so whatever
// the lineage ids hold, the image cannot carry markup. The layout is deterministic: the same
// graph gives the same bytes.
//
// Nodes are <g class="node" data-id="..." data-kind="..."> and edges <g class="edge">, so a
// page (or a test) can find them.
func (g *Graph) SVG() string {
	col := g.columns()
	// Columns in order, nodes in each by their order in the graph (stable across calls).
	maxCol := 0
	for _, c := range col {
		maxCol = max(maxCol, c)
	}
	byCol := make([][]int, maxCol+1)
	for i := range g.Nodes {
		byCol[col[i]] = append(byCol[col[i]], i)
	}
	width := make([]int, len(g.Nodes))
	colW := make([]int, maxCol+1)
	for i := range g.Nodes {
		width[i] = max(svgMinNodeW, svgCharWidth*max(len([]rune(g.Nodes[i].svgLabel())), len([]rune(g.Nodes[i].svgSub())))+24)
		colW[col[i]] = max(colW[col[i]], width[i])
	}
	x := make([]int, maxCol+1)
	cx := svgMargin
	for c := range colW {
		x[c] = cx
		cx += colW[c] + svgColGap
	}
	pos := make([][2]int, len(g.Nodes))
	tallest := 0
	for _, nodes := range byCol {
		tallest = max(tallest, len(nodes))
	}
	totalH := 2*svgMargin + max(1, tallest)*(svgNodeH+svgRowGap) - svgRowGap
	for c, nodes := range byCol {
		// Centre each column vertically.
		h := len(nodes)*(svgNodeH+svgRowGap) - svgRowGap
		y := (totalH - h) / 2
		for _, i := range nodes {
			pos[i] = [2]int{x[c], y}
			y += svgNodeH + svgRowGap
		}
	}
	totalW := cx - svgColGap + svgMargin
	if len(g.Nodes) == 0 {
		totalW = 2*svgMargin + 320
	}

	var b strings.Builder
	// Presentation attributes rather than a <style> element: a page with a strict Content
	// Security Policy (the console's) applies attributes but refuses inline style sheets.
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="lineage" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s" font-family="sans-serif" font-size="12" fill="#222">`,
		totalW, totalH, totalW, totalH, esc("lineage of "+g.Root))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>`)
	if len(g.Nodes) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d">no lineage recorded for %s</text>`, svgMargin, totalH/2, esc(g.Root))
	}
	index := make(map[string]int, len(g.Nodes))
	for i, n := range g.Nodes {
		index[n.ID] = i
	}
	var placed [][4]int // label boxes drawn so far: x0, y0, x1, y1
	for _, e := range g.Edges {
		from, okF := index[e.From]
		to, okT := index[e.To]
		if !okF || !okT {
			continue
		}
		x1, y1 := pos[from][0]+width[from], pos[from][1]+svgNodeH/2
		x2, y2 := pos[to][0], pos[to][1]+svgNodeH/2
		if x2 <= x1 { // an edge against the flow (a cycle): leave from the node's left side
			x1 = pos[from][0]
		}
		mx := (x1 + x2) / 2
		label := e.Job
		if e.Rows != nil {
			label += ": " + strconv.FormatInt(*e.Rows, 10) + " rows"
		}
		if e.Runs > 1 {
			label += ", " + strconv.Itoa(e.Runs) + " runs"
		}
		ly := freeSpot(&placed, mx, (y1+y2)/2-4, len([]rune(label))*6)
		// A white halo under the label keeps it readable where it crosses another edge.
		fmt.Fprintf(&b, `<g class="edge" data-from="%s" data-to="%s"><path d="M%d,%d C%d,%d %d,%d %d,%d" fill="none" stroke="#777" stroke-width="1.5" marker-end="url(#arrow)"/><text x="%d" y="%d" text-anchor="middle" font-size="11" fill="#444" stroke="#fff" stroke-width="3" paint-order="stroke">%s</text></g>`,
			esc(e.From), esc(e.To), x1, y1, mx, y1, mx, y2, x2, y2, mx, ly, esc(label))
	}
	for i, n := range g.Nodes {
		px, py := pos[i][0], pos[i][1]
		fill, rx := nodeStyle(n)
		stroke := "1"
		if n.ID == g.Root || (n.Kind == KindDataset && n.Dataset == g.Root) {
			stroke = "3"
		}
		fmt.Fprintf(&b, `<g class="node" data-id="%s" data-kind="%s"><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" rx="%d" fill="%s" stroke="#333" stroke-width="%s"/>`,
			esc(n.ID), esc(n.Kind), esc(n.ID), px, py, width[i], svgNodeH, rx, fill, stroke)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`, px+12, py+18, esc(n.svgLabel()))
		if sub := n.svgSub(); sub != "" {
			fmt.Fprintf(&b, `<text class="sub" x="%d" y="%d" font-size="11" fill="#555">%s</text>`, px+12, py+34, esc(sub))
		}
		b.WriteString(`</g>`)
	}
	if g.Truncated {
		fmt.Fprintf(&b, `<text class="sub" x="%d" y="%d" font-size="11" fill="#555">truncated (%s)</text>`, svgMargin, totalH-4, esc(g.Reason))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func esc(s string) string { return html.EscapeString(s) }

// svgLabel is the node's first line: the dataset with its zone, the stream's or object's name.
func (n *Node) svgLabel() string {
	switch n.Kind {
	case KindDataset:
		if n.Zone != "" && n.Dataset != "" {
			return n.Zone + " / " + n.Dataset
		}
	case KindStream:
		return "stream " + n.Name
	}
	return n.Name
}

// svgSub is the node's second line: its rows where the lineage records them.
func (n *Node) svgSub() string {
	if n.Rows != nil {
		return strconv.FormatInt(*n.Rows, 10) + " rows"
	}
	if n.Kind == KindObject && n.Zone != "" {
		return n.Zone
	}
	return ""
}

// nodeStyle is a node's fill and corner radius: datasets by zone, streams as pills.
func nodeStyle(n Node) (fill string, rx int) {
	switch n.Kind {
	case KindStream, KindStreamRange:
		return "#e8eefc", svgNodeH / 2
	case KindObject:
		return "#f4f4f4", 2
	}
	switch n.Zone {
	case "raw":
		return "#f3e6d8", 8
	case "cleansed":
		return "#e3f1e3", 8
	case "curated":
		return "#dcecf7", 8
	case "quarantine":
		return "#f7dede", 8
	}
	return "#eeeeee", 8
}

// columns places each node in the column of its longest path from a node without inputs
// (edges that would close a cycle are ignored), then moves nodes without inputs right next to
// the first node they feed, so a stream sits beside the dataset it feeds.
func (g *Graph) columns() []int {
	index := make(map[string]int, len(g.Nodes))
	for i, n := range g.Nodes {
		index[n.ID] = i
	}
	type edge struct{ from, to int }
	var edges []edge
	for _, e := range g.Edges {
		f, okF := index[e.From]
		t, okT := index[e.To]
		if okF && okT && f != t {
			edges = append(edges, edge{f, t})
		}
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].from != edges[j].from {
			return edges[i].from < edges[j].from
		}
		return edges[i].to < edges[j].to
	})
	col := make([]int, len(g.Nodes))
	// Bellman-Ford style relaxation, at most len(nodes) rounds: a cycle stops growing there.
	for round := 0; round < len(g.Nodes); round++ {
		changed := false
		for _, e := range edges {
			if col[e.to] < col[e.from]+1 && col[e.from]+1 < len(g.Nodes) {
				col[e.to] = col[e.from] + 1
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	hasIn := make([]bool, len(g.Nodes))
	for _, e := range edges {
		hasIn[e.to] = true
	}
	for i := range g.Nodes {
		if hasIn[i] {
			continue
		}
		first := -1
		for _, e := range edges {
			if e.from == i && (first < 0 || col[e.to] < first) {
				first = col[e.to]
			}
		}
		if first > 0 {
			col[i] = first - 1
		}
	}
	return col
}

// freeSpot is the baseline nearest y at which a label of width w centred on x overlaps no label
// placed before it (edges crossing between two columns would put theirs on one spot), and
// records it as taken.
func freeSpot(placed *[][4]int, x, y, w int) int {
	const lineH = 13
	for i := 0; i < 40; i++ {
		// 0, -1, +1, -2, +2 ... lines away.
		dy := (i + 1) / 2 * lineH
		if i%2 == 1 {
			dy = -dy
		}
		box := [4]int{x - w/2, y + dy - 10, x + w/2, y + dy + 3}
		free := true
		for _, p := range *placed {
			if box[0] < p[2] && p[0] < box[2] && box[1] < p[3] && p[1] < box[3] {
				free = false
				break
			}
		}
		if free {
			*placed = append(*placed, box)
			return y + dy
		}
	}
	return y
}
