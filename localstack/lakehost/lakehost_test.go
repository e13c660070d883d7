package lakehost_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/lakehost"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/localstack/s3fault"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/streamput"
	"github.com/sluicelake/sluice/shared/zone"
)

// buildFunctions builds the functions the way `make build` does, into a temporary bin dir.
func buildFunctions(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	exe := runtimeapi.Build(t, "github.com/sluicelake/sluice/functions/ingest")
	if err := os.MkdirAll(filepath.Join(bin, "ingest"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(exe, filepath.Join(bin, "ingest", "bootstrap")); err != nil {
		t.Fatal(err)
	}
	return bin
}

type produced struct {
	good map[string][]byte // record key → JSON
	bad  map[string]int    // record bytes → how many were sent (empty records are all alike)
	sent int
}

// produce writes records of every dataset, remembering each one.
func produce(t *testing.T, lake *lakehost.Lake, n int, seed uint64, p *produced) {
	t.Helper()
	reg, _ := events.Registry()
	gens, err := fake.Generators(reg, "all", fake.Options{Seed: seed, BadShare: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	w, err := streamput.New(lake.KinesisClient, streamput.Config{StreamName: lake.Stream()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = fake.Produce(ctx, gens, n, func(ctx context.Context, r fake.Record) error {
		if r.Bad == "" {
			p.good[recordKey(t, reg[r.Dataset], r.Data)] = r.Data
		} else {
			p.bad[string(r.Data)]++
		}
		p.sent++
		return w.Put(ctx, streamput.Entry{Data: r.Data, PartitionKey: r.PartitionKey})
	})
	if err == nil {
		err = w.Flush(ctx)
	}
	if err != nil || w.Stats().Failed > 0 {
		t.Fatalf("produce: %v (%d failed)", err, w.Stats().Failed)
	}
}

func recordKey(t *testing.T, c *contract.Contract, data []byte) string {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("good record is not JSON: %s", data)
	}
	return c.Name + "/" + fmt.Sprint(m[c.Fields[c.Key[0]].Name])
}

// expect converts a produced JSON value to what the Parquet reader returns for the field.
func expect(t *testing.T, f *contract.Field, v any) any {
	if v == nil {
		return nil
	}
	switch f.Kind {
	case contract.Timestamp:
		ts, err := time.Parse(time.RFC3339Nano, v.(string))
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		return ts.UnixMilli()
	case contract.Int:
		return int32(v.(float64))
	case contract.Long:
		return int64(v.(float64))
	case contract.Float:
		return float32(v.(float64))
	}
	return v
}

// verify checks that the lake holds each good record once with every field as produced, and
// each bad one once in quarantine with a reason and its original bytes.
func verify(t *testing.T, dir string, p *produced) {
	t.Helper()
	reg, _ := events.Registry()
	seen := map[string]int{}
	err := filepath.Walk(filepath.Join(dir, lakehost.Buckets[zone.Cleansed]), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, ".parquet") {
			return err
		}
		body, _ := os.ReadFile(path)
		rows, err := parquetfile.ReadBytes(body)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		dataset := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(path))))
		c := reg[dataset]
		for _, row := range rows {
			key := c.Name + "/" + fmt.Sprint(row[c.Fields[c.Key[0]].Name])
			seen[key]++
			var want map[string]any
			if err := json.Unmarshal(p.good[key], &want); err != nil {
				t.Errorf("%s: row for a record never produced", key)
				continue
			}
			for i := range c.Fields {
				f := &c.Fields[i]
				got, exp := row[f.Name], expect(t, f, want[f.Name])
				if m, ok := exp.(map[string]any); ok && len(m) == 0 {
					exp = nil // an empty map and a missing one read back alike
				}
				if gm, ok := got.(map[string]any); ok && len(gm) == 0 {
					got = nil
				}
				if fmt.Sprint(got) != fmt.Sprint(exp) {
					t.Errorf("%s: %s = %#v, want %#v", key, f.Name, got, exp)
				}
			}
			ts := row[c.Fields[c.EventTime].Name].(int64)
			if !strings.Contains(path, zone.PartitionOf(ts).Path()) {
				t.Errorf("%s is in %s, want partition %s", key, path, zone.PartitionOf(ts).Path())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key := range p.good {
		if seen[key] != 1 {
			t.Errorf("%s is in the cleansed zone %d times", key, seen[key])
		}
	}
	quarantined := map[string]int{}
	err = filepath.Walk(filepath.Join(dir, lakehost.Buckets[zone.Quarantine]), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, quarantine.Ext) {
			return err
		}
		body, _ := os.ReadFile(path)
		entries, err := quarantine.Decode(bytes.NewReader(body))
		for _, e := range entries {
			quarantined[string(e.Original)]++
			if e.Reason == "" || e.Source.Sequence == "" || e.Source.Shard == "" {
				t.Errorf("quarantine entry without reason or position: %+v", e)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	total, bad := 0, 0
	for data, n := range p.bad {
		bad += n
		if quarantined[data] != n {
			t.Errorf("bad record sent %d times is in quarantine %d times: %.80q", n, quarantined[data], data)
		}
	}
	for _, n := range quarantined {
		total += n
	}
	if len(seen)+total != p.sent || total != bad {
		t.Errorf("accounting: %d cleansed + %d quarantined != %d sent (%d bad)", len(seen), total, p.sent, bad)
	}
}

func TestLakeEndToEnd(t *testing.T) {
	bin := buildFunctions(t)
	var failing atomic.Int32
	var proxy *s3fault.Proxy
	dir := filepath.Join(t.TempDir(), "lake")
	lake, err := lakehost.Start(context.Background(), lakehost.Config{
		Dir: dir, BinDir: bin, BatchSize: 200, BatchWindow: 50 * time.Millisecond,
		S3Endpoint: func(standIn string) string {
			var perr error
			if proxy, perr = s3fault.Start(standIn); perr != nil {
				t.Fatal(perr)
			}
			return proxy.URL
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lake.Close(); proxy.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	p := &produced{good: map[string][]byte{}, bad: map[string]int{}}
	produce(t, lake, 1200, 1, p)
	if err := lake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	verify(t, dir, p)
	// The local Firehose read the stream too, on its own, and archived it under archive/.
	if as := lake.Archive.Stats(); as.Records != int64(p.sent) || as.Delivered == 0 || as.Delivered+as.Failed != as.Records {
		t.Errorf("archive %+v: want all %d records read, and every one archived or under the error prefix", as, p.sent)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, lakehost.Buckets[zone.Raw], "archive", "user_events", "dt=*", "hr=*", "sluice-archive-1-*.parquet")); len(matches) == 0 {
		t.Error("no Parquet objects in the raw archive")
	}

	// Now S3 refuses cleansed writes for a while: the function reports the records it could not
	// persist, the mapping redelivers from the first of them, and the lake ends up whole.
	failing.Store(40) // enough that some writes exhaust the SDK's three attempts
	proxy.FailWhen(func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/cleansed/") && failing.Add(-1) >= 0
	})
	produce(t, lake, 800, 2, p)
	if err := lake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	st := lake.Mapping.Stats()
	if proxy.Fails == 0 || st.PartialFailures == 0 || st.Retries == 0 || st.DLQRecords != 0 {
		t.Fatalf("injected %d faults; mapping: %+v", proxy.Fails, st)
	}
	verify(t, dir, p)
	t.Logf("%d records (%d bad) through the built ingest; mapping %+v", p.sent, len(p.bad), st)
}
