package athena_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdkathena "github.com/aws/aws-sdk-go-v2/service/athena"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/query/athena"
	"github.com/sluicelake/sluice/shared/query/querytest"
)

// recorder is a reverse proxy in front of moto_server that keeps every Athena request body by
// operation: moto does not echo all of what it receives (result reuse, for one).
type recorder struct {
	mu     sync.Mutex
	bodies map[string][]map[string]any
}

func (r *recorder) last(t *testing.T, op string) map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.bodies[op]
	if len(b) == 0 {
		t.Fatalf("no %s request recorded", op)
	}
	return b[len(b)-1]
}

func startAthena(t *testing.T) (*sdkathena.Client, *recorder, string) {
	t.Helper()
	_, moto := s3test.StartMoto(t)
	target, err := url.Parse(moto)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{bodies: map[string][]map[string]any{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "AmazonAthena.")
		var m map[string]any
		if json.Unmarshal(body, &m) == nil {
			rec.mu.Lock()
			rec.bodies[op] = append(rec.bodies[op], m)
			rec.mu.Unlock()
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	client := sdkathena.NewFromConfig(aws.Config{
		Region:      s3test.Region,
		Credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, ""),
		HTTPClient:  awshttp.NewBuildableClient(),
	}, func(o *sdkathena.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	_, err = client.CreateWorkGroup(context.Background(), &sdkathena.CreateWorkGroupInput{Name: aws.String("sluice-test")})
	if err != nil {
		t.Fatalf("create workgroup: %v", err)
	}
	return client, rec, moto
}

// TestConformanceSQLAndParameters sends every conformance query to an Athena-protocol endpoint
// and asserts the exact SQL, parameters, database, workgroup and result reuse it receives.
func TestConformanceSQLAndParameters(t *testing.T) {
	client, rec, _ := startAthena(t)
	eng, err := athena.New(client, athena.Options{Database: "sluice_test", WorkGroup: "sluice-test", ReuseMaxAge: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	c := &query.Compiler{Contracts: reg}
	ctx := context.Background()
	for _, tc := range querytest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			req, err := query.Decode(strings.NewReader(tc.Request))
			if err != nil {
				t.Fatal(err)
			}
			q, err := c.Compile(req)
			if err != nil {
				t.Fatal(err)
			}
			id, err := eng.Start(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			body := rec.last(t, "StartQueryExecution")
			if body["QueryString"] != tc.SQL {
				t.Errorf("QueryString\n got %v\nwant %s", body["QueryString"], tc.SQL)
			}
			var params []string
			if ps, ok := body["ExecutionParameters"].([]any); ok {
				for _, p := range ps {
					params = append(params, p.(string))
				}
			}
			if !reflect.DeepEqual(params, tc.Literals) {
				t.Errorf("ExecutionParameters\n got %q\nwant %q", params, tc.Literals)
			}
			if got := mustJSON(body["QueryExecutionContext"]); got != `{"Database":"sluice_test"}` {
				t.Errorf("QueryExecutionContext %s", got)
			}
			if body["WorkGroup"] != "sluice-test" {
				t.Errorf("WorkGroup %v", body["WorkGroup"])
			}
			// Reuse is never asked for a parameterised query: nothing shows Athena tells values apart.
			wantReuse := `{"ResultReuseByAgeConfiguration":{"Enabled":true,"MaxAgeInMinutes":30}}`
			if len(tc.Literals) > 0 {
				wantReuse = "null"
			}
			if got := mustJSON(body["ResultReuseConfiguration"]); got != wantReuse {
				t.Errorf("ResultReuseConfiguration %s, want %s", got, wantReuse)
			}

			// moto keeps what it was sent: read it back through the API as well.
			x, err := client.GetQueryExecution(ctx, &sdkathena.GetQueryExecutionInput{QueryExecutionId: aws.String(id)})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(x.QueryExecution.Query) != tc.SQL || !reflect.DeepEqual(x.QueryExecution.ExecutionParameters, tc.Literals) {
				t.Errorf("moto holds %q %q", aws.ToString(x.QueryExecution.Query), x.QueryExecution.ExecutionParameters)
			}
			st, err := eng.Status(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if st.ID != id || st.State != query.Succeeded {
				t.Errorf("status %+v", st)
			}
		})
	}
}

func TestReuseDefaultsAndOff(t *testing.T) {
	client, rec, _ := startAthena(t)
	ctx := context.Background()
	q := &query.Query{SQL: `SELECT count(*) AS "n" FROM "curated_user_events" LIMIT 1000`}
	def, _ := athena.New(client, athena.Options{Database: "d", WorkGroup: "sluice-test"})
	if _, err := def.Start(ctx, q); err != nil {
		t.Fatal(err)
	}
	body := rec.last(t, "StartQueryExecution")
	if got := mustJSON(body["ResultReuseConfiguration"]); got != `{"ResultReuseByAgeConfiguration":{"Enabled":true,"MaxAgeInMinutes":60}}` {
		t.Errorf("default reuse %s", got)
	}
	if _, ok := body["ExecutionParameters"]; ok {
		t.Error("ExecutionParameters sent for a query without parameters (Athena refuses an empty list)")
	}
	off, _ := athena.New(client, athena.Options{Database: "d", WorkGroup: "sluice-test", ReuseMaxAge: -1})
	if _, err := off.Start(ctx, q); err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.last(t, "StartQueryExecution")["ResultReuseConfiguration"]; ok {
		t.Error("reuse configuration sent with reuse switched off")
	}
	// The same default engine with a parameter: no reuse, since nothing shows Athena would not
	// answer one value's query with another value's results.
	pq := &query.Query{SQL: `SELECT count(*) AS "n" FROM "curated_user_events" WHERE "user_id" = ? LIMIT 1000`,
		Params: []query.Param{{Kind: contract.String, Value: "u-1"}}}
	if _, err := def.Start(ctx, pq); err != nil {
		t.Fatal(err)
	}
	if got, ok := rec.last(t, "StartQueryExecution")["ResultReuseConfiguration"]; ok {
		t.Errorf("reuse asked for a parameterised query: %s", mustJSON(got))
	}
	if _, err := athena.New(client, athena.Options{Database: "d", WorkGroup: "w", ReuseMaxAge: 8 * 24 * time.Hour}); err == nil {
		t.Error("reuse age over 7 days accepted")
	}
	if _, err := athena.New(client, athena.Options{}); err == nil {
		t.Error("no database and workgroup accepted")
	}
}

// TestResults seeds moto with a result set shaped as Athena returns it (labels in the first
// row) and reads it back typed.
func TestResults(t *testing.T) {
	client, _, moto := startAthena(t)
	ctx := context.Background()
	eng, _ := athena.New(client, athena.Options{Database: "d", WorkGroup: "sluice-test"})
	cell := func(s *string) map[string]any {
		if s == nil {
			return map[string]any{}
		}
		return map[string]any{"VarCharValue": *s}
	}
	row := func(vals ...*string) map[string]any {
		var d []map[string]any
		for _, v := range vals {
			d = append(d, cell(v))
		}
		return map[string]any{"Data": d}
	}
	s := aws.String
	cols := []map[string]any{}
	for _, c := range [][2]string{{"event_type", "varchar"}, {"n", "bigint"}, {"revenue", "double"}, {"bot", "boolean"}, {"last", "timestamp"}, {"dt", "date"}} {
		cols = append(cols, map[string]any{"Name": c[0], "Label": c[0], "Type": c[1]})
	}
	seed := map[string]any{"results": []any{map[string]any{
		"rows": []any{
			row(s("event_type"), s("n"), s("revenue"), s("bot"), s("last"), s("dt")),
			row(s("purchase"), s("42"), s("1234.5"), s("false"), s("2026-11-23 09:15:00.123"), s("2026-11-23")),
			row(s("click"), s("7"), nil, nil, nil, s("2026-11-22")),
		},
		"column_info": cols,
	}}}
	resp, err := http.Post(moto+"/moto-api/static/athena/query-results", "application/json", strings.NewReader(mustJSON(seed)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("seed moto results: %s", resp.Status)
	}
	id, err := eng.Start(ctx, &query.Query{SQL: "SELECT 1"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := eng.Results(ctx, id, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]any{
		{"purchase", int64(42), 1234.5, false, "2026-11-23T09:15:00.123Z", "2026-11-23"},
		{"click", int64(7), nil, nil, nil, "2026-11-22"},
	}
	if diff := querytest.EqualRows(page.Rows, want); diff != "" {
		t.Error(diff)
	}
	if len(page.Columns) != 6 || page.Columns[1] != (query.Column{Name: "n", Type: "bigint"}) {
		t.Errorf("columns %+v", page.Columns)
	}
	if _, err := eng.Status(ctx, "not-an-id'; DROP"); !errors.Is(err, query.ErrNotFound) {
		t.Errorf("malformed id: %v, want ErrNotFound", err)
	}
}

func TestLiteral(t *testing.T) {
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		p    query.Param
		want string
	}{
		{query.Param{Kind: contract.String, Value: "O'Brien"}, `'O''Brien'`},
		{query.Param{Kind: contract.String, Value: `'; DROP TABLE x; --`}, `'''; DROP TABLE x; --'`},
		{query.Param{Kind: contract.String, Value: `\' OR 1=1`}, `'\'' OR 1=1'`},
		{query.Param{Kind: contract.Long, Value: int64(-42)}, `-42`},
		{query.Param{Kind: contract.Double, Value: 0.1}, `1E-01`},
		{query.Param{Kind: contract.Double, Value: 1e300}, `1E+300`},
		{query.Param{Kind: contract.Float, Value: 2.5}, `REAL '2.5'`},
		{query.Param{Kind: contract.Boolean, Value: true}, `true`},
		{query.Param{Kind: contract.Date, Value: day}, `DATE '2026-11-23'`},
		{query.Param{Kind: contract.Timestamp, Value: day.Add(90*time.Minute + 7*time.Millisecond)}, `TIMESTAMP '2026-11-23 01:30:00.007'`},
	}
	for _, tc := range cases {
		got, err := athena.Literal(tc.p)
		if err != nil || got != tc.want {
			t.Errorf("Literal(%#v) = %q, %v; want %q", tc.p.Value, got, err, tc.want)
		}
	}
	if _, err := athena.Literal(query.Param{Value: []string{"x"}}); err == nil {
		t.Error("Literal accepted a type the compiler never makes")
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// A parameter over Athena's 1024 characters is refused before the call, as a request error
// (a 400 through the API), whoever built the query: the lineage graph builds its own.
func TestParameterOverCapIsARequestError(t *testing.T) {
	client, rec, _ := startAthena(t)
	ctx := context.Background()
	eng, _ := athena.New(client, athena.Options{Database: "d", WorkGroup: "sluice-test"})
	long := &query.Query{SQL: `SELECT 1 FROM "lineage_lineage" WHERE "output_name" = ?`,
		Params: []query.Param{{Kind: contract.String, Value: strings.Repeat("k", 1023)}}}
	_, err := eng.Start(ctx, long)
	var qe *query.Error
	if !errors.As(err, &qe) || !strings.Contains(err.Error(), "1025 characters") || !strings.Contains(err.Error(), "caps each execution parameter at 1024") {
		t.Fatalf("got %v, want a *query.Error giving the length and the cap", err)
	}
	rec.mu.Lock()
	sent := len(rec.bodies["StartQueryExecution"])
	rec.mu.Unlock()
	if sent != 0 {
		t.Fatalf("%d StartQueryExecution calls sent for a parameter Athena refuses", sent)
	}
	long.Params[0].Value = strings.Repeat("k", 1022)
	if _, err := eng.Start(ctx, long); err != nil {
		t.Fatalf("a literal of exactly 1024 characters: %v", err)
	}
}
