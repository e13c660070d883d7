package lakehost_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/localstack/lakehost"
	"github.com/sluicelake/sluice/shared/catalog"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/zone"
)

// TestCatalogOfALocalRun runs the lake under the synthesized template's policies (stream and
// file drops through the built ingest, validate and promote) and asks the catalog, which reads
// over S3 with the query function's role: its counts equal what the zones hold on disk, read
// whole file by file (lakehost.Summarize), quality adds up, and not one request is denied.
func TestCatalogOfALocalRun(t *testing.T) {
	tpl := templatePath(t)
	bin := buildAll(t, "ingest", "validate", "promote")
	logs := &logBuffer{}
	lake := startLake(t, lakehost.Config{BinDir: bin, Template: tpl, Logs: logs})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p := &produced{good: map[string][]byte{}, bad: map[string]int{}}
	produce(t, lake, 400, 5, p)
	files, err := lakehost.SampleFiles(60, 0.1, 5)
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
	list, err := cat.List(ctx, catalog.Access{})
	if err != nil {
		t.Fatal(err)
	}
	counts, err := lake.Summary()
	if err != nil {
		t.Fatal(err)
	}
	onDisk := map[[2]string]lakehost.Count{}
	for _, c := range counts {
		onDisk[[2]string{string(c.Zone), c.Dataset}] = c
	}
	var in, valid, quarantined int64
	for _, s := range list {
		d, err := cat.Get(ctx, s.Name, catalog.Access{})
		if err != nil {
			t.Fatal(err)
		}
		for _, zs := range d.Zones {
			if zs.Error != "" {
				t.Errorf("%s %s: %s", s.Name, zs.Zone, zs.Error)
			}
			want := onDisk[[2]string{string(zs.Zone), s.Name}]
			if zs.Zone == zone.Raw {
				want = rawOnDisk(t, lake.Dir(), s.Name)
			}
			if zs.Objects != want.Objects || zs.Rows != want.Rows || zs.Bytes != want.Bytes {
				t.Errorf("%s %s: catalog %d objects, %d rows, %d bytes; on disk %d, %d, %d",
					s.Name, zs.Zone, zs.Objects, zs.Rows, zs.Bytes, want.Objects, want.Rows, want.Bytes)
			}
			if zs.Zone != zone.Raw && zs.Objects > 0 && zs.Uncounted != 0 {
				t.Errorf("%s %s: %d objects uncounted", s.Name, zs.Zone, zs.Uncounted)
			}
		}
		q := d.Quality
		if q.RecordsIn != q.Valid+q.Quarantined || q.Partial {
			t.Errorf("%s quality does not add up: %+v", s.Name, q)
		}
		if q.Valid != onDisk[[2]string{"cleansed", s.Name}].Rows || q.Quarantined != onDisk[[2]string{"quarantine", s.Name}].Rows {
			t.Errorf("%s quality: %d valid, %d quarantined; cleansed holds %d, quarantine %d", s.Name, q.Valid, q.Quarantined,
				onDisk[[2]string{"cleansed", s.Name}].Rows, onDisk[[2]string{"quarantine", s.Name}].Rows)
		}
		in += q.RecordsIn
		valid += q.Valid
		quarantined += q.Quarantined
	}
	// Every record sent or dropped is in some dataset's quality, or quarantined as _unknown.
	var fileRows int64
	for _, f := range files {
		fileRows += int64(f.Rows)
	}
	unknown := onDisk[[2]string{"quarantine", zone.Unknown}].Rows
	if in+unknown != int64(p.sent)+fileRows {
		t.Errorf("quality: %d in (+%d unknown) for %d sent and %d dropped", in, unknown, p.sent, fileRows)
	}
	for _, d := range lake.Denials() {
		t.Errorf("denied: %s", d)
	}
	if t.Failed() {
		tail := logs.String()
		t.Logf("functions' log (last 3000 bytes):\n%s", tail[max(0, len(tail)-3000):])
	}
}

// rawOnDisk counts a dataset's raw zone from the files: the Firehose archive (Parquet, rows
// from the footer) and the dropped files (rows not counted).
func rawOnDisk(t *testing.T, dir, dataset string) lakehost.Count {
	t.Helper()
	c := lakehost.Count{Zone: zone.Raw, Dataset: dataset}
	for _, sub := range []string{"archive", "landing"} {
		root := filepath.Join(dir, lakehost.Buckets[zone.Raw], sub, dataset)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return filepath.SkipDir
				}
				return err
			}
			if d.IsDir() {
				if strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			body, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			c.Objects++
			c.Bytes += int64(len(body))
			if strings.HasSuffix(path, ".parquet") {
				f, err := parquetfile.Footer(body)
				if err != nil {
					return err
				}
				c.Rows += f.NumRows()
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return c
}
