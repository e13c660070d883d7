package promote

import (
	"context"
	"fmt"

	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/zone"
)

// Compact merges the small curated files of a partition (under half of TargetBytes) into as
// few files as fit, copying their row groups as bytes, and commits one replace snapshot: the
// same rows in fewer files. It is the compaction a promotion does as it goes, run on its own
// by table maintenance for partitions no promotion touches any more.
//
// It reads no cleansed file and hashes nothing (the rows are copied as they are), so it needs
// neither the cleansed bucket nor the PII key. It holds the partition's lock while it runs; a
// partition another promotion holds is left to that promotion (Result.Deferred). A partition
// that differs from its manifest is not compacted (Result.Skipped says why): the next
// promotion of it recomputes it, which compacts it too.
func (p *Promoter) Compact(ctx context.Context, dataset string, part zone.Partition) (Result, error) {
	res := Result{Dataset: dataset, Partition: part}
	c, ok := p.Contracts[dataset]
	if !ok {
		return res, fmt.Errorf("promote: no contract for dataset %q: compaction needs it for the table's schema", dataset)
	}
	if cdc.IsChangeStream(c) {
		// Its table is unpartitioned and locked as a whole; its promotions rewrite its files.
		res.Skipped = "a change stream's table is not compacted by partition"
		return res, nil
	}
	var err error
	res.Deferred, err = p.unlessHeld(ctx, LockKey(c.Name, part), func() error {
		_, curated, mkey, m, metag, err := p.begin(ctx, c, part, DataPrefix(c.Name, part))
		if err != nil {
			return err
		}
		// The cleansed files are taken as the manifest lists them: a compaction changes no
		// row, so whatever arrived since is the next promotion's.
		var cleansed []objectstore.Info
		if m != nil {
			for _, in := range m.Inputs {
				cleansed = append(cleansed, objectstore.Info{Key: in.Key, ETag: in.ETag})
			}
		}
		st := p.newState(ctx, c, part, &res)
		if why := st.load(m, cleansed, curated); why != "" {
			res.Skipped = why
			return nil
		}
		if err := st.compact(); err != nil {
			return err
		}
		return st.finish(mkey, metag, curated)
	})
	return res, err
}
