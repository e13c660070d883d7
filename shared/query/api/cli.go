package api

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/erase"
	"github.com/sluicelake/sluice/shared/lineage/graph"
	"github.com/sluicelake/sluice/shared/query"
)

// Main is a command-line client of the query API (what `make query` runs): it sends one
// structured query, from a file, an argument or stdin, and prints the rows as a table or JSON.
// It returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", os.Getenv(envvar.QueryURL), "query API base URL (default $"+envvar.QueryURL+"): the local host's or the deployed API's")
	file := fs.String("f", "", "file holding the query JSON (- for stdin)")
	inline := fs.String("q", "", "the query JSON itself")
	sign := fs.Bool("sigv4", false, "sign requests with the AWS credentials of the environment (the deployed API uses IAM auth)")
	as := fs.String("as", os.Getenv(envvar.Caller), "local host only: the caller (a principal ARN) the request is made as, sent in "+CallerHeader+" (default $"+envvar.Caller+")")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of a table")
	history := fs.String("history", "", "print the snapshots of this dataset's curated table (GET /tables/{dataset}/history) instead of querying")
	rollback := fs.String("rollback", "", "roll this dataset's curated table back to -snapshot (POST /tables/{dataset}/rollback): a new snapshot with that one's rows")
	snapshot := fs.Int64("snapshot", 0, "with -rollback: the snapshot id to restore")
	eraseDataset := fs.String("erase", "", "erase every row of -key from this dataset in every zone (POST /erase) and print the report")
	key := fs.String("key", "", "with -erase: the key value to erase")
	field := fs.String("field", "", "with -erase: the column holding the key (default the dataset's key)")
	maxRows := fs.Int("max-rows", 10000, "stop after this many rows")
	lineage := fs.String("lineage", "", "print the lineage graph of dataset=<[zone/]dataset> or object=s3://<bucket>/<key> instead of querying (URL default "+LocalURL+")")
	depth := fs.Int("depth", 0, "with -lineage: hops walked up and down (default 3, at most 10)")
	since := fs.String("since", "", "with -lineage: only lineage recorded on or after this date (YYYY-MM-DD); bounds what Athena scans")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: query -url URL (-f query.json | -q '{"dataset":"user_events",...}') [-sigv4] [-json]`)
		fmt.Fprintln(stderr, `       query [-url URL] -lineage dataset=user_events|object=s3://bucket/key [-depth N] [-since YYYY-MM-DD] [-json] [-sigv4]`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *eraseDataset != "" && *key == "" {
		fmt.Fprintln(stderr, "query: -erase needs -key, the key value to erase")
		return 2
	}
	if *history != "" || *rollback != "" || *eraseDataset != "" {
		if *base == "" {
			*base = LocalURL
		}
		ctx := context.Background()
		c := &Client{BaseURL: *base}
		var err error
		if c.Sign, err = signer(ctx, *sign, *as); err != nil {
			fmt.Fprintf(stderr, "query: %v\n", err)
			return 1
		}
		var out any
		switch {
		case *eraseDataset != "":
			body, _ := json.Marshal(erase.Request{Dataset: *eraseDataset, Key: *key, Field: *field})
			err = c.call(ctx, http.MethodPost, "/erase", body, &out)
		case *history != "":
			err = c.call(ctx, http.MethodGet, "/tables/"+url.PathEscape(*history)+"/history", nil, &out)
		default:
			body, _ := json.Marshal(RollbackRequest{SnapshotID: *snapshot})
			err = c.call(ctx, http.MethodPost, "/tables/"+url.PathEscape(*rollback)+"/rollback", body, &out)
		}
		if err != nil {
			fmt.Fprintf(stderr, "query: %v\n", err)
			return 1
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
		return 0
	}
	if *lineage != "" {
		if *inline != "" || *file != "" {
			fmt.Fprintln(stderr, "query: give -lineage or a query (-q, -f), not both")
			return 2
		}
		if *base == "" {
			*base = LocalURL
		}
		return lineageMain(*base, *lineage, graph.Request{Depth: *depth, Since: *since}, *asJSON, *sign, *as, stdout, stderr)
	}
	if *base == "" {
		fmt.Fprintln(stderr, "query: give the API's URL with -url or SLUICE_QUERY_URL (make local prints the local one)")
		return 2
	}
	var body []byte
	var err error
	switch {
	case *inline != "" && *file != "":
		fmt.Fprintln(stderr, "query: give -f or -q, not both")
		return 2
	case *inline != "":
		body = []byte(*inline)
	case *file == "-":
		body, err = io.ReadAll(stdin)
	case *file != "":
		body, err = os.ReadFile(*file)
	default:
		fs.Usage()
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "query: read the query: %v\n", err)
		return 1
	}
	// Checked here for a quick local message; the API checks it against the contracts.
	req, err := query.Decode(strings.NewReader(string(body)))
	if err != nil {
		fmt.Fprintf(stderr, "query: %v\n", err)
		return 1
	}
	ctx := context.Background()
	c := &Client{BaseURL: *base, MaxRows: *maxRows}
	if c.Sign, err = signer(ctx, *sign, *as); err != nil {
		fmt.Fprintf(stderr, "query: %v\n", err)
		return 1
	}
	res, err := c.Run(ctx, req)
	if err != nil {
		fmt.Fprintf(stderr, "query: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "query: %v\n", err)
			return 1
		}
		return 0
	}
	if err := WriteTable(stdout, res.Columns, res.Rows); err != nil {
		fmt.Fprintf(stderr, "query: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "%d rows; %d bytes scanned; %d ms; query %s\n", len(res.Rows), res.Status.BytesScanned, res.Status.RunTimeMillis, res.Status.ID)
	return 0
}

// LocalURL is where `make local` serves the query API.
const LocalURL = "http://127.0.0.1:8088"

// lineageMain prints a lineage graph: Mermaid text, or JSON with -json.
func lineageMain(base, what string, r graph.Request, asJSON, sign bool, as string, stdout, stderr io.Writer) int {
	key, val, ok := strings.Cut(what, "=")
	switch {
	case ok && key == "dataset":
		r.Dataset = val
	case ok && key == "object":
		r.Object = val
	default:
		fmt.Fprintf(stderr, "query: -lineage takes dataset=<[zone/]dataset> or object=s3://<bucket>/<key>, not %q\n", what)
		return 2
	}
	ctx := context.Background()
	c := &Client{BaseURL: base}
	var err error
	if c.Sign, err = signer(ctx, sign, as); err != nil {
		fmt.Fprintf(stderr, "query: %v\n", err)
		return 1
	}
	format := "mermaid"
	if asJSON {
		format = "json"
	}
	out, err := c.Lineage(ctx, r, format)
	if err != nil {
		fmt.Fprintf(stderr, "query: %v\n", err)
		if errors.Is(err, syscall.ECONNREFUSED) {
			fmt.Fprintf(stderr, "query: nothing answers at %s: start the local lake (make local) or give -url\n", base)
		}
		return 1
	}
	stdout.Write(out)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		fmt.Fprintln(stdout)
	}
	return 0
}

// signer is how requests name their caller: a SigV4 signature for the deployed API, the caller
// header for the local host, or nothing (an anonymous local caller).
func signer(ctx context.Context, sigv4 bool, as string) (func(*http.Request, []byte) error, error) {
	switch {
	case sigv4 && as != "":
		return nil, fmt.Errorf("give -sigv4 (the deployed API: your credentials name you) or -as (the local host), not both")
	case sigv4:
		cfg, err := awsconfig.Load(ctx)
		if err != nil {
			return nil, err
		}
		return SigV4(cfg.Credentials, cfg.Region), nil
	case as != "":
		return AsCaller(as), nil
	}
	return nil, nil
}
