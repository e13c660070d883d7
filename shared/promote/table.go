package promote

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/zone"
)

// Each dataset's curated zone is an Iceberg table (see package iceberg) rooted at <dataset>/ in
// the curated bucket. A promotion writes new, immutable data files and then commits exactly
// one snapshot that adds them and drops the files they replace; a reader therefore sees the
// partition before or after a promotion, never a key twice or half a promotion. Replaced files
// stay in the bucket for time travel until snapshot expiry removes them.

// DataPrefix is where the curated data files of a partition go: <dataset>/data/dt=…/hr=…/.
func DataPrefix(dataset string, p zone.Partition) string {
	return dataset + "/data/" + p.Path() + "/"
}

// dataKey names a curated file by its part number (its place in the partition) and its
// content: a rewritten part gets a new name, so a file a snapshot names never changes, and a
// replay that makes the same bytes makes the same name.
func dataKey(prefix string, num int, body []byte) string {
	return prefix + partName(num, body)
}

func partName(num int, body []byte) string {
	return fmt.Sprintf("part-%05d-%s.parquet", num, sha256Hex(body)[:16])
}

// RewrittenKey names the file that replaces the curated file at key with body (erasure
// rewrites files): the same folder and part number, the new content's hash.
func RewrittenKey(key string, body []byte) (string, error) {
	num, err := partNum(key)
	if err != nil {
		return "", err
	}
	return path.Dir(key) + "/" + partName(num, body), nil
}

// PutCurated writes a file into the curated bucket as promote writes its own: the content
// type and the SHA-256 of its bytes beside its provenance.
func PutCurated(ctx context.Context, s objectstore.Store, key string, body []byte, rec *provenance.Record) (objectstore.Info, error) {
	info, err := provenance.Put(ctx, s, key, body, objectstore.PutOptions{ContentType: "application/vnd.apache.parquet",
		Metadata: map[string]string{MetaSHA256: sha256Hex(body)}}, rec)
	if err != nil {
		return info, fmt.Errorf("promote: write %s/%s: %w", s.Bucket(), key, err)
	}
	return info, nil
}

// partNum reads the part number of a curated file's key.
func partNum(key string) (int, error) {
	var num int
	if _, err := fmt.Sscanf(path.Base(key), "part-%05d", &num); err != nil {
		return 0, fmt.Errorf("curated file %s is not named part-NNNNN-<hash>.parquet", key)
	}
	return num, nil
}

// Table is the curated Iceberg table of dataset.
func (p *Promoter) Table(dataset string) *iceberg.Table {
	return iceberg.Dataset(p.Curated, p.Catalog, dataset)
}

// Files lists the curated data files of a partition in the table's current snapshot: what a
// reader of the curated zone reads. A dataset never promoted has none.
func (p *Promoter) Files(ctx context.Context, dataset string, part zone.Partition) ([]iceberg.DataFile, error) {
	st, err := p.Table(dataset).Load(ctx)
	if errors.Is(err, iceberg.ErrNoTable) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("promote: curated table %s: %w", dataset, err)
	}
	return filesUnder(ctx, p.Table(dataset), st, DataPrefix(dataset, part))
}

// filesUnder lists the data files of the current snapshot whose keys start with prefix.
func filesUnder(ctx context.Context, tbl *iceberg.Table, st *iceberg.State, prefix string) ([]iceberg.DataFile, error) {
	files, err := st.Files(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("promote: curated table %s: %w", tbl.Name, err)
	}
	prefix = tbl.Path(prefix)
	var out []iceberg.DataFile
	for _, f := range files {
		if strings.HasPrefix(f.Path, prefix) {
			out = append(out, f)
		}
	}
	return out, nil
}

// current returns the table's current state and its files under prefix (a partition's, or a
// change stream's whole table), as objects (without ETags: a data file's name says its
// content). A missing table is created from the contract.
func (p *Promoter) current(ctx context.Context, c *contract.Contract, prefix string) (*iceberg.State, []objectstore.Info, error) {
	tbl := p.Table(c.Name)
	st, err := tbl.Load(ctx)
	if errors.Is(err, iceberg.ErrNoTable) {
		st, err = p.createTable(ctx, tbl, c)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("promote: curated table %s: %w", c.Name, err)
	}
	files, err := liveObjects(ctx, tbl, st, prefix)
	return st, files, err
}

// liveObjects lists the data files of st's current snapshot under prefix, as objects.
func liveObjects(ctx context.Context, tbl *iceberg.Table, st *iceberg.State, prefix string) ([]objectstore.Info, error) {
	files, err := filesUnder(ctx, tbl, st, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]objectstore.Info, 0, len(files))
	for _, f := range files {
		key, err := tbl.Key(f.Path)
		if err != nil {
			return nil, err
		}
		out = append(out, objectstore.Info{Key: key, Size: f.Size})
	}
	return out, nil
}

// createTable makes a dataset's curated table: partitioned on the hour of its event time, or,
// for a change stream, unpartitioned (see changes.go).
func (p *Promoter) createTable(ctx context.Context, tbl *iceberg.Table, c *contract.Contract) (*iceberg.State, error) {
	s, last, err := iceberg.SchemaOf(c, nil, 0)
	if err != nil {
		return nil, err
	}
	eventTime := c.Fields[c.EventTime].Name
	if cdc.IsChangeStream(c) {
		eventTime = ""
	}
	m, err := iceberg.NewMetadata(tbl.Location(), s, last, eventTime, time.Now())
	if err != nil {
		return nil, err
	}
	return tbl.Create(ctx, m)
}

// hourOf is the partition's value of the table's hour(event time) transform.
func hourOf(part zone.Partition) int {
	d, _ := time.Parse(time.DateOnly, part.Date)
	return int(d.Unix()/3600) + part.Hour
}

// scope is the part of a curated table one promotion replaces: an hour partition, or a change
// stream's whole table.
type scope struct {
	name      string         // for messages: the partition's path, or "the table"
	prefix    string         // the keys of its data files start with it
	partition map[string]int // the partition value of its data files
	summary   map[string]string
	// deletes, when set, is the deletes object a change stream's table must still name when
	// the commit lands (see PruneDeletes): another deletes object means a fold landed since.
	deletes *string
}

// partitionScope is the scope of an hour partition of c's table.
func partitionScope(c *contract.Contract, part zone.Partition) scope {
	return scope{name: part.Path(), prefix: DataPrefix(c.Name, part), partition: map[string]int{c.Fields[c.EventTime].Name + "_hour": hourOf(part)}}
}

// errPartitionMoved: the table's partition is not what the promotion planned on.
var errPartitionMoved = errors.New("promote: the curated table's partition changed during the promotion")

// commit records in one snapshot that the scope's files went from before to after. It
// re-plans on the winner's state when another commit (another partition's promotion) lands
// first; if the scope itself changed meanwhile (a rollback), it fails, and the retried
// trigger recomputes it. op is the operation when files are removed.
func (p *Promoter) commit(ctx context.Context, c *contract.Contract, sc scope, before []objectstore.Info, after []entry, op string) error {
	tbl := p.Table(c.Name)
	was := map[string]bool{}
	for _, in := range before {
		was[in.Key] = true
	}
	is := map[string]bool{}
	ch := iceberg.Change{Run: provenance.RunOf(ctx), Summary: sc.summary}
	for _, e := range after {
		is[e.Key] = true
		if !was[e.Key] {
			ch.Add = append(ch.Add, iceberg.DataFile{Path: tbl.Path(e.Key), Partition: sc.partition, Records: e.Rows, Size: e.Size})
		}
	}
	for _, in := range before {
		if !is[in.Key] {
			ch.Remove = append(ch.Remove, tbl.Path(in.Key))
		}
	}
	if len(ch.Add) == 0 && len(ch.Remove) == 0 && sc.summary == nil {
		return nil
	}
	if len(ch.Remove) > 0 {
		ch.Operation = op
		if len(ch.Add) == 0 && op != iceberg.OpReplace {
			ch.Operation = iceberg.OpDelete
		}
	} else if len(ch.Add) == 0 {
		// Only the summary changes (a change stream's deletes object), no row: what Iceberg
		// calls a replace, which incremental readers skip.
		ch.Operation = iceberg.OpReplace
	}
	_, err := tbl.Commit(ctx, func(ctx context.Context, s *iceberg.State) (*iceberg.Change, error) {
		files, err := filesUnder(ctx, tbl, s, sc.prefix)
		if err != nil {
			return nil, err
		}
		same := len(files) == len(before)
		for _, f := range files {
			key, _ := tbl.Key(f.Path)
			same = same && was[key]
		}
		if !same {
			return nil, fmt.Errorf("%w (%s %s holds %d files, the promotion started from %d; a rollback?): the trigger will be retried and recompute it", errPartitionMoved, c.Name, sc.name, len(files), len(before))
		}
		if cur := s.Meta.Current(); sc.deletes != nil && (cur == nil || cur.Summary[SummaryDeletes] != *sc.deletes) {
			return nil, fmt.Errorf("%w (%s names another deletes object than the one it started from): run it again", errPartitionMoved, c.Name)
		}
		// The contract may have evolved: its schema becomes the table's, field ids kept (the
		// table keeps its schema when the columns are the same).
		next := ch
		schema, last, err := iceberg.SchemaOf(c, s.Meta.CurrentSchema(), s.Meta.LastColumnID)
		if err != nil {
			return nil, err
		}
		next.Schema, next.LastColumnID = schema, last
		return &next, nil
	})
	if err != nil {
		return fmt.Errorf("promote: commit %s %s to the curated table: %w", c.Name, sc.name, err)
	}
	return nil
}
