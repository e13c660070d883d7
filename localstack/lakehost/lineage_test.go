package lakehost_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/lakehost"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/openlineage/oltest"
	"github.com/sluicelake/sluice/shared/streamput"
	"github.com/sluicelake/sluice/shared/zone"
)

// startLake starts a lake in a fresh folder with the tests' quick mapping (batches of 200, a
// 50 ms window) unless cfg sets them, and stops it when the test ends.
func startLake(t *testing.T, cfg lakehost.Config) *lakehost.Lake {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(t.TempDir(), "lake")
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 200
	}
	if cfg.BatchWindow == 0 {
		cfg.BatchWindow = 50 * time.Millisecond
	}
	lake, err := lakehost.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lake.Close() })
	return lake
}

// buildAll builds every function into a bin dir laid out as `make build` lays it out.
func buildAll(t testing.TB, names ...string) string {
	t.Helper()
	bin := t.TempDir()
	for _, name := range names {
		exe := runtimeapi.Build(t, "github.com/sluicelake/sluice/functions/"+name)
		if err := os.MkdirAll(filepath.Join(bin, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(exe, filepath.Join(bin, name, "bootstrap")); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// TestLineageOfALocalRun runs the whole lake (stream and file drops, through ingest,
// validate, promote and lineage, all built binaries) and then checks the lineage dataset:
// every object in cleansed and curated has a record whose inputs resolve to real objects or
// stream ranges all the way back to the stream or a dropped file, every event is valid
// OpenLineage, the counts add up at every hop, and a duplicated event records nothing new.
func TestLineageOfALocalRun(t *testing.T) {
	bin := buildAll(t, "ingest", "validate", "promote", "lineage")
	lake := startLake(t, lakehost.Config{BinDir: bin})
	dir := lake.Dir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	p := &produced{good: map[string][]byte{}, bad: map[string]int{}}
	produce(t, lake, 900, 7, p)
	files, err := lakehost.SampleFiles(150, 0.1, 7)
	if err != nil {
		t.Fatal(err)
	}
	fileRows := map[string]int{}
	for _, f := range files {
		if err := lake.DropFile(ctx, f.Dataset, f.Name, f.Body); err != nil {
			t.Fatal(err)
		}
		fileRows["landing/"+f.Dataset+"/"+f.Name] = f.Rows
	}
	if err := lake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	// A producer retries: 200 records arrive a second time, byte for byte. They land in new
	// cleansed objects, and promote drops every one of them as a duplicate.
	replay(t, lake, p, 200)
	if err := lake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}

	recs := readLineage(t, dir)
	if len(recs) == 0 {
		t.Fatal("no lineage records")
	}
	// The record of each version of each output object. (Versions of one key can share a
	// second of LastModified: a version is told by its ETag, not by time.)
	type out struct{ ns, key, version string }
	byOutput := map[out][]table.Row{}
	for _, rows := range recs {
		r := rows[0]
		oltest.Validate(t, []byte(r.Event))
		byOutput[out{r.OutputNamespace, r.OutputName, r.OutputVersion}] = rows
	}
	stores := map[string]objectstore.Store{}
	for z, b := range lakehost.Buckets {
		if z != table.Zone {
			stores["s3://"+b] = s3store.New(lake.S3.Client(), b)
		}
	}

	// Every current object in cleansed and curated has a record of its very version.
	for _, z := range []zone.Zone{zone.Cleansed, zone.Curated} {
		ns := "s3://" + lakehost.Buckets[z]
		infos, err := stores[ns].List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, in := range infos {
			if zone.IsBookkeeping(in.Key) {
				continue
			}
			n++
			if byOutput[out{ns, in.Key, strings.Trim(in.ETag, `"`)}] == nil {
				t.Errorf("%s/%s (ETag %s) has no lineage record of its version", ns, in.Key, in.ETag)
			}
		}
		if n == 0 {
			t.Fatalf("nothing in %s", z)
		}
	}

	// Walk every curated object back to its roots: each input is a stream range, or an object
	// that has a record of its own (so it existed), or a file that was dropped.
	var walk func(ns, key, version string, depth int) (roots map[string]bool)
	walk = func(ns, key, version string, depth int) map[string]bool {
		rows := byOutput[out{ns, key, version}]
		if rows == nil {
			t.Errorf("input %s/%s (version %s) has no lineage record", ns, key, version)
			return nil
		}
		if depth > 10 {
			t.Fatalf("lineage of %s/%s does not end", ns, key)
		}
		roots := map[string]bool{}
		for _, r := range rows {
			switch {
			case !r.HasInput():
				roots[r.JobName] = true
			case strings.HasPrefix(r.InputNamespace, "kinesis://"):
				if r.InputName != lake.Stream() || r.InputShard == "" || r.InputFirstSequence == "" || r.InputLastSequence < r.InputFirstSequence {
					t.Errorf("%s: stream input %+v", key, r)
				}
				roots["stream"] = true
			default:
				for k := range walk(r.InputNamespace, r.InputName, r.InputVersion, depth+1) {
					roots[k] = true
				}
			}
		}
		return roots
	}
	allRoots := map[string]bool{}
	curated, _ := stores["s3://"+lakehost.Buckets[zone.Curated]].List(ctx, "")
	for _, in := range curated {
		if !zone.IsBookkeeping(in.Key) {
			for k := range walk("s3://"+lakehost.Buckets[zone.Curated], in.Key, strings.Trim(in.ETag, `"`), 0) {
				allRoots[k] = true
			}
		}
	}
	if !allRoots["stream"] || !allRoots["upload"] {
		t.Errorf("curated traces back to %v; want both the stream and dropped files", allRoots)
	}

	// Counts, over the records of the objects as they are now. Ingest: every record sent is in
	// exactly one cleansed or quarantine object.
	current := map[string][]table.Row{}
	live := liveCurated(t, dir)
	for ns, s := range stores {
		infos, err := s.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			// Curated files a later snapshot replaced stay for time travel; the curated zone
			// as it is now is its tables' current snapshots.
			if ns == "s3://"+lakehost.Buckets[zone.Curated] && !zone.IsBookkeeping(info.Key) && !live[info.Key] {
				continue
			}
			if rs := byOutput[out{ns, info.Key, strings.Trim(info.ETag, `"`)}]; rs != nil {
				current[ns+"/"+info.Key] = rs
			}
		}
	}
	sum := func(job string, match func(r table.Row) bool) (rows int64) {
		for _, rs := range current {
			if rs[0].JobName == job && match(rs[0]) && rs[0].OutputRows != nil {
				rows += *rs[0].OutputRows
			}
		}
		return rows
	}
	if got := sum("ingest", func(table.Row) bool { return true }); got != int64(p.sent) {
		t.Errorf("ingest outputs hold %d rows, %d records were sent", got, p.sent)
	}
	// Validate: each file's rows are in its cleansed and quarantine outputs.
	for key, n := range fileRows {
		got := sum("validate", func(r table.Row) bool { return r.InputName == key })
		if got != int64(n) {
			t.Errorf("%s: validate outputs hold %d rows, the file has %d", key, got, n)
		}
	}
	// Promote: each curated file holds the rows it took from its inputs; across the hop, the
	// cleansed rows of a dataset are its curated rows plus the duplicates every promotion
	// dropped (each counted once, on the version of the file it wrote).
	cleansedRows, curatedRows, dropped := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, rs := range current {
		r := rs[0]
		switch {
		case r.OutputRows == nil:
		case r.OutputZone == string(zone.Cleansed):
			cleansedRows[r.OutputDataset] += *r.OutputRows
		case r.OutputZone == string(zone.Curated):
			curatedRows[r.OutputDataset] += *r.OutputRows
			var in int64
			for _, e := range rs {
				if e.InputRows != nil {
					in += *e.InputRows
				}
			}
			if in != *r.OutputRows {
				t.Errorf("%s: %d rows from its inputs, %d in the file", r.OutputName, in, *r.OutputRows)
			}
		}
	}
	for _, rows := range byOutput {
		if r := rows[0]; r.JobName == "promote" {
			dropped[r.OutputDataset] += droppedOf(t, r.Event)
		}
	}
	for ds, n := range cleansedRows {
		if n != curatedRows[ds]+dropped[ds] {
			t.Errorf("%s: %d cleansed rows, %d curated + %d duplicates dropped", ds, n, curatedRows[ds], dropped[ds])
		}
	}
	if len(cleansedRows) < 2 {
		t.Errorf("cleansed rows by dataset %v; want both datasets", cleansedRows)
	}

	// A duplicated object-created event records nothing new.
	before := len(readLineage(t, dir))
	var some string
	for _, in := range curated {
		if !zone.IsBookkeeping(in.Key) {
			some = in.Key
			break
		}
	}
	ev := fmt.Sprintf(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":%q},"object":{"key":%q}}}]}`,
		lakehost.Buckets[zone.Curated], some)
	res, err := lake.Lineage.Invoke(ctx, []byte(ev))
	if err != nil || res.FunctionError != nil {
		t.Fatalf("%v %v", err, res.FunctionError)
	}
	if !strings.Contains(string(res.Payload), `"duplicate"`) {
		t.Errorf("redelivered event: %s, want a duplicate", res.Payload)
	}
	if after := len(readLineage(t, dir)); after != before {
		t.Errorf("%d lineage objects after a duplicated event, %d before", after, before)
	}
	t.Logf("%d lineage records; %d records sent, %d files dropped; duplicates dropped by promote %v", len(recs), p.sent, len(files), dropped)
	if dropped["user_events"]+dropped["customers"] < 200 {
		t.Errorf("promote dropped %v duplicates; the 200 replayed records are among them", dropped)
	}
}

// replay sends n of the good records produced so far again, unchanged.
func replay(t *testing.T, lake *lakehost.Lake, p *produced, n int) {
	t.Helper()
	w, err := streamput.New(lake.KinesisClient, streamput.Config{StreamName: lake.Stream()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	keys := slices.Sorted(maps.Keys(p.good))
	for _, k := range keys[:min(n, len(keys))] {
		if err := w.Put(ctx, streamput.Entry{Data: p.good[k], PartitionKey: k}); err != nil {
			t.Fatal(err)
		}
		p.sent++
	}
	if err := w.Flush(ctx); err != nil || w.Stats().Failed > 0 {
		t.Fatalf("replay: %v (%d failed)", err, w.Stats().Failed)
	}
}

// readLineage reads every lineage object of the local lake: path → rows.
func readLineage(t *testing.T, dir string) map[string][]table.Row {
	t.Helper()
	out := map[string][]table.Row{}
	root := filepath.Join(dir, lakehost.Buckets[table.Zone], table.Dataset)
	var paths []string
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, table.Ext) {
			paths = append(paths, path)
		}
		return nil
	})
	sort.Strings(paths)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := table.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out[p] = rows
	}
	return out
}

// droppedOf reads the rows a run dropped from its event's sluice_rows run facet.
func droppedOf(t *testing.T, event string) int64 {
	var ev struct {
		Run struct {
			Facets struct {
				Rows struct {
					Dropped map[string]int64 `json:"dropped"`
				} `json:"sluice_rows"`
			} `json:"facets"`
		} `json:"run"`
	}
	if err := json.Unmarshal([]byte(event), &ev); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, d := range ev.Run.Facets.Rows.Dropped {
		n += d
	}
	return n
}

// liveCurated lists the keys of the data files in the current snapshots of the curated tables.
func liveCurated(t *testing.T, dir string) map[string]bool {
	t.Helper()
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	bucket := lakehost.Buckets[zone.Curated]
	store := iceberg.DirStore{Dir: filepath.Join(dir, bucket), Name: bucket}
	live := map[string]bool{}
	for ds := range reg {
		tbl := iceberg.Dataset(store, nil, ds)
		_, files, err := tbl.FilesAt(context.Background(), iceberg.At{})
		if errors.Is(err, iceberg.ErrNoTable) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			key, _ := tbl.Key(f.Path)
			live[key] = true
		}
	}
	return live
}
