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
//	POST /erase {"dataset","key"[,"field"]}       every row of a key removed from every zone (shared/erase; needs manage)
//
// Problems with a request are 400s whose message says what is wrong; an unknown id is a 404;
// results asked for before the query succeeded are a 409 that carries the state.
package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicelake/sluice/shared/access"
	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/catalog"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/query"
)

// Service answers query API requests.
type Service struct {
	Compiler *query.Compiler
	Engine   query.Engine
	Log      *slog.Logger
	// MaxWait bounds the wait option; API Gateway cuts HTTP APIs off at 29 s. Default 25 s.
	MaxWait time.Duration
	// Audit, when set, records every request: who, what it touched, what it cost, how it ended.
	// A request whose record cannot be written is answered 503 and returns nothing: a read
	// that leaves no trace does not happen.
	Audit audit.Sink
	// Identify names the caller of a plain HTTP request (ServeHTTP, the local host); nil
	// leaves every such caller anonymous. The Lambda takes the caller from API Gateway instead.
	Identify func(*http.Request) access.Caller
	// Catalog answers GET /datasets; nil answers those routes 404 with what to configure.
	Catalog *catalog.Catalog
	// Tables gives a dataset's curated Iceberg table, for its history and rollback; nil
	// answers those routes 404.
	Tables func(dataset string) *iceberg.Table
	// Erase carries out POST /erase; nil answers it 404.
	Erase Eraser
}

// Request is one API call.
type Request struct {
	Method string
	// Path starts at /queries (any stage or base path before it is ignored).
	Path  string
	Query url.Values
	Body  []byte
	// Caller is who asks: the principal API Gateway's IAM authorizer vouched for (locally, the
	// caller the host was told). Queries are compiled for it, and a query's status and results
	// go to it alone.
	Caller access.Caller
	// RequestID is API Gateway's request id (one of the local host's own locally).
	RequestID string
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

// Serve answers one request and, with Audit set, records it before the answer leaves.
func (s *Service) Serve(ctx context.Context, r Request) Response {
	rec := &audit.Record{Time: time.Now().UTC(), RequestID: r.RequestID, Caller: r.Caller.ARN,
		Method: r.Method, Path: clip(r.Path), Request: string(r.Body)}
	if len(rec.Request) > audit.MaxRequest {
		rec.Request = rec.Request[:audit.MaxRequest]
	}
	resp := s.route(ctx, r, rec)
	if s.Audit == nil {
		return resp
	}
	if rec.RequestID == "" {
		rec.RequestID = fmt.Sprintf("%d", rec.Time.UnixNano())
	}
	rec.Status, rec.Outcome = resp.Status, outcome(resp.Status)
	if resp.Status >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(resp.Body, &e)
		rec.Reason = e.Error
	}
	if err := s.Audit.Write(ctx, *rec); err != nil {
		if s.Log != nil {
			s.Log.Error("query API: audit record not written; request refused", "request_id", rec.RequestID, "error", err)
		}
		return errorf(http.StatusServiceUnavailable, "the request was not answered because its audit record could not be written (%v): try again", err)
	}
	return resp
}

func outcome(status int) string {
	switch {
	case status < 300:
		return audit.OK
	case status == http.StatusForbidden:
		return audit.Denied
	case status == http.StatusNotFound:
		return audit.NotFound
	case status < 500:
		return audit.Invalid
	}
	return audit.Error
}

// route answers one request, noting in rec what it touched.
func (s *Service) route(ctx context.Context, r Request, rec *audit.Record) Response {
	path := r.Path
	if i := strings.Index(path, "/queries"); i >= 0 {
		path = path[i:]
	} else if strings.HasSuffix(strings.TrimSuffix(path, "/"), "/lineage") {
		path = "/lineage"
	} else if i := strings.Index(path, "/datasets"); i >= 0 {
		path = path[i:]
	} else if i := strings.Index(path, "/tables/"); i >= 0 {
		path = path[i:]
	} else if strings.HasSuffix(strings.TrimSuffix(path, "/"), "/erase") {
		path = "/erase"
	}
	path = strings.TrimSuffix(path, "/")
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "lineage":
		if r.Method != http.MethodGet {
			return errorf(http.StatusMethodNotAllowed, "use GET /lineage?dataset=… or ?object=s3://bucket/key")
		}
		rec.Datasets, rec.Zones = r.Query.Get("dataset"), "lineage"
		return s.lineage(ctx, r.Query)
	case parts[0] == "tables":
		return s.tables(ctx, r, parts, rec)
	case len(parts) == 1 && parts[0] == "erase":
		return s.erase(ctx, r, rec)
	case parts[0] == "datasets" && len(parts) <= 2:
		return s.datasets(ctx, r, parts[1:])
	case len(parts) == 1 && parts[0] == "queries":
		if r.Method != http.MethodPost {
			return errorf(http.StatusMethodNotAllowed, "use POST /queries to start a query")
		}
		return s.start(ctx, r, rec)
	case len(parts) == 2 && parts[0] == "queries":
		if r.Method != http.MethodGet {
			return errorf(http.StatusMethodNotAllowed, "use GET /queries/{id}")
		}
		rec.QueryID = parts[1]
		return s.status(ctx, r.Caller, parts[1], rec)
	case len(parts) == 3 && parts[0] == "queries" && parts[2] == "results":
		if r.Method != http.MethodGet {
			return errorf(http.StatusMethodNotAllowed, "use GET /queries/{id}/results")
		}
		size, err := pageSize(r.Query)
		if err != nil {
			return errorf(http.StatusBadRequest, "%v", err)
		}
		rec.QueryID = parts[1]
		return s.results(ctx, r.Caller, parts[1], r.Query.Get("page_token"), size, rec)
	}
	return errorf(http.StatusNotFound, "no route %s %s: the API has POST /queries, GET /queries/{id}, GET /queries/{id}/results, GET /lineage, GET /datasets[/{name}], POST /erase", r.Method, clip(r.Path))
}

func (s *Service) start(ctx context.Context, r Request, rec *audit.Record) Response {
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
	rec.Datasets, rec.Zones = req.Dataset, req.Zone
	q, err := s.Compiler.CompileAs(r.Caller, req)
	if err != nil {
		var denied *access.Denied
		if errors.As(err, &denied) {
			rec.Datasets, rec.Zones, rec.Columns = denied.Dataset, string(denied.Zone), denied.Column
		}
		return badRequest(err)
	}
	q.Owner = Owner(r.Caller)
	rec.Datasets, rec.Zones = tablesOf(q)
	rec.Columns, rec.SQLHash = strings.Join(q.Columns, ","), audit.HashSQL(q.SQL)
	id, err := s.Engine.Start(ctx, q)
	if err != nil {
		return s.internal("start query", err)
	}
	rec.QueryID = id
	out := Started{Status: query.Status{ID: id, State: query.Queued}, StatusURL: "/queries/" + id,
		ResultsURL: "/queries/" + id + "/results", SQL: q.SQL}
	if wait > 0 {
		st, err := s.poll(ctx, id, wait)
		if err != nil {
			return s.internal("poll query", err)
		}
		out.Status = *st
		rec.BytesScanned = st.BytesScanned
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

// Owner is the opaque name a caller's queries carry (query.Query.Owner).
func Owner(c access.Caller) string {
	sum := sha256.Sum256([]byte("sluice query owner\x00" + c.ARN))
	return hex.EncodeToString(sum[:16])
}

// owned is the status of a query the caller started; another caller's query is as unknown to
// it as one that never ran, so an id seen in a log reads nothing.
func (s *Service) owned(ctx context.Context, c access.Caller, id string) (*query.Status, error) {
	st, err := s.Engine.Status(ctx, id)
	if err != nil {
		return nil, err
	}
	if st.Owner != Owner(c) {
		return nil, query.ErrNotFound
	}
	return st, nil
}

func (s *Service) status(ctx context.Context, c access.Caller, id string, rec *audit.Record) Response {
	st, err := s.owned(ctx, c, id)
	if st != nil {
		rec.BytesScanned = st.BytesScanned
	}
	if errors.Is(err, query.ErrNotFound) {
		return errorf(http.StatusNotFound, "no query with id %q", clip(id))
	}
	if err != nil {
		return s.internal("query status", err)
	}
	return jsonResponse(http.StatusOK, st)
}

func (s *Service) results(ctx context.Context, c access.Caller, id, token string, size int, rec *audit.Record) Response {
	if st, err := s.owned(ctx, c, id); err != nil {
		if errors.Is(err, query.ErrNotFound) {
			return errorf(http.StatusNotFound, "no query with id %q", clip(id))
		}
		return s.internal("query status", err)
	} else {
		rec.BytesScanned = st.BytesScanned
	}
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
	var denied *access.Denied
	if errors.As(err, &denied) {
		body := map[string]string{"error": denied.Error(), "dataset": denied.Dataset, "zone": string(denied.Zone)}
		if denied.Column != "" {
			body["column"] = denied.Column
		}
		return jsonResponse(http.StatusForbidden, body)
	}
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
		req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body,
			RequestID: fmt.Sprintf("local-%d", time.Now().UnixNano())}
		if s.Identify != nil {
			req.Caller = s.Identify(r)
		}
		resp = s.Serve(r.Context(), req)
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

// CallerHeader names the caller of a request to the local host, which has no IAM to verify a
// signature: X-Sluice-Caller: <principal ARN>, and X-Sluice-Caller-Tags: key=value,... for
// tag-based grants. Only the local host reads them (ServeHTTP with Identify set to
// HeaderCaller); the deployed function reads API Gateway's authorizer and nothing else.
const (
	CallerHeader     = "X-Sluice-Caller"
	CallerTagsHeader = "X-Sluice-Caller-Tags"
)

// HeaderCaller reads the local host's caller headers.
func HeaderCaller(r *http.Request) access.Caller {
	c := access.CallerOf(r.Header.Get(CallerHeader))
	for _, kv := range strings.Split(r.Header.Get(CallerTagsHeader), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok {
			if c.Tags == nil {
				c.Tags = map[string]string{}
			}
			c.Tags[k] = v
		}
	}
	return c
}

// AsCaller is a Client.Sign for the local host: it names the caller in CallerHeader, as a
// signature names the principal to the deployed API.
func AsCaller(arn string) func(r *http.Request, body []byte) error {
	return func(r *http.Request, _ []byte) error {
		r.Header.Set(CallerHeader, arn)
		return nil
	}
}

// tablesOf is the datasets and zones a query reads, comma-separated, for the audit trail.
func tablesOf(q *query.Query) (datasets, zones string) {
	var ds, zs []string
	for _, t := range q.Tables {
		z, d, ok := strings.Cut(t, "_")
		if !ok {
			continue
		}
		if !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
		if !slices.Contains(zs, z) {
			zs = append(zs, z)
		}
	}
	if len(ds) == 0 {
		return q.Dataset, string(q.Zone)
	}
	return strings.Join(ds, ","), strings.Join(zs, ",")
}
