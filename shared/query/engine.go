package query

import (
	"context"
	"errors"
	"time"
)

// Engine runs compiled queries asynchronously: Start returns at once, the caller polls Status
// and pages Results. Athena implements it in AWS, an embedded engine on the local lake.
type Engine interface {
	Start(ctx context.Context, q *Query) (id string, err error)
	Status(ctx context.Context, id string) (*Status, error)
	// Results returns up to size rows after the page token ("" for the first page). The next
	// page's token is in Page.NextToken, empty after the last page.
	Results(ctx context.Context, id, token string, size int) (*Page, error)
}

// State is where a query is in its life.
type State string

const (
	Queued    State = "QUEUED"
	Running   State = "RUNNING"
	Succeeded State = "SUCCEEDED"
	Failed    State = "FAILED"
	Cancelled State = "CANCELLED"
)

// Done reports whether the state is final.
func (s State) Done() bool { return s == Succeeded || s == Failed || s == Cancelled }

// Status is what an engine knows of one query.
type Status struct {
	ID    string `json:"id"`
	State State  `json:"state"`
	// BytesScanned is what the engine read (what Athena bills).
	BytesScanned int64 `json:"bytes_scanned"`
	// RunTime is the engine's execution time so far.
	RunTime time.Duration `json:"-"`
	// RunTimeMillis is RunTime for JSON.
	RunTimeMillis int64 `json:"run_time_ms"`
	// Reused is true when Athena answered from a previous query's results.
	Reused bool   `json:"reused,omitempty"`
	Error  string `json:"error,omitempty"`
	// Owner is the Query.Owner the query was started with: the API answers only its owner.
	Owner string `json:"-"`
}

// Page is one page of results. Values are JSON-ready: nil, bool, int64, float64 or string
// (timestamps as RFC 3339 UTC with milliseconds, dates as YYYY-MM-DD).
type Page struct {
	Columns   []Column `json:"columns"`
	Rows      [][]any  `json:"rows"`
	NextToken string   `json:"next_token,omitempty"`
}

// Column names and types one result column; Type is the engine's SQL type name, lower case.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// TimestampFormat is how result timestamps are written, by every engine.
const TimestampFormat = "2006-01-02T15:04:05.000Z"

// Page sizes.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

var (
	// ErrNotFound: no query has the id (a typo, or the engine forgot it).
	ErrNotFound = errors.New("no query with this id")
	// ErrNotReady: results were asked for before the query succeeded.
	ErrNotReady = errors.New("the query has not succeeded (yet): poll its status")
	// ErrBadToken: the page token is not one this engine issued for this query.
	ErrBadToken = errors.New("the page token is not valid for this query")
)
