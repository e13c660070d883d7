package lakehost

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluicelake/sluice/shared/iceberg"
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
		if z == zone.Curated {
			// Curated holds Iceberg tables: what they hold is their current snapshots, not
			// every file on disk (replaced ones stay for time travel).
			cs, err := curatedCounts(root)
			if err != nil {
				return nil, err
			}
			out = append(out, cs...)
			continue
		}
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

// curatedTable opens the curated table of dataset in the bucket directory root.
func curatedTable(root, dataset string) *iceberg.Table {
	store := iceberg.DirStore{Dir: root, Name: filepath.Base(root)}
	return iceberg.Dataset(store, nil, dataset)
}

// curatedDatasets lists the datasets of the curated bucket directory root that have a table.
func curatedDatasets(root string) []string {
	var out []string
	dirs, _ := os.ReadDir(root)
	for _, d := range dirs {
		if d.IsDir() && !strings.HasPrefix(d.Name(), ".") && !strings.HasPrefix(d.Name(), "_") {
			if _, err := os.Stat(filepath.Join(root, d.Name(), zone.TableMetadata, iceberg.PointerName)); err == nil {
				out = append(out, d.Name())
			}
		}
	}
	sort.Strings(out)
	return out
}

func curatedCounts(root string) ([]Count, error) {
	var out []Count
	for _, ds := range curatedDatasets(root) {
		tbl := curatedTable(root, ds)
		_, files, err := tbl.FilesAt(context.Background(), iceberg.At{})
		if err != nil {
			return nil, fmt.Errorf("curated table %s: %w", ds, err)
		}
		c := Count{Zone: zone.Curated, Dataset: ds, Dir: filepath.Join(root, ds), Objects: len(files)}
		for _, f := range files {
			c.Rows += f.Records
			c.Bytes += f.Size
		}
		out = append(out, c)
	}
	return out, nil
}

// PrintTables writes each curated table's snapshots, oldest first: what time travel and
// rollback can reach.
func PrintTables(w io.Writer, dir string) error {
	root := filepath.Join(dir, Buckets[zone.Curated])
	for _, ds := range curatedDatasets(root) {
		h, err := curatedTable(root, ds).History(context.Background())
		if err != nil {
			return fmt.Errorf("curated table %s: %w", ds, err)
		}
		fmt.Fprintf(w, "curated table %s: %d snapshots\n", ds, len(h))
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  SNAPSHOT\tTIME\tOPERATION\tFILES +/-\tROWS +/-\tTOTAL ROWS\tRUN")
		for _, s := range h {
			cur := ""
			if s.Current {
				cur = " (current)"
			}
			fmt.Fprintf(tw, "  %d%s\t%s\t%s\t+%d/-%d\t+%d/-%d\t%d\t%s\n", s.SnapshotID, cur, s.Time.Format(time.RFC3339Nano), s.Operation,
				s.AddedFiles, s.DeletedFiles, s.AddedRows, s.DeletedRows, s.TotalRows, s.Run)
		}
		tw.Flush()
	}
	return nil
}
