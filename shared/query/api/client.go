package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/lineage/graph"
	"github.com/sluicelake/sluice/shared/query"
)

// Client sends structured queries to a query API: the local host's or the deployed one. The
// same request runs unchanged against either.
type Client struct {
	// BaseURL is the API's URL, e.g. http://127.0.0.1:8088 or https://abc.execute-api.eu-west-1.amazonaws.com.
	BaseURL string
	// HTTP defaults to http.DefaultClient.
	HTTP *http.Client
	// Sign, when set, signs each request: SigV4 for the deployed API, which uses IAM auth.
	Sign func(r *http.Request, body []byte) error
	// MaxRows stops paging after this many rows (default 10,000).
	MaxRows int
}

// Result is a finished query with its rows.
type Result struct {
	Status  query.Status   `json:"status"`
	SQL     string         `json:"sql"`
	Columns []query.Column `json:"columns"`
	Rows    [][]any        `json:"rows"`
}

// Run starts a query, waits for it (polling past the API's own wait limit) and reads every
// page of its rows. A query that fails is an error carrying the engine's message.
func (c *Client) Run(ctx context.Context, req *query.Request) (*Result, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var started Started
	if err := c.call(ctx, http.MethodPost, "/queries?wait=true&page_size="+strconv.Itoa(query.MaxPageSize), body, &started); err != nil {
		return nil, err
	}
	res := &Result{Status: started.Status, SQL: started.SQL}
	delay := 200 * time.Millisecond
	for !res.Status.State.Done() {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Second)
		if err := c.call(ctx, http.MethodGet, "/queries/"+url.PathEscape(started.ID), nil, &res.Status); err != nil {
			return nil, err
		}
	}
	if res.Status.State != query.Succeeded {
		return res, fmt.Errorf("query %s %s: %s", res.Status.ID, res.Status.State, res.Status.Error)
	}
	page := started.Results
	maxRows := c.MaxRows
	if maxRows <= 0 {
		maxRows = 10_000
	}
	for {
		if page == nil {
			page = &query.Page{}
			if err := c.call(ctx, http.MethodGet, "/queries/"+url.PathEscape(started.ID)+"/results?page_size="+strconv.Itoa(query.MaxPageSize), nil, page); err != nil {
				return nil, err
			}
		}
		res.Columns = page.Columns
		res.Rows = append(res.Rows, page.Rows...)
		if page.NextToken == "" || len(res.Rows) >= maxRows {
			return res, nil
		}
		next := "/queries/" + url.PathEscape(started.ID) + "/results?page_size=" + strconv.Itoa(query.MaxPageSize) + "&page_token=" + url.QueryEscape(page.NextToken)
		page = &query.Page{}
		if err := c.call(ctx, http.MethodGet, next, nil, page); err != nil {
			return nil, err
		}
	}
}

// APIError is a non-2xx answer of the API.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("query API answered %d: %s", e.Status, e.Message)
}

func (c *Client) call(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Sign != nil {
		if err := c.Sign(req, body); err != nil {
			return fmt.Errorf("sign the request: %w", err)
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"` // API Gateway's own errors (403, 429)
		}
		_ = json.Unmarshal(data, &e)
		msg := e.Error + e.Message
		if msg == "" {
			msg = strings.TrimSpace(string(data))
		}
		return &APIError{Status: resp.StatusCode, Message: msg}
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	return json.Unmarshal(data, out)
}

// Lineage asks for the lineage graph of r.Dataset or r.Object (GET /lineage) and returns the
// answer as it comes: JSON, or with format "mermaid" the diagram's text.
func (c *Client) Lineage(ctx context.Context, r graph.Request, format string) ([]byte, error) {
	q := url.Values{}
	for k, v := range map[string]string{"dataset": r.Dataset, "object": r.Object, "since": r.Since, "format": format} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if r.Depth != 0 {
		q.Set("depth", strconv.Itoa(r.Depth))
	}
	var out []byte
	if err := c.call(ctx, http.MethodGet, "/lineage?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// SigV4 signs requests for an API Gateway API with IAM authorization.
func SigV4(creds aws.CredentialsProvider, region string) func(*http.Request, []byte) error {
	return awsconfig.Signer(creds, "execute-api", region)
}

// WriteTable prints rows as an aligned text table, NULL for missing values.
func WriteTable(w io.Writer, cols []query.Column, rows [][]any) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	fmt.Fprintln(tw, strings.Join(names, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, v := range r {
			switch v := v.(type) {
			case nil:
				cells[i] = "NULL"
			case float64:
				cells[i] = strconv.FormatFloat(v, 'f', -1, 64)
			case map[string]any:
				b, _ := json.Marshal(v)
				cells[i] = string(b)
			default:
				cells[i] = fmt.Sprint(v)
			}
			cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(cells[i])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}
