package duckengine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sluicelake/sluice/shared/access"
	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/catalog"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/query/api"
)

// Server is the query HTTP API of the local lake on 127.0.0.1: the same API the deployed query
// function serves, on this engine.
type Server struct {
	// URL is the API's base URL, e.g. http://127.0.0.1:41234.
	URL    string
	Engine *Engine
	srv    *http.Server
	done   chan error
}

// ServeOptions configure Serve.
type ServeOptions struct {
	Engine Options
	// Contracts are the datasets, by name (events.Registry()).
	Contracts map[string]*contract.Contract
	// Summaries are the consumption zone's tables, by name (summary.Contracts(summary.Shipped())).
	Summaries map[string]*contract.Contract
	// Addr to listen on; default 127.0.0.1:0 (a free port). Only loopback addresses are accepted.
	Addr string
	// RawSQL switches on raw SELECTs, as SLUICE_RAW_SQL does for the deployed function.
	RawSQL bool
	// Access is what each caller may read (events.Access()); callers name themselves in the
	// X-Sluice-Caller header, since the local host has no IAM to verify a signature.
	Access *access.Policy
	// Tables gives a dataset's curated table for GET /tables/{dataset}/history and rollback;
	// nil reads them from the lake directory (the local lake's own catalog pointer).
	Tables func(dataset string) *iceberg.Table
	// Erase carries out POST /erase (the local host erases through the S3 stand-in); nil
	// answers it 404.
	Erase api.Eraser
	// Audit records every request (the local host writes to its audit bucket); nil records none.
	Audit audit.Sink
	Log   *slog.Logger
	// Routes are further handlers on the same address, by path pattern of http.ServeMux (the
	// local host's POST /events, say); everything else is the query API.
	Routes map[string]http.Handler
	// Catalog, when set, answers GET /datasets; without its own Lineage it reads the
	// neighbours through this engine.
	Catalog *catalog.Catalog
}

// Serve opens an engine over the lake directory and serves the query API until Close.
func Serve(opts ServeOptions) (*Server, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		return nil, fmt.Errorf("duckengine: serve on a loopback address such as 127.0.0.1:8088, not %q", addr)
	}
	eng, err := Open(opts.Engine)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		eng.Close()
		return nil, fmt.Errorf("duckengine: listen on %s: %w", addr, err)
	}
	svc := &api.Service{
		Compiler: &query.Compiler{Contracts: opts.Contracts, Summaries: opts.Summaries, RawSQL: opts.RawSQL, HasData: eng.HasData, Access: opts.Access},
		Engine:   eng,
		Log:      opts.Log,
		Identify: api.HeaderCaller,
		Audit:    opts.Audit,
		Tables:   opts.Tables,
		Erase:    opts.Erase,
	}
	if svc.Tables == nil {
		svc.Tables = eng.Table
	}
	if opts.Catalog != nil {
		if opts.Catalog.Lineage == nil {
			opts.Catalog.Lineage = api.LineageNeighbours(eng, svc.Compiler)
		}
		svc.Catalog = opts.Catalog
	}
	var h http.Handler = svc
	if len(opts.Routes) > 0 {
		mux := http.NewServeMux()
		mux.Handle("/", svc)
		for pattern, route := range opts.Routes {
			mux.Handle(pattern, route)
		}
		h = mux
	}
	s := &Server{URL: "http://" + l.Addr().String(), Engine: eng, done: make(chan error, 1),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, nil
}

// SampleCurl is a command that queries the served API, for printing at start-up.
func (s *Server) SampleCurl() string {
	return fmt.Sprintf(`curl -s -X POST '%s/queries?wait=10' -d '{"dataset":"user_events","group_by":["event_type"],"aggregates":[{"fn":"count","as":"events"}],"order_by":[{"column":"events","desc":true}]}'`, s.URL)
}

// Close stops serving and closes the engine.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return errors.Join(err, s.Engine.Close())
}
