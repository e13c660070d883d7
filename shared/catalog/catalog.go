// Package catalog is what the lake holds, for people: every dataset's contract (columns, types,
// rules, PII classes), what each zone holds of it (rows, objects, bytes, last write), its data
// quality over a window (records in, valid, quarantined, top reasons, masked samples) and its
// lineage neighbours.
//
// It reads only what is cheap: object listings, Parquet footers (one ranged read each, through
// the objectstore port) and the quarantine zone's small gzip'd JSON lines; never the data
// itself. What it reads of an object is cached by bucket, key and ETag, so a warm function
// reads each object once however often the catalog is asked.
//
// A caller sees only what it may read: Access filters datasets per zone and columns per zone;
// what is not visible is left out, not marked.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/lineage/graph"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/zone"
)

// Catalog answers what the lake holds. Its zero value is not usable: set Contracts and Stores.
type Catalog struct {
	// Contracts are the lake's datasets by name.
	Contracts map[string]*contract.Contract
	// Stores are the zones' buckets. A zone without a store is left out of every answer.
	Stores map[zone.Zone]objectstore.Store
	// Lineage, when set, gives the lineage graph around a dataset (graph.Build over the query
	// engine); Get asks it for the dataset's neighbours.
	Lineage func(ctx context.Context, dataset string) (*graph.Graph, error)
	// Window is how far back quality looks, by the time objects were written. Default 7 days.
	Window time.Duration
	// MaxReads bounds the objects one answer reads (footers and quarantine objects not yet
	// cached). Past it, rows are counted only for the objects read and the answer says so
	// (Partial). Default 2,000: about a second of 16 parallel ranged reads on S3.
	MaxReads int
	// Parallel is how many reads run at once. Default 16.
	Parallel int
	// Samples is how many quarantined records (masked) Get shows. Default 10.
	Samples int
	// Timeout bounds one answer: past it, what is not listed or read yet is left out and the
	// answer says so (a zone's Error, Uncounted, Partial), rather than API Gateway answering 504
	// at 29 s. Default 20 s.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Tables opens a dataset's curated Iceberg table, so the curated zone counts the files of
	// its current snapshot (what a reader reads), not every file kept for time travel and the
	// table's metadata. nil: the table cataloged in the curated bucket itself (the local lake's).
	Tables func(dataset string) *iceberg.Table

	cache objectCache
}

// Access is what a caller may see. The zero value sees everything.
type Access struct {
	// Visible reports whether the caller may read dataset in zone z. nil: every dataset in
	// every zone. A dataset visible in no zone is left out of List and is not found by Get.
	Visible func(dataset string, z zone.Zone) bool
	// Column reports whether the caller may read column f of dataset in zone z. nil: every
	// column. A column visible in no zone is left out of the schema; quarantined samples
	// show only the values of columns visible in the cleansed zone.
	Column func(dataset string, z zone.Zone, f *contract.Field) bool
}

func (a Access) visible(dataset string, z zone.Zone) bool {
	return a.Visible == nil || a.Visible(dataset, z)
}

func (a Access) column(dataset string, z zone.Zone, f *contract.Field) bool {
	return a.visible(dataset, z) && (a.Column == nil || a.Column(dataset, z, f))
}

// ErrNotFound means no dataset of that name is visible to the caller: either there is none, or
// the caller may read it in no zone (the two are not told apart, so a name is no leak).
var ErrNotFound = errors.New("catalog: no such dataset")

// Summary is a dataset as List shows it.
type Summary struct {
	Name string `json:"name"`
	Doc  string `json:"doc,omitempty"`
	// Version is the contract's content hash.
	Version string `json:"contract_version"`
	// Zones are the zones the caller may read, in flow order.
	Zones []ZoneStats `json:"zones"`
	// LastWrite is the newest write in any of those zones: the dataset's freshness.
	LastWrite *time.Time `json:"last_write,omitempty"`
	// PII counts the columns by PII class other than keep.
	PII map[string]int `json:"pii,omitempty"`
}

// ZoneStats is what one zone holds of a dataset.
type ZoneStats struct {
	Zone   zone.Zone `json:"zone"`
	Bucket string    `json:"bucket"`
	// Prefixes are where the dataset's objects are in the bucket.
	Prefixes []string `json:"prefixes"`
	Objects  int      `json:"objects"`
	Bytes    int64    `json:"bytes"`
	// Rows is the row count of the Parquet objects (from their footers), or the quarantined
	// records (quarantine zone).
	Rows int64 `json:"rows"`
	// Uncounted is how many objects hold rows Rows does not count: files dropped as CSV or
	// JSON lines in the raw zone, whose rows only validate counts, and objects past MaxReads.
	Uncounted int `json:"uncounted,omitempty"`
	// LastWrite is the newest object's time.
	LastWrite *time.Time `json:"last_write,omitempty"`
	// Error says what could not be read (a permission the function lacks, say); the counts
	// are then those of what could.
	Error string `json:"error,omitempty"`
}

// Dataset is one dataset as Get shows it.
type Dataset struct {
	Summary
	EventTime string   `json:"event_time"`
	Key       []string `json:"key"`
	// Columns are the contract's fields the caller may read in some zone, in contract order.
	Columns []Column `json:"columns"`
	// Quality is nil when the caller may read neither the cleansed nor the quarantine zone.
	Quality *Quality `json:"quality,omitempty"`
	// Lineage is the dataset's neighbours one hop up and down, datasets in zones the caller
	// may not read left out. Nil without a lineage source; LineageError says why it is
	// missing when the source failed.
	Lineage      *graph.Graph `json:"lineage,omitempty"`
	LineageError string       `json:"lineage_error,omitempty"`
}

// Column is one field of the contract.
type Column struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Nullable bool     `json:"nullable"`
	Doc      string   `json:"doc,omitempty"`
	Symbols  []string `json:"symbols,omitempty"`
	Rules    *Rules   `json:"rules,omitempty"`
	// PII is what the curated zone does with the column: keep, mask, hash or drop.
	PII       contract.PII `json:"pii"`
	Key       bool         `json:"key,omitempty"`
	EventTime bool         `json:"event_time,omitempty"`
	// Coerce is the other JSON type the column takes, if any.
	Coerce string `json:"coerce,omitempty"`
	// Zones are the zones that hold the column and the caller may read it in (curated holds
	// no column whose PII class is drop).
	Zones []zone.Zone `json:"zones"`
}

// Rules are a column's quality rules.
type Rules struct {
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	Pattern   string   `json:"pattern,omitempty"`
	MinLength int      `json:"min_length,omitempty"`
	MaxLength int      `json:"max_length,omitempty"`
}

// Quality is what entered the lake for a dataset in a window, by the time it was written:
// records in = valid (rows written to the cleansed zone) + quarantined.
type Quality struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	RecordsIn   int64     `json:"records_in"`
	Valid       int64     `json:"valid"`
	Quarantined int64     `json:"quarantined"`
	// Reasons are the quarantine reasons, most frequent first.
	Reasons []Reason `json:"reasons"`
	// Days is the trend, a day (UTC) each, oldest first, every day of the window present.
	Days []Day `json:"days"`
	// Samples are the latest quarantined records, masked (see Mask).
	Samples []Sample `json:"samples"`
	// Partial means some objects of the window were not read (MaxReads): the counts are
	// those of the objects read.
	Partial bool `json:"partial,omitempty"`
	// Unseen names a zone quality needs that the caller may not read: the counts then lack
	// its part (valid without cleansed, quarantined without quarantine).
	Unseen []zone.Zone `json:"unseen,omitempty"`
}

// Reason is a quarantine reason and how many records it rejected.
type Reason struct {
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

// Day is one day of the quality trend.
type Day struct {
	Date        string `json:"date"`
	Valid       int64  `json:"valid"`
	Quarantined int64  `json:"quarantined"`
}

// Sample is one quarantined record with its values masked.
type Sample struct {
	Reason string    `json:"reason"`
	Field  string    `json:"field,omitempty"`
	Detail string    `json:"detail"`
	At     time.Time `json:"at"`
	// Preview is the start of the record with every value masked but those of columns whose
	// PII class is keep and the caller may read (see Mask).
	Preview string `json:"preview"`
	// Source is where the record came from: a stream and shard, or a dropped file.
	Source string `json:"source,omitempty"`
}

func (c *Catalog) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

func (c *Catalog) window() time.Duration {
	if c.Window > 0 {
		return c.Window
	}
	return 7 * 24 * time.Hour
}

// List describes every dataset the caller may read in some zone, by name.
func (c *Catalog) List(ctx context.Context, a Access) ([]Summary, error) {
	names := make([]string, 0, len(c.Contracts))
	for n := range c.Contracts {
		if c.anyZone(n, a) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]Summary, len(names))
	ctx, budget, cancel := c.newBudget(ctx)
	defer cancel()
	for i, n := range names {
		s, _, err := c.summary(ctx, c.Contracts[n], a, budget)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// Get describes one dataset, or returns ErrNotFound when the caller may read it in no zone.
func (c *Catalog) Get(ctx context.Context, name string, a Access) (*Dataset, error) {
	ct, ok := c.Contracts[name]
	if !ok || !c.anyZone(name, a) {
		return nil, fmt.Errorf("%w %q: GET /datasets lists those you may read", ErrNotFound, clip(name))
	}
	ctx, budget, cancel := c.newBudget(ctx)
	defer cancel()
	sum, objs, err := c.summary(ctx, ct, a, budget)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Summary: sum, EventTime: ct.Fields[ct.EventTime].Name, Key: []string{}}
	for _, k := range ct.Key {
		d.Key = append(d.Key, ct.Fields[k].Name)
	}
	d.Columns = columns(ct, a, c.Stores)
	d.Quality = c.quality(ct, a, objs)
	if c.Lineage != nil {
		g, err := c.Lineage(ctx, name)
		if err != nil {
			d.LineageError = err.Error()
		} else {
			d.Lineage = visibleGraph(g, a)
		}
	}
	return d, nil
}

func (c *Catalog) anyZone(dataset string, a Access) bool {
	for _, z := range zone.All {
		if c.Stores[z] != nil && a.visible(dataset, z) {
			return true
		}
	}
	return false
}

// prefixes are where a dataset's objects are in a zone's bucket: the Firehose archive and file
// drops in raw, the dataset's Hive-style folder elsewhere.
func prefixes(z zone.Zone, dataset string) []string {
	if z == zone.Raw {
		return []string{"archive/" + dataset + "/", "landing/" + dataset + "/"}
	}
	return []string{dataset + "/"}
}

// zoneObjects are one zone's objects of a dataset and what was read of them, kept for quality.
type zoneObjects struct {
	infos []objectstore.Info
	reads map[string]read
}

type listed map[zone.Zone]zoneObjects

func (c *Catalog) summary(ctx context.Context, ct *contract.Contract, a Access, b *budget) (Summary, listed, error) {
	s := Summary{Name: ct.Name, Doc: ct.Doc, Version: ct.Version, Zones: []ZoneStats{}}
	for _, f := range ct.Fields {
		if f.PII != "" && f.PII != contract.Keep && columnAnywhere(ct.Name, &f, a, c.Stores) {
			if s.PII == nil {
				s.PII = map[string]int{}
			}
			s.PII[string(f.PII)]++
		}
	}
	objs := listed{}
	for _, z := range zone.All {
		st := c.Stores[z]
		if st == nil || !a.visible(ct.Name, z) {
			continue
		}
		zs := ZoneStats{Zone: z, Bucket: st.Bucket(), Prefixes: prefixes(z, ct.Name)}
		var infos []objectstore.Info
		if z == zone.Curated {
			got, err := c.curatedFiles(ctx, st, ct.Name)
			if err != nil {
				if b.parent.Err() != nil {
					return s, nil, b.parent.Err()
				}
				zs.Error = readError("read the current snapshot of", st.Bucket(), ct.Name+"/metadata/", err)
			}
			infos = got
		}
		for _, p := range zs.Prefixes {
			if z == zone.Curated {
				break
			}
			got, err := st.List(ctx, p)
			if err != nil {
				if b.parent.Err() != nil {
					return s, nil, b.parent.Err()
				}
				if ctx.Err() != nil {
					zs.Error = fmt.Sprintf("listing s3://%s/%s did not finish within %s, so this zone is left out: it holds more objects than a live answer can list", st.Bucket(), p, c.timeout())
					continue
				}
				zs.Error = readError("list", st.Bucket(), p, err)
				continue
			}
			infos = append(infos, got...)
		}
		for _, o := range infos {
			zs.Objects++
			zs.Bytes += o.Size
			if t := o.LastModified.UTC(); zs.LastWrite == nil || t.After(*zs.LastWrite) {
				zs.LastWrite = &t
			}
		}
		got, err := c.read(ctx, st, z, infos, b)
		if err != nil {
			return s, nil, err
		}
		objs[z] = zoneObjects{infos: infos, reads: got}
		for _, o := range infos {
			r, ok := got[o.Key]
			switch {
			case !ok:
				zs.Uncounted++
			case r.err != "":
				zs.Uncounted++
				if zs.Error == "" {
					zs.Error = r.err
				}
			default:
				zs.Rows += r.rows
			}
		}
		if zs.LastWrite != nil && (s.LastWrite == nil || zs.LastWrite.After(*s.LastWrite)) {
			t := *zs.LastWrite
			s.LastWrite = &t
		}
		s.Zones = append(s.Zones, zs)
	}
	return s, objs, nil
}

// curatedFiles are the data files of the current snapshot of dataset's curated table, as
// objects: none before its first promotion.
func (c *Catalog) curatedFiles(ctx context.Context, st objectstore.Store, dataset string) ([]objectstore.Info, error) {
	tbl := iceberg.Dataset(st, nil, dataset)
	if c.Tables != nil {
		tbl = c.Tables(dataset)
	}
	snap, files, err := tbl.FilesAt(ctx, iceberg.At{})
	if errors.Is(err, iceberg.ErrNoTable) || snap == nil {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	infos := make([]objectstore.Info, 0, len(files))
	for _, f := range files {
		key, err := tbl.Key(f.Path)
		if err != nil {
			return nil, err
		}
		infos = append(infos, objectstore.Info{Key: key, Size: f.Size, LastModified: time.UnixMilli(snap.TimestampMs)})
	}
	return infos, nil
}

// readError is a read failure as a person can act on it.
func readError(op, bucket, key string, err error) string {
	if errors.Is(err, objectstore.ErrForbidden) {
		return fmt.Sprintf("%s s3://%s/%s was refused (%v): grant the query function's role s3:ListBucket on the bucket and s3:GetObject on its objects", op, bucket, key, err)
	}
	return fmt.Sprintf("%s s3://%s/%s: %v", op, bucket, key, err)
}

func columnAnywhere(dataset string, f *contract.Field, a Access, stores map[zone.Zone]objectstore.Store) bool {
	for _, z := range zone.All {
		if stores[z] != nil && holds(z, f) && a.column(dataset, z, f) {
			return true
		}
	}
	return false
}

// holds reports whether zone z stores column f: curated drops the columns whose PII class is
// drop; quarantine holds records whole, so it has every column.
func holds(z zone.Zone, f *contract.Field) bool {
	return z != zone.Curated || f.PII != contract.Drop
}

func columns(ct *contract.Contract, a Access, stores map[zone.Zone]objectstore.Store) []Column {
	key := map[int]bool{}
	for _, k := range ct.Key {
		key[k] = true
	}
	out := []Column{}
	for i := range ct.Fields {
		f := &ct.Fields[i]
		col := Column{Name: f.Name, Type: f.Kind.String(), Nullable: f.Nullable, Doc: f.Doc, Symbols: f.Symbols,
			PII: f.PII, Key: key[i], EventTime: i == ct.EventTime, Zones: []zone.Zone{}}
		if col.PII == "" {
			col.PII = contract.Keep
		}
		if f.Coerce != 0 {
			col.Coerce = f.Coerce.String()
		}
		r := f.Rules
		if r.Min != nil || r.Max != nil || r.Pattern != nil || r.MinLength > 0 || r.MaxLength > 0 {
			col.Rules = &Rules{Min: r.Min, Max: r.Max, MinLength: r.MinLength, MaxLength: r.MaxLength}
			if r.Pattern != nil {
				col.Rules.Pattern = r.Pattern.String()
			}
		}
		for _, z := range zone.All {
			if stores[z] != nil && holds(z, f) && a.column(ct.Name, z, f) {
				col.Zones = append(col.Zones, z)
			}
		}
		if len(col.Zones) > 0 {
			out = append(out, col)
		}
	}
	return out
}

// visibleGraph leaves out of g the datasets in zones the caller may not read, and the edges
// that touch them. Streams stay: they hold no rows a caller could read through the API.
func visibleGraph(g *graph.Graph, a Access) *graph.Graph {
	if g == nil {
		return nil
	}
	out := *g
	keep := map[string]bool{}
	out.Nodes = []graph.Node{}
	for _, n := range g.Nodes {
		if n.Kind == graph.KindDataset && !a.visible(n.Dataset, zone.Zone(n.Zone)) {
			continue
		}
		keep[n.ID] = true
		out.Nodes = append(out.Nodes, n)
	}
	out.Edges = []graph.Edge{}
	for _, e := range g.Edges {
		if keep[e.From] && keep[e.To] {
			out.Edges = append(out.Edges, e)
		}
	}
	return &out
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// budget counts the reads one answer may still make. parent is the caller's context, which the
// answer's own (with Timeout) derives from: the caller going away is an error, the answer's
// time running out is not.
type budget struct {
	mu     sync.Mutex
	left   int
	parent context.Context
}

func (c *Catalog) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 20 * time.Second
}

func (c *Catalog) newBudget(parent context.Context) (context.Context, *budget, context.CancelFunc) {
	n := c.MaxReads
	if n <= 0 {
		n = 2000
	}
	ctx, cancel := context.WithTimeout(parent, c.timeout())
	return ctx, &budget{left: n, parent: parent}, cancel
}

func (b *budget) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left <= 0 {
		return false
	}
	b.left--
	return true
}

func dayOf(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func isParquet(key string) bool { return strings.HasSuffix(key, ".parquet") }
