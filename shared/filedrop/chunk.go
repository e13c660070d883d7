package filedrop

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

// arena holds a chunk's record bytes. A Batch's rows point into the bytes they were decoded from,
// so bytes are never moved: a full block is left as it is and a new one started.
type arena struct{ block []byte }

const arenaBlock = 1 << 20

// copy stores b in the arena.
func (a *arena) copy(b []byte) []byte {
	if cap(a.block)-len(a.block) < len(b) {
		a.block = make([]byte, 0, max(arenaBlock, len(b)))
	}
	s := len(a.block)
	a.block = append(a.block, b...)
	return a.block[s:len(a.block):len(a.block)]
}

// rec is one record read from a file.
type rec struct {
	data []byte // JSON for the Batch
	orig []byte // the record as it was in the file, for quarantine
	line int64  // 1-based line (CSV, JSON lines) or row (Parquet) of its start
	// reason is set when the record was rejected before it could become JSON (a ragged CSV row).
	reason, field, detail string
}

// source yields a file's records. Its errors are *FileError for a bad file, or store errors.
type source interface {
	next(a *arena) (rec, error)
}

// chunk is up to ChunkRows records: their batch and their rejects.
type chunk struct {
	batch   *record.Batch
	arena   arena
	rejects []quarantine.Entry
	reg     map[string]*contract.Contract
}

func newChunk(reg map[string]*contract.Contract, opts record.Options, rows int) *chunk {
	b := record.NewBatch(reg, opts)
	b.Reserve(rows) // growing a table row by row copies it over and over
	return &chunk{batch: b, reg: reg}
}

func (c *chunk) add(r rec, rep *Report) {
	reason, field, detail, ds := r.reason, r.field, r.detail, rep.Dataset
	if reason == "" {
		d, rej := c.batch.Add(r.data, int(r.line))
		if rej == nil {
			return
		}
		reason, field, detail = string(rej.Code), rej.Field, rej.Detail
		if d != "" {
			ds = d
		}
	}
	e := quarantine.Entry{Reason: reason, Field: field, Detail: detail, Dataset: ds,
		Source:   quarantine.Source{Kind: "s3", Bucket: rep.Bucket, Key: rep.Key, Version: rep.Version, Line: r.line},
		Original: r.orig, Preview: quarantine.PreviewOf(r.orig)}
	if ct := c.reg[ds]; ct != nil {
		e.Contract = ct.Version
	}
	c.rejects = append(c.rejects, e)
	rep.reject(reason, field)
}

// flush writes a chunk: one Parquet file per dataset and partition, one quarantine file.
func (r *run) flush(c *chunk) error {
	seq := r.rep.Chunks
	r.rep.Chunks++
	name := fmt.Sprintf("%s-%05d", r.id, seq)
	for _, t := range c.batch.Tables() {
		parts := map[zone.Partition][]int{}
		for row := 0; row < t.Len(); row++ {
			p := zone.PartitionOf(t.EventTime(row))
			parts[p] = append(parts[p], row)
		}
		keys := make([]zone.Partition, 0, len(parts))
		for p := range parts {
			keys = append(keys, p)
		}
		sort.Slice(keys, func(i, j int) bool {
			return keys[i].Date < keys[j].Date || keys[i].Date == keys[j].Date && keys[i].Hour < keys[j].Hour
		})
		ct := t.Contract
		for _, p := range keys {
			rows := parts[p]
			var buf bytes.Buffer
			buf.Grow(64 * len(rows)) // about what a clickstream row takes in zstd Parquet
			if err := parquetfile.Write(&buf, t, rows, parquetfile.Options{Metadata: map[string]string{
				"sluice.contract": ct.Name, "sluice.contract_version": ct.Version,
				"sluice.source": r.v.Raw.Bucket() + "/" + r.key}}); err != nil {
				return fmt.Errorf("filedrop: encode %s: %w", ct.Name, err)
			}
			key := zone.Key(ct.Name, p, name+".parquet")
			if err := r.put(r.v.Cleansed, key, buf.Bytes(), "application/vnd.apache.parquet", len(rows)); err != nil {
				return err
			}
			r.rep.CleansedObjects = append(r.rep.CleansedObjects, key)
		}
		r.rep.stats(t)
	}
	if len(c.rejects) > 0 {
		body, err := quarantine.Encode(c.rejects)
		if err != nil {
			return err
		}
		key := zone.Key(qDataset(r.rep.Dataset, r.v.Contracts), zone.PartitionOf(r.info.LastModified.UnixMilli()), name+quarantine.Ext)
		if err := r.put(r.v.Quarantine, key, body, "application/x-ndjson+gzip", len(c.rejects)); err != nil {
			return err
		}
		r.rep.QuarantineObjects = append(r.rep.QuarantineObjects, key)
	}
	return nil
}
