package promote

// The deletes objects of change streams (see changes.go): how they are encoded, and how table
// maintenance keeps them from growing for ever. A deleted key's entry only matters while an
// older change of the key may still arrive; past a retention the entry goes (PruneDeletes).
// Every fold or prune that changes the deleted keys writes a new object, and the old one stays
// for the snapshots that name it; once none does, it goes (the sweep of MaintainDeletes).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/objectstore"
)

// DeletesResult is what MaintainDeletes did to a change stream's deletes.
type DeletesResult struct {
	// Deferred: a promotion held the table's lock, so nothing was done; the next run does it.
	Deferred bool
	// Pruned entries (deleted keys whose delete is older than the retention) were dropped from
	// the current deletes object, Kept stayed; when any was dropped, one snapshot names the
	// pruned object (Deletes, "" when none is left).
	Pruned, Kept int
	Deletes      string
	// Removed are deletes objects no snapshot of the table names any more, deleted; Young are
	// unreferenced ones written after the cutoff, kept (a promotion may be about to commit one).
	Removed []string
	Young   []string
}

// MaintainDeletes prunes and sweeps the deletes objects of change stream dataset, holding the
// table's lock (a promotion holding it is not waited for: DeletesResult.Deferred):
//
//   - it drops from the current deletes object the keys whose delete's source time is before
//     pruneBefore, and commits a snapshot that names the pruned object, with the same data
//     files, through the commit promotions use (so rows and deletes still move together);
//   - then it deletes the deletes objects of the dataset that no snapshot names and that were
//     last written before unusedBefore. The folder is listed before the table is loaded, as
//     in iceberg's orphan removal, and under the lock no promotion writes one meanwhile; the
//     age covers a promotion whose lock expired under it (use the orphan age).
//
// Run it after snapshot expiry, which is what leaves deletes objects unnamed.
func (p *Promoter) MaintainDeletes(ctx context.Context, dataset string, pruneBefore, unusedBefore time.Time) (DeletesResult, error) {
	var res DeletesResult
	c, ok := p.Contracts[dataset]
	if !ok || !cdc.IsChangeStream(c) {
		return res, fmt.Errorf("promote: %s has no change stream contract, so no deletes to maintain", dataset)
	}
	var err error
	res.Deferred, err = p.unlessHeld(ctx, TableLockKey(c.Name), func() error {
		if err := p.pruneDeletes(ctx, c, pruneBefore, &res); err != nil {
			return err
		}
		return p.sweepDeletes(ctx, c, unusedBefore, &res)
	})
	return res, err
}

func (p *Promoter) pruneDeletes(ctx context.Context, c *contract.Contract, before time.Time, res *DeletesResult) error {
	tbl := p.Table(c.Name)
	st, err := tbl.Load(ctx)
	if err != nil {
		return fmt.Errorf("promote: curated table %s: %w", c.Name, err)
	}
	snap := st.Meta.Current()
	if snap == nil {
		return nil
	}
	key, folded := snap.Summary[SummaryDeletes]
	if !folded || key == "" {
		// Nothing deleted; or not made by a fold, and the next promotion recomputes the table.
		return nil
	}
	rows, err := readDeletesObject(ctx, p.Curated, c.Name, key)
	if err != nil {
		return err
	}
	kept := slices.DeleteFunc(slices.Clone(rows), func(r deletedKey) bool { return r.SourceTs < before.UnixMilli() })
	res.Pruned, res.Kept, res.Deletes = len(rows)-len(kept), len(kept), key
	if res.Pruned == 0 {
		return nil
	}
	if res.Deletes, err = putDeletes(ctx, p.Curated, c.Name, kept); err != nil {
		return err
	}
	files, err := liveObjects(ctx, tbl, st, ChangeDataPrefix(c.Name))
	if err != nil {
		return err
	}
	same := make([]entry, 0, len(files))
	for _, f := range files {
		same = append(same, entry{Key: f.Key, Size: f.Size})
	}
	sc := scope{name: "the table", prefix: ChangeDataPrefix(c.Name), partition: map[string]int{},
		summary: map[string]string{SummaryDeletes: res.Deletes}, deletes: &key}
	return p.commit(ctx, c, sc, files, same, iceberg.OpReplace)
}

func (p *Promoter) sweepDeletes(ctx context.Context, c *contract.Contract, before time.Time, res *DeletesResult) error {
	prefix := DeletesPrefix + c.Name + "/"
	listed, err := p.Curated.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("promote: list %s/%s: %w", p.Curated.Bucket(), prefix, err)
	}
	st, err := p.Table(c.Name).Load(ctx)
	if err != nil {
		return fmt.Errorf("promote: curated table %s: %w", c.Name, err)
	}
	named := map[string]bool{}
	for _, sn := range st.Meta.Snapshots {
		named[sn.Summary[SummaryDeletes]] = true
	}
	for _, in := range listed {
		if named[in.Key] || !strings.HasSuffix(in.Key, ".parquet") {
			continue
		}
		if in.LastModified.IsZero() || !in.LastModified.Before(before) {
			res.Young = append(res.Young, in.Key)
			continue
		}
		if err := p.Curated.Delete(ctx, in.Key); err != nil {
			return fmt.Errorf("promote: delete %s/%s, which no snapshot of %s names: %w", p.Curated.Bucket(), in.Key, c.Name, err)
		}
		res.Removed = append(res.Removed, in.Key)
	}
	return nil
}

// readDeletesObject decodes the deletes object at key of change stream dataset.
func readDeletesObject(ctx context.Context, s objectstore.Store, dataset, key string) ([]deletedKey, error) {
	rc, _, err := s.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("promote: read the deletes of change stream %s, %s/%s, which its current snapshot names: %w", dataset, s.Bucket(), key, err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("promote: read %s/%s: %w", s.Bucket(), key, err)
	}
	rows, err := parquet.Read[deletedKey](bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("promote: %s/%s is not a deletes object: %w", s.Bucket(), key, err)
	}
	return rows, nil
}

// putDeletes writes the deleted keys of change stream dataset, sorted, under a name made of
// their hash (the same deletes are the same object), and returns its key: "" for none.
func putDeletes(ctx context.Context, s objectstore.Store, dataset string, rows []deletedKey) (string, error) {
	if len(rows) == 0 {
		return "", nil
	}
	slices.SortFunc(rows, func(a, b deletedKey) int { return bytes.Compare(a.Key, b.Key) })
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows, parquet.Compression(curatedCodec)); err != nil {
		return "", fmt.Errorf("promote: encode the deletes of %s: %w", dataset, err)
	}
	key := DeletesPrefix + dataset + "/deletes-" + sha256Hex(buf.Bytes())[:16] + ".parquet"
	if _, err := s.Put(ctx, key, buf.Bytes(), objectstore.PutOptions{ContentType: "application/vnd.apache.parquet"}); err != nil {
		return "", fmt.Errorf("promote: write %s/%s: %w", s.Bucket(), key, err)
	}
	return key, nil
}
