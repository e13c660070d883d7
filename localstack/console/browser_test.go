package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/console"
	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/localstack/lakehost"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/shared/catalog"
	"github.com/sluicelake/sluice/shared/query/api"
	"github.com/sluicelake/sluice/shared/tooltest"
)

var update = flag.Bool("update", false, "write the screenshot the README shows (testdata/console.png)")

// toolsDir is where `make tools` installs the npm packages.
func toolsDir(t *testing.T) string {
	if d := os.Getenv("SLUICE_TOOLS"); d != "" {
		return d
	}
	abs, err := filepath.Abs(filepath.Join("..", "..", ".tools"))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// refusal is the start of the access rules' answer to an analyst asking for a PII column of
// the cleansed zone (events/access/stewards.json grants analysts cleansed without PII).
const refusal = `arn:aws:iam::123456789012:role/sluice-analyst may not read column "user_id" of user_events in zone cleansed`

// seen is what the browser script reports.
type seen struct {
	External      []string `json:"external"`
	ConsoleErrors []string `json:"consoleErrors"`
	Fatal         string   `json:"fatal"`
	Steps         struct {
		Datasets struct {
			Names []string `json:"names"`
			Error string   `json:"error"`
		} `json:"datasets"`
		Dataset struct {
			Columns []struct{ Name, Pii, Badge string } `json:"columns"`
			Zones   []struct{ Zone, Rows string }       `json:"zones"`
			Records []string                            `json:"records"`
			Reasons int                                 `json:"reasons"`
			Preview []string                            `json:"previews"`
			Nodes   []string                            `json:"svgNodes"`
			Edges   int                                 `json:"svgEdges"`
			Box     []float64                           `json:"svgBox"`
			Error   string                              `json:"error"`
		} `json:"dataset"`
		Query struct {
			First, Second int
			Header        []string `json:"header"`
			State         string   `json:"state"`
			Error         string   `json:"error"`
		} `json:"query"`
		BadQuery struct{ Error, Status string } `json:"badQuery"`
		Refused  struct{ Error, Status string } `json:"refused"`
		Analyst  struct {
			Columns []string `json:"columns"`
			Zones   []string `json:"zones"`
		} `json:"analyst"`
	} `json:"steps"`
}

// TestConsoleInABrowser runs the local lake (the built ingest, validate, promote and lineage
// functions on the stand-ins), serves its API with the console as `make local` does, and drives
// the console in headless Debian Chromium through playwright-core: the datasets page lists the
// datasets, a dataset page shows its schema with PII marked, zones, quality and masked samples
// and draws its lineage as an SVG with nodes and edges, a query returns rows and a second page,
// a malformed query and a 403 show the API's message; the page loads nothing from elsewhere.
func TestConsoleInABrowser(t *testing.T) {
	chromium := tooltest.Path(t, "chromium")
	node := tooltest.Path(t, "node")
	tools := toolsDir(t)
	// Absolute now: the local engine changes the working directory to the lake's.
	script, err := filepath.Abs(filepath.Join("browsertest", "console.cjs"))
	if err != nil {
		t.Fatal(err)
	}
	proxyScript, err := filepath.Abs(filepath.Join("browsertest", "proxy.cjs"))
	if err != nil {
		t.Fatal(err)
	}
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	tooltest.File(t, filepath.Join(tools, "node_modules", "playwright-core", "package.json"), "run `make tools` (it installs playwright-core into .tools)")

	bin := t.TempDir()
	for _, name := range []string{"ingest", "validate", "promote", "lineage"} {
		exe := runtimeapi.Build(t, "github.com/sluicelake/sluice/functions/"+name)
		if err := os.MkdirAll(filepath.Join(bin, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(exe, filepath.Join(bin, name, "bootstrap")); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lake, err := lakehost.Start(ctx, lakehost.Config{Dir: filepath.Join(t.TempDir(), "lake"), BinDir: bin,
		BatchSize: 200, BatchWindow: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close()
	if _, _, err := lake.Produce(ctx, "all", 400, 0.1, 3, nil); err != nil {
		t.Fatal(err)
	}
	files, err := lakehost.SampleFiles(60, 0.1, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := lake.DropFile(ctx, f.Dataset, f.Name, f.Body); err != nil {
			t.Fatal(err)
		}
	}
	if err := lake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	cat, err := lake.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	policy, err := events.Access()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := duckengine.Serve(duckengine.ServeOptions{
		Engine:    duckengine.Options{LakeDir: lake.Dir(), Buckets: lakehost.Buckets},
		Contracts: reg, Addr: "127.0.0.1:0", Catalog: cat, Routes: console.Routes(), Access: policy})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	shot := filepath.Join(t.TempDir(), "console.png")
	cmd := exec.CommandContext(ctx, node, script, srv.URL, chromium, t.TempDir(), shot)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(tools, "node_modules"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var s seen
	if jerr := json.Unmarshal(out, &s); jerr != nil {
		t.Fatalf("the browser script: %v %v\nstdout: %s\nstderr: %s", err, jerr, out, stderr.String())
	}
	if err != nil || s.Fatal != "" {
		t.Fatalf("the browser script failed: %v\n%s\nsaw so far: %s\nstderr: %s", err, s.Fatal, out, stderr.String())
	}
	t.Logf("browser saw: %s", out)

	if len(s.External) > 0 {
		t.Errorf("the page loaded from elsewhere than the host: %v", s.External)
	}
	for _, e := range s.ConsoleErrors {
		// The browser logs every non-2xx answer; the 400 and 403 are the ones provoked below.
		if !strings.Contains(e, "status of 400") && !strings.Contains(e, "status of 403") {
			t.Errorf("error in the browser console: %s", e)
		}
	}
	st := s.Steps
	if !slices.Contains(st.Datasets.Names, "customers") || !slices.Contains(st.Datasets.Names, "user_events") || st.Datasets.Error != "" {
		t.Errorf("datasets page: %+v", st.Datasets)
	}

	// The dataset page: every column with its PII class, as the catalog says.
	d, err := cat.Get(ctx, "customers", catalog.Access{})
	if err != nil {
		t.Fatal(err)
	}
	ds := st.Dataset
	if len(ds.Columns) != len(d.Columns) {
		t.Errorf("schema shows %d columns, the contract has %d", len(ds.Columns), len(d.Columns))
	}
	for _, c := range ds.Columns {
		if c.Name == "email" && (c.Pii != "hash" || c.Badge != "PII: hash") {
			t.Errorf("email is not marked as hashed PII: %+v", c)
		}
	}
	if len(ds.Zones) != 4 || ds.Zones[1].Zone != "cleansed" || ds.Zones[1].Rows == "0" {
		t.Errorf("zones: %+v", ds.Zones)
	}
	if len(ds.Records) != 3 || ds.Reasons == 0 || len(ds.Preview) == 0 {
		t.Errorf("quality: cards %v, %d reasons, %d samples", ds.Records, ds.Reasons, len(ds.Preview))
	}
	for _, p := range ds.Preview {
		if strings.Contains(p, "@") {
			t.Errorf("a sample shows an e-mail address: %s", p)
		}
	}
	if !slices.ContainsFunc(ds.Preview, func(p string) bool { return strings.Contains(p, catalog.Masked) }) {
		t.Errorf("no sample is masked: %v", ds.Preview)
	}
	if len(ds.Nodes) < 3 || ds.Edges < 2 || !slices.Contains(ds.Nodes, "cleansed/customers") || !slices.Contains(ds.Nodes, "curated/customers") {
		t.Errorf("lineage drawing: nodes %v, %d edges", ds.Nodes, ds.Edges)
	}
	if len(ds.Box) != 2 || ds.Box[0] < 100 || ds.Box[1] < 40 {
		t.Errorf("the lineage drawing has no size on the page: %v", ds.Box)
	}
	if ds.Error != "" {
		t.Errorf("the dataset page shows an error: %s", ds.Error)
	}

	q := st.Query
	if q.First != 20 || q.Second != 10 || q.State != "SUCCEEDED" || !slices.Equal(q.Header, []string{"user_id", "event_type"}) || q.Error != "" {
		t.Errorf("query: %+v; want 20 rows, then 10 on the next page", q)
	}
	if st.BadQuery.Status != "400" || !strings.Contains(st.BadQuery.Error, "no_such_column") {
		t.Errorf("a malformed query shows %+v", st.BadQuery)
	}
	if st.Refused.Status != "403" || !strings.Contains(st.Refused.Error, "Refused (403)") || !strings.Contains(st.Refused.Error, refusal) {
		t.Errorf("a refused request shows %+v", st.Refused)
	}
	if slices.Contains(st.Analyst.Columns, "phone") || slices.Contains(st.Analyst.Zones, "raw") || !slices.Contains(st.Analyst.Zones, "cleansed") {
		t.Errorf("the analyst's dataset page: %+v (no raw zone, no phone: a PII column curated drops)", st.Analyst)
	}

	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 10_000 {
		t.Fatalf("screenshot: %v, %d bytes", err, len(png))
	}
	if *update {
		if err := os.WriteFile(filepath.Join(testdata, "console.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The same console through the signing proxy (make console), here in front of the local API:
	// the page comes from the proxy, and every API call leaves it signed.
	throughProxy(t, ctx, node, proxyScript, chromium, tools, srv.URL)
}

// signedCounter sends requests on, counting those that carry a SigV4 signature.
type signedCounter struct{ n *atomic.Int64 }

func (s signedCounter) Do(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") {
		s.n.Add(1)
	}
	return http.DefaultClient.Do(r)
}

func throughProxy(t *testing.T, ctx context.Context, node, script, chromium, tools, apiURL string) {
	t.Helper()
	target, err := url.Parse(apiURL)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var signed atomic.Int64
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")
	proxy := &http.Server{Handler: console.Proxy(l.Addr().String(), target, api.SigV4(creds, "us-east-1"), signedCounter{&signed})}
	go proxy.Serve(l)
	defer proxy.Close()

	cmd := exec.CommandContext(ctx, node, script, "http://"+l.Addr().String(), chromium, t.TempDir())
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(tools, "node_modules"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var s struct {
		External      []string `json:"external"`
		ConsoleErrors []string `json:"consoleErrors"`
		Fatal         string   `json:"fatal"`
		URL           string   `json:"url"`
		Names         []string `json:"names"`
		Rows          int      `json:"rows"`
	}
	if jerr := json.Unmarshal(out, &s); jerr != nil || err != nil || s.Fatal != "" {
		t.Fatalf("the proxy's browser script: %v %v %s\nstdout: %s\nstderr: %s", err, jerr, s.Fatal, out, stderr.String())
	}
	if !strings.HasSuffix(s.URL, "/console/") || !slices.Contains(s.Names, "customers") || s.Rows != 5 {
		t.Errorf("through the proxy: %s", out)
	}
	if len(s.External) > 0 || len(s.ConsoleErrors) > 0 {
		t.Errorf("through the proxy: requests elsewhere %v, console errors %v", s.External, s.ConsoleErrors)
	}
	// The datasets list twice (the list page, the query page's dataset names) and the query.
	if n := signed.Load(); n < 3 {
		t.Errorf("%d signed API calls went through the proxy, want at least 3", n)
	}
}
