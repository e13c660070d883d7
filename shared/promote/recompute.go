package promote

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/zone"
)

// recompute rebuilds the curated partition from every cleansed file, for partitions that
// differ from their manifest. It holds every cleansed file of the partition (compressed) and
// one entry per distinct key, so its memory grows with the partition: it is the exception,
// the incremental path the rule.
func (p *Promoter) recompute(ctx context.Context, c *contract.Contract, part zone.Partition, infos, existing []objectstore.Info, res *Result) ([]entry, []entry, error) {
	out := newOutput(c, p.PIIKey)
	var sources []*source
	var inputs []entry
	win := map[string]winner{}
	for _, in := range infos {
		src, size, err := p.open(ctx, in.Key, out, len(sources))
		if errors.Is(err, objectstore.ErrNotFound) {
			continue // removed since it was listed; its rows are gone from the zone too
		}
		if err != nil {
			return nil, nil, err
		}
		n, err := out.scanKeys(src, win)
		if err != nil {
			return nil, nil, fmt.Errorf("promote: %s/%s: %w", p.Cleansed.Bucket(), in.Key, err)
		}
		sources = append(sources, src)
		inputs = append(inputs, entry{Key: in.Key, ETag: trimETag(in.ETag), Rows: n, Size: size})
		res.FilesIn++
		res.BytesIn += size
		res.RowsIn += n
	}

	target := p.TargetBytes
	if target <= 0 {
		target = DefaultTargetBytes
	}
	sizes := map[string]int64{}
	for _, in := range existing {
		sizes[in.Key] = in.Size
	}
	written := map[string]bool{}
	var files []entry
	taken := map[int]int64{} // rows of the file being written, by source
	fw := &fileWriter{o: out, target: target, rgRows: 256, emit: func(i int, body []byte) error {
		key := dataKey(DataPrefix(c.Name, part), i, body)
		o := Output{Bucket: p.Curated.Bucket(), Key: key, Bytes: int64(len(body))}
		for si, s := range sources {
			in := Input{Bucket: p.Cleansed.Bucket(), Key: s.name, ETag: inputs[si].ETag, Rows: taken[si]}
			if in.Rows > 0 || i == 0 { // every cleansed file is listed in the first output
				o.Inputs = append(o.Inputs, in)
			}
			o.Rows += in.Rows
		}
		if i == 0 {
			// Each key has one winner: every other row of the partition is a duplicate.
			o.Duplicates = res.RowsIn - int64(len(win))
		}
		clear(taken)
		written[key] = true
		res.Files = append(res.Files, key)
		// The table already has a file with these very bytes (its name says so): leave it.
		if _, listed := sizes[key]; listed {
			info, err := p.Curated.Head(ctx, key)
			if err != nil {
				return fmt.Errorf("promote: head %s/%s: %w", p.Curated.Bucket(), key, err)
			}
			res.Unchanged++
			o.ETag, o.Unchanged = trimETag(info.ETag), true
		} else {
			info, err := p.putCurated(ctx, c, key, body, &o)
			if err != nil {
				return err
			}
			o.ETag = trimETag(info.ETag)
			res.BytesOut += int64(len(body))
		}
		res.Outputs = append(res.Outputs, o)
		files = append(files, entry{Key: key, ETag: o.ETag, Rows: o.Rows, Size: o.Bytes})
		return nil
	}}
	var err error
	if res.RowsOut, err = out.merge(sources, win, fw, func(s int) { taken[s]++ }); err != nil {
		return nil, nil, err
	}
	res.Duplicates = res.RowsIn - res.RowsOut
	// Files not made again leave the table with the snapshot; their objects stay for the
	// snapshots that still read them.
	for _, in := range existing {
		if !written[in.Key] {
			res.Deleted = append(res.Deleted, in.Key)
		}
	}
	return files, inputs, nil
}
