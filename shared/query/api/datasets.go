package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/sluicelake/sluice/shared/access"
	"github.com/sluicelake/sluice/shared/catalog"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/lineage/graph"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/zone"
)

// datasets answers GET /datasets (name empty) and GET /datasets/{name}.
func (s *Service) datasets(ctx context.Context, r Request, name []string) Response {
	if r.Method != http.MethodGet {
		return errorf(http.StatusMethodNotAllowed, "use GET /datasets or GET /datasets/{name}")
	}
	if s.Catalog == nil {
		return errorf(http.StatusNotFound, "this API serves no catalog: give the service a catalog.Catalog (the query function does when its zone buckets are configured)")
	}
	access := s.catalogAccess(r)
	if len(name) == 0 || name[0] == "" {
		list, err := s.Catalog.List(ctx, access)
		if err != nil {
			return s.internal("list the datasets", err)
		}
		return jsonResponse(http.StatusOK, map[string]any{"datasets": list})
	}
	d, err := s.Catalog.Get(ctx, name[0], access)
	if errors.Is(err, catalog.ErrNotFound) {
		return errorf(http.StatusNotFound, "%v", err)
	}
	if err != nil {
		return s.internal("describe the dataset", err)
	}
	return jsonResponse(http.StatusOK, d)
}

// catalogAccess is what the caller of r may see of the catalog: what the access rules let it
// read. The quarantine zone holds rejected records as sent, so it shows to those who may read
// cleansed.
func (s *Service) catalogAccess(r Request) catalog.Access {
	var policy *access.Policy
	if s.Compiler != nil {
		policy = s.Compiler.Access
	}
	asRead := func(z zone.Zone) zone.Zone {
		if z == zone.Quarantine {
			return zone.Cleansed
		}
		return z
	}
	return catalog.Access{
		Visible: func(dataset string, z zone.Zone) bool { return policy.Zone(r.Caller, dataset, asRead(z)) == nil },
		Column: func(dataset string, z zone.Zone, f *contract.Field) bool {
			return policy.Column(r.Caller, dataset, asRead(z), f) == nil
		},
	}
}

// LineageNeighbours gives the catalog a dataset's lineage one hop up and down, read through the
// engine as GET /lineage reads it; nothing (and no query) while no lineage is recorded.
func LineageNeighbours(engine query.Engine, compiler *query.Compiler) func(context.Context, string) (*graph.Graph, error) {
	return func(ctx context.Context, dataset string) (*graph.Graph, error) {
		if compiler != nil && compiler.HasData != nil && !compiler.HasData(table.Zone, table.Dataset) {
			return &graph.Graph{Root: dataset, Nodes: []graph.Node{}, Edges: []graph.Edge{}}, nil
		}
		return graph.Build(ctx, engine, graph.Request{Dataset: dataset, Depth: 1})
	}
}
