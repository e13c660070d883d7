package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"

	"github.com/sluicelake/sluice/shared/lineage/graph"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/query"
)

// Mermaid is the content type of a lineage graph drawn as a Mermaid flowchart.
const Mermaid = "text/plain; charset=utf-8"

// SVG is the content type of a lineage graph drawn as an image (format=svg).
const SVG = "image/svg+xml"

var lineageParams = []string{"dataset", "object", "depth", "since", "format"}

// lineage answers GET /lineage: the graph as JSON, or as Mermaid text with format=mermaid.
func (s *Service) lineage(ctx context.Context, q url.Values) Response {
	var unknown []string
	for k := range q {
		if !slices.Contains(lineageParams, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		// A misspelt parameter must not quietly give another graph.
		sort.Strings(unknown)
		return errorf(http.StatusBadRequest, "unknown parameter %q: /lineage takes dataset or object, depth, since and format", clip(unknown[0]))
	}
	for _, k := range lineageParams {
		if len(q[k]) > 1 {
			return errorf(http.StatusBadRequest, "%s: give it once", k)
		}
	}
	req := graph.Request{Dataset: q.Get("dataset"), Object: q.Get("object"), Since: q.Get("since")}
	if v := q.Get("depth"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errorf(http.StatusBadRequest, "depth: give a whole number from 1 to %d, not %q", graph.MaxDepth, clip(v))
		}
		req.Depth = n
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "mermaid" && format != "svg" {
		return errorf(http.StatusBadRequest, "format: json (the default), mermaid or svg, not %q", clip(format))
	}
	if s.Compiler != nil && s.Compiler.HasData != nil && !s.Compiler.HasData(table.Zone, table.Dataset) {
		return errorf(http.StatusNotFound, "no lineage is recorded yet: the lineage function writes it to the lineage bucket as objects arrive in the zones")
	}
	g, err := graph.Build(ctx, s.Engine, req)
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			return badRequest(err)
		}
		return s.internal("build the lineage graph", err)
	}
	if format == "mermaid" {
		return Response{Status: http.StatusOK, Body: []byte(g.Mermaid()), ContentType: Mermaid}
	}
	if format == "svg" {
		return Response{Status: http.StatusOK, Body: []byte(g.SVG()), ContentType: SVG}
	}
	return jsonResponse(http.StatusOK, g)
}
