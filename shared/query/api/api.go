// Package api is the lake's query HTTP API, independent of how requests arrive: the query
// Lambda feeds it API Gateway events, the local host serves it as an http.Handler, so a query
// written against one runs unchanged against the other.
//
//	POST /queries[?wait=<seconds>&page_size=<n>]  start a structured query → 202 {id, state, ...}
//	                                              (with wait: 200 with the first page when it finishes in time)
//	GET  /queries/{id}                            state, bytes scanned, run time, error
//	GET  /queries/{id}/results?page_size=&page_token=   a page of rows
//	GET  /lineage?dataset=<[zone/]dataset>|object=s3://<bucket>/<key>[&depth=<1-10>&format=json|mermaid|svg]
//	                                              the lineage graph up and down (shared/lineage/graph)
//	GET  /datasets                                the catalog: every dataset the caller may read, its zones and freshness
//	GET  /datasets/{name}                         one dataset: contract, zones, quality, lineage neighbours (shared/catalog)
//
// Problems with a request are 400s whose message says what is wrong; an unknown id is a 404;
// results asked for before the query succeeded are a 409 that carries the state.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelake/sluice/shared/catalog"
	"github.com/sluicelake/sluice/shared/query"
)

// Service answers query API requests.
type Service struct {
	Compiler *query.Compiler
	Engine   query.Engine
	Log      *slog.Logger
	// MaxWait bounds the wait option; API Gateway cuts HTTP APIs off at 29 s. Default 25 s.
	MaxWait time.Duration
	// Catalog answers GET /datasets; nil answers those routes 404 with what to configure.
	Catalog *catalog.Catalog
}

// Request is one API call.
type Request struct {
	Method string
	// Path starts at /queries (any stage or base path before it is ignored).
	Path  string
	Query url.Values
	Body  []byte
}

// Response is the API's answer: a status and a body, JSON unless ContentType says otherwise.
type Response struct {
	Status int
	Body   []byte
	// ContentType is empty for JSON (every answer but a Mermaid diagram).
	ContentType string
}

// JSON is the content type of every answer but a Mermaid diagram.
const JSON = "application/json"

// Type is the response's content type.
func (r Response) Type() string {
	if r.ContentType == "" {
		return JSON
	}
	return r.ContentType
}

const defaultMaxWait = 25 * time.Second

// Started is the answer to POST /queries.
type Started struct {
	query.Status
	StatusURL  string      `json:"status_url"`
	ResultsURL string      `json:"results_url"`
	SQL        string      `json:"sql"`
	Results    *query.Page `json:"results,omitempty"`
}

// Serve routes one request.
func (s *Service) Serve(ctx context.Context, r Request) Response {
	path := r.Path
	if i := strings.Index(path, "/queries"); i >= 0 {
		path = path[i:]
	} else if strings.HasSuffix(strings.TrimSuffix(path, "/"), "/lineage") {
		path = "/lineage"
	} else if i := strings.Index(path, "/datasets"); i >= 0 {
		path = path[i:]
	}
	path = strings.TrimSuffix(path, "/")
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "lineage":
		if r.Method != http.MethodGet {
			return errorf(http.StatusMethodNotAllowed, "use GET /lineage?dataset=… or ?object=s3://bucket/key")
		}
		return s.lineage(ctx, r.Query)
	case parts[0] == "datasets" && len(parts) <= 2:
		return s.datasets(ctx, r, parts[1:])
	case len(parts) == 1 && parts[0] == "queries":
		if r.Method != http.MethodPost {
			return errorf(http.StatusMethodNotAllowed, "use POST /queries to start a query")
		}
		return s.start(ctx, r)
	case len(parts) == 2 && parts[0] == "queries":
		if r.Method != http.MethodGet {
			return errorf(http.StatusMethodNotAllowed, "use GET /queries/{id}")
		}
		return s.status(ctx, parts[1])
	case len(parts) == 3 && parts[0] == "queries" && parts[2] == "results":
		if r.Method != http.MethodGet {
			return errorf(http.StatusMethodNotAllowed, "use GET /queries/{id}/results")
		}
		size, err := pageSize(r.Query)
		if err != nil {
			return errorf(http.StatusBadRequest, "%v", err)
		}
		return s.results(ctx, parts[1], r.Query.Get("page_token"), size)
	}
	return errorf(http.StatusNotFound, "no route %s %s: the API has POST /queries, GET /queries/{id}, GET /queries/{id}/results, GET /lineage, GET /datasets[/{name}]", r.Method, clip(r.Path))
}

func (s *Service) start(ctx context.Context, r Request) Response {
	wait, err := s.waitFor(r.Query.Get("wait"))
	if err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	size, err := pageSize(r.Query)
	if err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	req, err := query.Decode(strings.NewReader(string(r.Body)))
	if err != nil {
		return badRequest(err)
	}
	q, err := s.Compiler.Compile(req)
	if err != nil {
		return badRequest(err)
	}
	id, err := s.Engine.Start(ctx, q)
	if err != nil {
		return s.internal("start query", err)
	}
	out := Started{Status: query.Status{ID: id, State: query.Queued}, StatusURL: "/queries/" + id,
		ResultsURL: "/queries/" + id + "/results", SQL: q.SQL}
	if wait > 0 {
		st, err := s.poll(ctx, id, wait)
		if err != nil {
			return s.internal("poll query", err)
		}
		out.Status = *st
		if st.State == query.Succeeded {
			page, err := s.Engine.Results(ctx, id, "", size)
			if err != nil {
				return s.internal("read results", err)
			}
			out.Results = page
			return jsonResponse(http.StatusOK, out)
		}
		if st.State.Done() {
			return jsonResponse(http.StatusOK, out)
		}
	}
	return jsonResponse(http.StatusAccepted, out)
}

// poll waits for the query to finish, checking often at first (small queries finish in tens
// of milliseconds) and then every second.
func (s *Service) poll(ctx context.Context, id string, wait time.Duration) (*query.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	delay := 25 * time.Millisecond
	for {
		st, err := s.Engine.Status(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return &query.Status{ID: id, State: query.Running}, nil
			}
			return nil, err
		}
		if st.State.Done() {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, nil
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}

func (s *Service) status(ctx context.Context, id string) Response {
	st, err := s.Engine.Status(ctx, id)
	if errors.Is(err, query.ErrNotFound) {
		return errorf(http.StatusNotFound, "no query with id %q", clip(id))
	}
	if err != nil {
		return s.internal("query status", err)
	}
	return jsonResponse(http.StatusOK, st)
}

func (s *Service) results(ctx context.Context, id, token string, size int) Response {
	page, err := s.Engine.Results(ctx, id, token, size)
	switch {
	case errors.Is(err, query.ErrNotFound):
		return errorf(http.StatusNotFound, "no query with id %q", clip(id))
	case errors.Is(err, query.ErrBadToken):
		return errorf(http.StatusBadRequest, "page_token: %v; use the next_token of the previous page", err)
	case errors.Is(err, query.ErrNotReady):
		st, serr := s.Engine.Status(ctx, id)
		if serr != nil {
			return s.internal("query status", serr)
		}
		msg := fmt.Sprintf("query %s is %s: results exist once it has SUCCEEDED", id, st.State)
		if st.Error != "" {
			msg += ": " + st.Error
		}
		return jsonResponse(http.StatusConflict, map[string]any{"error": msg, "state": st.State})
	case err != nil:
		return s.internal("read results", err)
	}
	return jsonResponse(http.StatusOK, page)
}

func (s *Service) waitFor(v string) (time.Duration, error) {
	maxWait := s.MaxWait
	if maxWait <= 0 {
		maxWait = defaultMaxWait
	}
	switch v {
	case "", "0", "false":
		return 0, nil
	case "true":
		return maxWait, nil
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("wait: give seconds (at most %g) or true, not %q", maxWait.Seconds(), clip(v))
	}
	return min(time.Duration(n*float64(time.Second)), maxWait), nil
}

func pageSize(q url.Values) (int, error) {
	v := q.Get("page_size")
	if v == "" {
		return query.DefaultPageSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > query.MaxPageSize {
		return 0, fmt.Errorf("page_size: give a whole number from 1 to %d, not %q", query.MaxPageSize, clip(v))
	}
	return n, nil
}

func badRequest(err error) Response {
	var qe *query.Error
	if errors.As(err, &qe) {
		return jsonResponse(http.StatusBadRequest, map[string]string{"error": qe.Error(), "field": qe.Field})
	}
	return errorf(http.StatusBadRequest, "%v", err)
}

func (s *Service) internal(doing string, err error) Response {
	if s.Log != nil {
		s.Log.Error("query API: "+doing, "error", err)
	}
	return errorf(http.StatusInternalServerError, "%s failed: %v", doing, err)
}

func errorf(status int, format string, a ...any) Response {
	return jsonResponse(status, map[string]string{"error": fmt.Sprintf(format, a...)})
}

func jsonResponse(status int, v any) Response {
	b, err := json.Marshal(v)
	if err != nil {
		return Response{Status: http.StatusInternalServerError, Body: []byte(`{"error":"encode the response"}`)}
	}
	return Response{Status: status, Body: b}
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// ServeHTTP serves the API over plain HTTP (the local host).
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	var resp Response
	if err != nil {
		resp = errorf(http.StatusRequestEntityTooLarge, "%v", err)
	} else {
		resp = s.Serve(r.Context(), Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body})
	}
	w.Header().Set("Content-Type", resp.Type())
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, query.MaxRequestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the request body: %w", err)
	}
	if len(b) > query.MaxRequestBytes {
		return nil, fmt.Errorf("the request body is larger than %d bytes", query.MaxRequestBytes)
	}
	return b, nil
}
