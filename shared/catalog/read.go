package catalog

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/parquetmeta"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/zone"
)

// read is what the catalog learnt of one object.
type read struct {
	rows int64
	// err says why the object could not be read; rows is then 0.
	err string
	// Quarantine objects: records by reason, and the last few records.
	reasons map[string]int64
	samples []quarantine.Entry
}

// maxSamplesPerObject bounds what the cache keeps of each quarantine object's records: an
// answer shows the latest few of all objects, so the newest of each is enough.
const maxSamplesPerObject = 3

// maxCachedBytes bounds the cache's memory, roughly counted (keys, reasons, samples): past it,
// it starts again. The query function has 128 MB; 16 MB holds the footers of ~100,000 objects.
const maxCachedBytes = 16 << 20

// maxQuarantineObject bounds the bytes read of one quarantine object: ingest's are a batch's
// rejects (at most 6 MB of records), a whole file validate refused can be large, and one
// record of it is enough to show.
const maxQuarantineObject = 64 << 20

// objectCache keeps what was read of an object by bucket, key and ETag: an object rewritten
// (a new ETag) is read again, one unchanged never is.
type objectCache struct {
	mu    sync.Mutex
	m     map[string]read
	bytes int
}

// size is roughly what an entry keeps in memory.
func (r read) size(key string) int {
	n := len(key) + len(r.err) + 96
	for k := range r.reasons {
		n += len(k) + 48
	}
	for _, e := range r.samples {
		n += len(e.Preview) + len(e.Detail) + len(e.Field) + len(e.Reason) + len(e.Source.Stream) + len(e.Source.Shard) +
			len(e.Source.Key) + len(e.Source.Bucket) + 160
	}
	return n
}

func cacheKey(bucket string, o objectstore.Info) string {
	return bucket + "/" + o.Key + "\x00" + o.ETag
}

func (c *objectCache) get(k string) (read, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[k]
	return r, ok
}

func (c *objectCache) put(k string, r read) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.bytes >= maxCachedBytes {
		c.m, c.bytes = map[string]read{}, 0
	}
	c.m[k] = r
	c.bytes += r.size(k)
}

// countable reports whether the catalog can count an object's rows without reading its data:
// Parquet (footer) in every zone, quarantine's JSON lines (small, and read for reasons anyway).
func countable(z zone.Zone, key string) bool {
	if z == zone.Quarantine {
		return strings.HasSuffix(key, quarantine.Ext)
	}
	return isParquet(key)
}

// read returns what is known of the countable objects among infos, reading those not cached
// while the budget lasts, Parallel at a time. Objects left unread are absent from the map.
func (c *Catalog) read(ctx context.Context, st objectstore.Store, z zone.Zone, infos []objectstore.Info, b *budget) (map[string]read, error) {
	out := make(map[string]read, len(infos))
	var todo []objectstore.Info
	for _, o := range infos {
		if !countable(z, o.Key) {
			continue
		}
		if r, ok := c.cache.get(cacheKey(st.Bucket(), o)); ok {
			out[o.Key] = r
			continue
		}
		todo = append(todo, o)
	}
	// Newest first: past the budget, what is left unread is the oldest, which matters least
	// for freshness and quality.
	sortNewestFirst(todo)
	parallel := c.Parallel
	if parallel <= 0 {
		parallel = 16
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		sem  = make(chan struct{}, parallel)
		fail error
	)
	for _, o := range todo {
		if ctx.Err() != nil || !b.take() {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := readObject(ctx, st, z, o)
			mu.Lock()
			defer mu.Unlock()
			if b.parent.Err() != nil {
				fail = b.parent.Err()
				return
			}
			if ctx.Err() != nil {
				return // out of time: left unread, counted as uncounted
			}
			out[o.Key] = r
			if r.err == "" {
				c.cache.put(cacheKey(st.Bucket(), o), r)
			}
		}()
	}
	wg.Wait()
	return out, fail
}

func readObject(ctx context.Context, st objectstore.Store, z zone.Zone, o objectstore.Info) read {
	if z == zone.Quarantine {
		return readQuarantine(ctx, st, o)
	}
	n, err := footerRows(ctx, st, o.Key, o.Size)
	if err != nil {
		return read{err: readError("read the Parquet footer of", st.Bucket(), o.Key, err)}
	}
	return read{rows: n}
}

// tailRead is how much of a Parquet file's end one ranged read takes: the footers the lake
// writes are a few KB, so one read nearly always has the whole footer.
const tailRead = 64 << 10

// footerRows reads a Parquet object's row count, in one ranged read when the footer fits in
// its tail, else in the two reads of parquetmeta.Rows.
func footerRows(ctx context.Context, st objectstore.Store, key string, size int64) (int64, error) {
	if size < 12 {
		return 0, parquetmeta.ErrNotParquet
	}
	n := min(size, tailRead)
	tail, err := st.GetRange(ctx, key, size-n, n)
	if err != nil {
		return 0, err
	}
	if int64(len(tail)) != n {
		return 0, fmt.Errorf("asked for %d bytes at %d, got %d: the object changed while read", n, size-n, len(tail))
	}
	flen, err := parquetmeta.FooterLength(tail[len(tail)-8:])
	if err != nil {
		return 0, err
	}
	if int64(flen)+12 > size {
		return 0, fmt.Errorf("footer of %d bytes in a %d-byte file: %w", flen, size, parquetmeta.ErrNotParquet)
	}
	if flen+8 > len(tail) {
		return parquetmeta.Rows(ctx, st, key, size)
	}
	return parquetmeta.RowCount(tail[len(tail)-8-flen : len(tail)-8])
}

func readQuarantine(ctx context.Context, st objectstore.Store, o objectstore.Info) read {
	rc, _, err := st.Get(ctx, o.Key)
	if err != nil {
		return read{err: readError("read", st.Bucket(), o.Key, err)}
	}
	defer rc.Close()
	entries, err := quarantine.Decode(io.LimitReader(rc, maxQuarantineObject))
	if err != nil {
		return read{err: fmt.Sprintf("read s3://%s/%s: %v (a quarantine object is gzip'd JSON lines that shared/quarantine writes)", st.Bucket(), o.Key, err)}
	}
	r := read{rows: int64(len(entries)), reasons: map[string]int64{}}
	for _, e := range entries {
		r.reasons[e.Reason]++
	}
	// The last records of the object: the newest it holds.
	from := max(0, len(entries)-maxSamplesPerObject)
	for _, e := range entries[from:] {
		e.Original = nil // the preview is what is shown; the bytes stay in the bucket
		r.samples = append(r.samples, e)
	}
	return r
}
