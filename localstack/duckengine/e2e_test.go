package duckengine_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/infra/bundle"
	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/localstack/lakehost"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/query/api"
	"github.com/sluicelake/sluice/shared/zone"
)

// TestLocalLakeEndToEnd produces events, some bad, through the local lake (Kinesis stand-in,
// event source mapping, the built ingest, S3 stand-in on disk), then counts them through the
// query API on the local engine: exactly the produced minus the quarantined.
func TestLocalLakeEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole local lake")
	}
	bin := t.TempDir()
	if err := bundle.Build(context.Background(), "", runtime.GOARCH, filepath.Join(bin, "ingest", "bootstrap"), "github.com/sluicelake/sluice/functions/ingest"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "lake")
	lake, err := lakehost.Start(context.Background(), lakehost.Config{Dir: dir, BinDir: bin, BatchSize: 200, BatchWindow: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lake.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	const n = 1500
	tally, _, err := lake.Produce(ctx, "user_events", n, 0.1, 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := lake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	quarantined := 0
	err = filepath.Walk(filepath.Join(dir, lakehost.Buckets[zone.Quarantine]), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, quarantine.Ext) {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		entries, err := quarantine.Decode(bytes.NewReader(body))
		quarantined += len(entries)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if quarantined == 0 || quarantined != n-tally[""] {
		t.Fatalf("%d quarantined; the producer sent %d bad of %d", quarantined, n-tally[""], n)
	}

	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	policy, err := events.Access()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := duckengine.Serve(duckengine.ServeOptions{Engine: duckengine.Options{LakeDir: dir, Buckets: lakehost.Buckets}, Contracts: reg, Access: policy})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// Nothing was promoted: the default zone is cleansed, which a data steward may read.
	steward := api.AsCaller("arn:aws:iam::123456789012:role/sluice-data-steward")
	res, err := (&api.Client{BaseURL: srv.URL, Sign: steward}).Run(ctx, &query.Request{Dataset: "user_events",
		Aggregates: []query.Aggregate{{Func: "count", As: "events"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Rows[0][0]; got != float64(n-quarantined) {
		t.Errorf("the query API counts %v events; produced %d, quarantined %d", got, n, quarantined)
	}
	t.Logf("%d produced, %d quarantined, %v counted by %s", n, quarantined, res.Rows[0][0], res.SQL)
}
