// Package athena runs compiled queries on Amazon Athena: the query.Engine of the deployed lake.
//
// Values go to Athena as ExecutionParameters, never into the SQL text. Athena reads each
// parameter as a SQL literal, so Literal writes them as typed literals (strings quoted with
// quotes doubled, DATE '…', TIMESTAMP '…', digits for numbers): a value can never be more than
// one literal.
//
// Query result reuse is on by default for queries without parameters, so repeating one within
// the maximum age costs nothing. It is off for parameterised queries: Athena documents reuse as
// matching the query string, database, catalog and result configuration, and nowhere says it
// tells execution-parameter values apart, which moto cannot show either. Two lineage walks or
// two filters differing only in a value must never answer each other.
package athena

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/athena/types"
	"github.com/aws/smithy-go"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/query"
)

// API is the part of the Athena client the engine uses.
type API interface {
	StartQueryExecution(context.Context, *athena.StartQueryExecutionInput, ...func(*athena.Options)) (*athena.StartQueryExecutionOutput, error)
	GetQueryExecution(context.Context, *athena.GetQueryExecutionInput, ...func(*athena.Options)) (*athena.GetQueryExecutionOutput, error)
	GetQueryResults(context.Context, *athena.GetQueryResultsInput, ...func(*athena.Options)) (*athena.GetQueryResultsOutput, error)
}

// Options configure the engine.
type Options struct {
	// Database is the Glue database holding the <zone>_<dataset> tables.
	Database string
	// WorkGroup carries the output location, encryption and bytes-scanned cutoff.
	WorkGroup string
	// ReuseMaxAge is how old a previous result may be and still answer a query. Zero means
	// DefaultReuseMaxAge; a negative value switches reuse off. Athena allows up to 7 days.
	// It applies to queries without parameters only (see the package comment).
	ReuseMaxAge time.Duration
}

// DefaultReuseMaxAge is the result reuse window when Options leave it zero.
const DefaultReuseMaxAge = 60 * time.Minute

const maxReuseAge = 7 * 24 * time.Hour

// Engine is the Athena query.Engine.
type Engine struct {
	api  API
	opts Options
}

var _ query.Engine = (*Engine)(nil)

// New returns an engine over the client. Database and WorkGroup are required.
func New(api API, opts Options) (*Engine, error) {
	if opts.Database == "" || opts.WorkGroup == "" {
		return nil, errors.New("athena: set the Glue database and the Athena workgroup (SLUICE_GLUE_DATABASE, SLUICE_ATHENA_WORKGROUP)")
	}
	if opts.ReuseMaxAge > maxReuseAge {
		return nil, fmt.Errorf("athena: result reuse age %v is over Athena's maximum of 7 days", opts.ReuseMaxAge)
	}
	return &Engine{api: api, opts: opts}, nil
}

// Start submits the query and returns Athena's query execution id.
func (e *Engine) Start(ctx context.Context, q *query.Query) (string, error) {
	in := &athena.StartQueryExecutionInput{
		QueryString:           aws.String(ownerComment(q.Owner) + q.SQL),
		QueryExecutionContext: &types.QueryExecutionContext{Database: aws.String(e.opts.Database)},
		WorkGroup:             aws.String(e.opts.WorkGroup),
	}
	if len(q.Params) > 0 {
		in.ExecutionParameters = make([]string, len(q.Params))
		for i, p := range q.Params {
			lit, err := Literal(p)
			if err != nil {
				return "", err
			}
			if len(lit) > query.MaxParamLen {
				// A request error, not a failure of Athena: the caller sent a value too long.
				return "", &query.Error{Problem: fmt.Sprintf("parameter %d is %d characters as a SQL literal: Athena caps each execution parameter at %d; give a shorter value",
					i+1, len(lit), query.MaxParamLen)}
			}
			in.ExecutionParameters[i] = lit
		}
	}
	if age := e.opts.ReuseMaxAge; age >= 0 && len(q.Params) == 0 {
		if age == 0 {
			age = DefaultReuseMaxAge
		}
		in.ResultReuseConfiguration = &types.ResultReuseConfiguration{
			ResultReuseByAgeConfiguration: &types.ResultReuseByAgeConfiguration{
				Enabled:         true,
				MaxAgeInMinutes: aws.Int32(int32(max(age/time.Minute, 1))),
			},
		}
	}
	out, err := e.api.StartQueryExecution(ctx, in)
	if err != nil {
		return "", fmt.Errorf("athena: start query: %w", err)
	}
	return aws.ToString(out.QueryExecutionId), nil
}

// Athena's query execution ids are UUIDs; anything else cannot name a query.
var idPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Status reports the query's state, bytes scanned, run time and error.
func (e *Engine) Status(ctx context.Context, id string) (*query.Status, error) {
	if !idPattern.MatchString(id) {
		return nil, query.ErrNotFound
	}
	out, err := e.api.GetQueryExecution(ctx, &athena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
	if err != nil {
		return nil, notFound(err, "get query status")
	}
	x := out.QueryExecution
	st := &query.Status{ID: id, Owner: ownerOf(aws.ToString(x.Query))}
	if x.Status != nil {
		st.State = query.State(x.Status.State)
		if x.Status.AthenaError != nil && x.Status.AthenaError.ErrorMessage != nil {
			st.Error = *x.Status.AthenaError.ErrorMessage
		} else if st.State == query.Failed || st.State == query.Cancelled {
			st.Error = aws.ToString(x.Status.StateChangeReason)
		}
	}
	if s := x.Statistics; s != nil {
		st.BytesScanned = aws.ToInt64(s.DataScannedInBytes)
		st.RunTime = time.Duration(aws.ToInt64(s.EngineExecutionTimeInMillis)) * time.Millisecond
		st.RunTimeMillis = st.RunTime.Milliseconds()
		if s.ResultReuseInformation != nil {
			st.Reused = s.ResultReuseInformation.ReusedPreviousResult
		}
	}
	return st, nil
}

// Results pages the query's rows. Athena puts the column labels in the first row of the first
// page of a SELECT's results; they are dropped here, and come back as Page.Columns.
func (e *Engine) Results(ctx context.Context, id, token string, size int) (*query.Page, error) {
	if !idPattern.MatchString(id) {
		return nil, query.ErrNotFound
	}
	if size <= 0 {
		size = query.DefaultPageSize
	}
	size = min(size, query.MaxPageSize)
	in := &athena.GetQueryResultsInput{QueryExecutionId: aws.String(id)}
	first := token == ""
	if first {
		in.MaxResults = aws.Int32(int32(min(size+1, query.MaxPageSize)))
	} else {
		in.NextToken = aws.String(token)
		in.MaxResults = aws.Int32(int32(size))
	}
	out, err := e.api.GetQueryResults(ctx, in)
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && strings.Contains(ae.ErrorMessage(), "not yet finished") {
			return nil, query.ErrNotReady
		}
		return nil, notFound(err, "get query results")
	}
	page := &query.Page{NextToken: aws.ToString(out.NextToken), Rows: [][]any{}}
	if out.ResultSet == nil {
		return page, nil
	}
	var kinds []string
	if md := out.ResultSet.ResultSetMetadata; md != nil {
		for _, ci := range md.ColumnInfo {
			name := aws.ToString(ci.Label)
			if name == "" {
				name = aws.ToString(ci.Name)
			}
			typ := strings.ToLower(aws.ToString(ci.Type))
			page.Columns = append(page.Columns, query.Column{Name: name, Type: typ})
			kinds = append(kinds, typ)
		}
	}
	rows := out.ResultSet.Rows
	if first && len(rows) > 0 && isHeader(rows[0], page.Columns) {
		rows = rows[1:]
	}
	for _, r := range rows {
		vals := make([]any, len(r.Data))
		for i, d := range r.Data {
			typ := ""
			if i < len(kinds) {
				typ = kinds[i]
			}
			vals[i] = convert(typ, d.VarCharValue)
		}
		page.Rows = append(page.Rows, vals)
	}
	return page, nil
}

func isHeader(r types.Row, cols []query.Column) bool {
	if len(r.Data) != len(cols) {
		return false
	}
	for i, d := range r.Data {
		if aws.ToString(d.VarCharValue) != cols[i].Name {
			return false
		}
	}
	return true
}

// convert turns Athena's text cell into the JSON-ready value every engine returns.
func convert(typ string, v *string) any {
	if v == nil {
		return nil
	}
	s := *v
	switch typ {
	case "tinyint", "smallint", "integer", "int", "bigint":
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
	case "double", "float", "real", "decimal":
		if x, err := strconv.ParseFloat(s, 64); err == nil {
			return x
		}
	case "boolean":
		if b, err := strconv.ParseBool(s); err == nil {
			return b
		}
	case "timestamp", "timestamp with time zone":
		for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999 MST", "2006-01-02 15:04:05.999999999 Z07:00"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC().Format(query.TimestampFormat)
			}
		}
	}
	return s
}

func notFound(err error, doing string) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "InvalidRequestException" && strings.Contains(strings.ToLower(ae.ErrorMessage()), "not found") {
		return query.ErrNotFound
	}
	return fmt.Errorf("athena: %s: %w", doing, err)
}

// Literal writes a parameter as the Athena (Trino) SQL literal of its type.
func Literal(p query.Param) (string, error) {
	switch v := p.Value.(type) {
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'", nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		if p.Kind == contract.Float {
			return "REAL '" + strconv.FormatFloat(v, 'g', -1, 32) + "'", nil
		}
		// E notation makes a DOUBLE literal; plain digits would be a DECIMAL.
		return strconv.FormatFloat(v, 'E', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	case time.Time:
		if p.Kind == contract.Date {
			return "DATE '" + v.UTC().Format(time.DateOnly) + "'", nil
		}
		return "TIMESTAMP '" + v.UTC().Format("2006-01-02 15:04:05.000") + "'", nil
	}
	return "", fmt.Errorf("athena: parameter of unsupported type %T (the query compiler makes string, int64, float64, bool and time.Time)", p.Value)
}

// Athena keeps a query's text with its execution, so the owner travels in it as a leading
// comment: any API instance can tell whose query an id is without a store of its own. A query
// with an owner is reused only for the same owner, which is what its caller may see anyway.
const ownerPrefix = "-- sluice owner "

func ownerComment(owner string) string {
	if owner == "" {
		return ""
	}
	return ownerPrefix + owner + "\n"
}

func ownerOf(sql string) string {
	rest, ok := strings.CutPrefix(sql, ownerPrefix)
	if !ok {
		return ""
	}
	owner, _, _ := strings.Cut(rest, "\n")
	return owner
}
