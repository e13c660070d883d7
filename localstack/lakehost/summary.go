package lakehost

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/zone"
)

// Count is what one zone holds of one dataset.
type Count struct {
	Zone    zone.Zone
	Dataset string
	Objects int
	Rows    int64
	Bytes   int64
	// Dir is where the files are on disk.
	Dir string
	// Reasons counts quarantined records by reason (quarantine only).
	Reasons map[string]int
}

// Summary reads the lake's files straight from disk: per zone and dataset, objects and rows.
func (l *Lake) Summary() ([]Count, error) {
	return Summarize(l.cfg.Dir)
}

// Summarize reads a lake directory (one folder per bucket).
func Summarize(dir string) ([]Count, error) {
	var out []Count
	for _, z := range zone.All {
		root := filepath.Join(dir, Buckets[z])
		counts := map[string]*Count{}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return filepath.SkipDir
				}
				return err
			}
			name := d.Name()
			if d.IsDir() && (strings.HasPrefix(name, ".") || z == zone.Raw && name == "landing" && filepath.Dir(path) == root) {
				return filepath.SkipDir // the stand-in's own bookkeeping; files as dropped
			}
			if d.IsDir() || !(strings.HasSuffix(name, ".parquet") || strings.HasSuffix(name, quarantine.Ext)) {
				return nil
			}
			rel, _ := filepath.Rel(root, path)
			dataset := strings.Split(filepath.ToSlash(rel), "/")[0]
			c := counts[dataset]
			if c == nil {
				c = &Count{Zone: z, Dataset: dataset, Dir: filepath.Join(root, dataset), Reasons: map[string]int{}}
				counts[dataset] = c
			}
			body, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			c.Objects++
			c.Bytes += int64(len(body))
			if strings.HasSuffix(name, ".parquet") {
				f, err := parquetfile.Footer(body)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				c.Rows += f.NumRows()
				return nil
			}
			entries, err := quarantine.Decode(strings.NewReader(string(body)))
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			c.Rows += int64(len(entries))
			for _, e := range entries {
				c.Reasons[e.Reason]++
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(counts))
		for n := range counts {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, *counts[n])
		}
	}
	return out, nil
}

// Print writes counts as a table.
func Print(w io.Writer, counts []Count) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ZONE\tDATASET\tOBJECTS\tROWS\tMB\tON DISK")
	for _, c := range counts {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%s\n", c.Zone, c.Dataset, c.Objects, c.Rows, float64(c.Bytes)/1e6, c.Dir)
	}
	tw.Flush()
	for _, c := range counts {
		if len(c.Reasons) > 0 {
			fmt.Fprintf(w, "quarantine reasons for %s: %v\n", c.Dataset, c.Reasons)
		}
	}
}
