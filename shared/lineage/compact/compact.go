// Package compact is the lineage dataset's compaction job. The lineage function writes one
// small gzip'd JSON object per lake object, so an hour of a busy lake is thousands of objects
// and a month of lineage is millions: Athena opens every one. The job rewrites each closed
// hour into one Parquet file (a generation), then, once no query can still be reading them,
// deletes the objects it replaced.
//
// Readers never see a row twice or miss one (see table.From): a generation holds whole lineage
// objects and names the objects it holds (its footer's sluice.sources), readers take each
// object's rows from the newest generation holding it, else from the object; a generation is
// written with one conditional PUT before anything is deleted, and an object or an older
// generation is deleted only once a newer generation holding its rows is Grace old, longer
// than a query runs. An object that arrives late for a compacted hour stays readable as JSON
// until a later run writes the next generation with it.
//
// Every run records what it did for each hour it changed under compaction-runs/ in the lineage
// bucket, beside the Report it returns.
package compact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/zone"
)

// Options bound a run.
type Options struct {
	// Settle is how long after an hour ends it is compacted, so that the lineage of its last
	// objects has arrived. Default 15 minutes.
	Settle time.Duration
	// Grace is how old a generation must be before the objects and older generations it
	// replaces are deleted: longer than any query runs (Athena's default limit is 30 minutes).
	// Default 2 hours.
	Grace time.Duration
	// Lookback is how many closed hours a run looks at, newest first. Default 48, so a run
	// that failed is made good by the next, and late lineage is picked up for two days.
	Lookback int
	// MaxObjects bounds the lineage objects one generation takes in, so that a run fits in a
	// Lambda invocation however far behind it is; the next run takes the rest. Default 5000.
	MaxObjects int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// readers is how many lineage objects are read at once: each is a small GET, so a run is
// bound by round trips, not bytes.
const readers = 16

// reserve is the time a run leaves itself before its context's deadline to write what it read.
const reserve = 5 * time.Second

func (o *Options) defaults() {
	if o.Settle <= 0 {
		o.Settle = 15 * time.Minute
	}
	if o.Grace <= 0 {
		o.Grace = 2 * time.Hour
	}
	if o.Lookback <= 0 {
		o.Lookback = 48
	}
	if o.MaxObjects <= 0 {
		o.MaxObjects = 5000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Hour is what a run did to one hour.
type Hour struct {
	Hour time.Time `json:"hour"`
	// Generation is the generation written (0: none, nothing new), Key its key.
	Generation int    `json:"generation,omitempty"`
	Key        string `json:"key,omitempty"`
	// Objects is how many lineage objects the written generation took in for the first time;
	// Sources how many it holds in all; Rows its rows.
	Objects int `json:"objects,omitempty"`
	Sources int `json:"sources,omitempty"`
	Rows    int `json:"rows,omitempty"`
	// DeletedObjects and DeletedGenerations are what a generation older than Grace replaced.
	DeletedObjects     int `json:"deleted_objects,omitempty"`
	DeletedGenerations int `json:"deleted_generations,omitempty"`
}

func (h *Hour) changed() bool {
	return h.Generation > 0 || h.DeletedObjects > 0 || h.DeletedGenerations > 0
}

// Report is what a run did, the hours it changed only.
type Report struct {
	Hours []Hour `json:"hours"`
	// Stopped is the hour a run near its deadline stopped before (zero: it looked at all).
	Stopped time.Time `json:"stopped,omitzero"`
}

// Run compacts the closed hours within the lookback in the lineage bucket.
func Run(ctx context.Context, store objectstore.Store, opts Options) (*Report, error) {
	opts.defaults()
	now := opts.Now().UTC()
	last := now.Add(-opts.Settle).Truncate(time.Hour).Add(-time.Hour) // the newest hour ended Settle ago
	rep := &Report{Hours: []Hour{}}
	var errs []error
	for i := range opts.Lookback {
		if d, ok := ctx.Deadline(); ok && time.Until(d) < 2*reserve {
			// Out of time: the hours left are the oldest, and the next run starts with them
			// still in its lookback.
			rep.Stopped = last.Add(-time.Duration(i) * time.Hour)
			break
		}
		h, err := compactHour(ctx, store, last.Add(-time.Duration(i)*time.Hour), now, opts)
		if err != nil {
			// One hour's failure is no reason to leave the others: the next run retries it.
			errs = append(errs, err)
			continue
		}
		if h.changed() {
			rep.Hours = append(rep.Hours, *h)
		}
	}
	return rep, errors.Join(errs...)
}

// stored is a lineage row as the compacted table holds it: the lineage table's columns, typed
// and nullable as its contract says (a test holds them to it), and the generation.
type stored struct {
	EventTime          time.Time `parquet:"event_time,timestamp(millisecond)"`
	EventType          string    `parquet:"event_type,dict"`
	RunID              string    `parquet:"run_id"`
	JobNamespace       string    `parquet:"job_namespace,dict"`
	JobName            string    `parquet:"job_name,dict"`
	OutputNamespace    string    `parquet:"output_namespace,dict"`
	OutputName         string    `parquet:"output_name"`
	OutputZone         string    `parquet:"output_zone,dict"`
	OutputDataset      string    `parquet:"output_dataset,dict"`
	OutputVersion      string    `parquet:"output_version"`
	OutputRows         *int64    `parquet:"output_rows,optional"`
	InputNamespace     string    `parquet:"input_namespace,dict"`
	InputName          string    `parquet:"input_name"`
	InputZone          *string   `parquet:"input_zone,optional,dict"`
	InputDataset       *string   `parquet:"input_dataset,optional,dict"`
	InputShard         string    `parquet:"input_shard,dict"`
	InputFirstSequence *string   `parquet:"input_first_sequence,optional"`
	InputLastSequence  *string   `parquet:"input_last_sequence,optional"`
	InputVersion       *string   `parquet:"input_version,optional"`
	InputRows          *int64    `parquet:"input_rows,optional"`
	Event              *string   `parquet:"event,optional"`
	Generation         int64     `parquet:"generation"`
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func toStored(r *table.Row, gen int) stored {
	return stored{EventTime: r.EventTime.UTC(), EventType: r.EventType, RunID: r.RunID, JobNamespace: r.JobNamespace,
		JobName: r.JobName, OutputNamespace: r.OutputNamespace, OutputName: r.OutputName, OutputZone: r.OutputZone,
		OutputDataset: r.OutputDataset, OutputVersion: r.OutputVersion, OutputRows: r.OutputRows,
		InputNamespace: r.InputNamespace, InputName: r.InputName, InputZone: opt(r.InputZone), InputDataset: opt(r.InputDataset),
		InputShard: r.InputShard, InputFirstSequence: opt(r.InputFirstSequence), InputLastSequence: opt(r.InputLastSequence),
		InputVersion: opt(r.InputVersion), InputRows: r.InputRows, Event: opt(r.Event), Generation: int64(gen)}
}

func (s *stored) row() table.Row {
	return table.Row{EventTime: s.EventTime.UTC(), EventType: s.EventType, RunID: s.RunID, JobNamespace: s.JobNamespace,
		JobName: s.JobName, OutputNamespace: s.OutputNamespace, OutputName: s.OutputName, OutputZone: s.OutputZone,
		OutputDataset: s.OutputDataset, OutputVersion: s.OutputVersion, OutputRows: s.OutputRows,
		InputNamespace: s.InputNamespace, InputName: s.InputName, InputZone: deref(s.InputZone), InputDataset: deref(s.InputDataset),
		InputShard: s.InputShard, InputFirstSequence: deref(s.InputFirstSequence), InputLastSequence: deref(s.InputLastSequence),
		InputVersion: deref(s.InputVersion), InputRows: s.InputRows, Event: deref(s.Event)}
}

// sourcesKey is the footer entry naming the lineage objects a generation holds (their keys,
// a JSON array): written in the same PUT as the rows, so it can never disagree with them.
const sourcesKey = "sluice.sources"

// Generation is one compacted file's rows and the lineage objects they came from.
type Generation struct {
	Rows    []table.Row
	Sources []string
}

// Encode writes a generation as Parquet (zstd), rows in the order given.
func Encode(g *Generation, gen int) ([]byte, error) {
	src, err := json.Marshal(g.Sources)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[stored](&buf, parquet.Compression(&zstd.Codec{}), parquet.CreatedBy("sluice", "", ""),
		parquet.KeyValueMetadata(sourcesKey, string(src)))
	rows := make([]stored, len(g.Rows))
	for i := range g.Rows {
		if err := g.Rows[i].Check(); err != nil {
			return nil, fmt.Errorf("compact: row %d: %w", i, err)
		}
		rows[i] = toStored(&g.Rows[i], gen)
	}
	if _, err := w.Write(rows); err != nil {
		return nil, fmt.Errorf("compact: write generation %d: %w", gen, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compact: write generation %d: %w", gen, err)
	}
	return buf.Bytes(), nil
}

// Decode reads what Encode wrote.
func Decode(data []byte) (*Generation, error) {
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("compact: not a Parquet generation: %w", err)
	}
	g := &Generation{}
	src, ok := f.Lookup(sourcesKey)
	if !ok {
		return nil, fmt.Errorf("compact: the generation's footer has no %s: it was not written by this job", sourcesKey)
	}
	if err := json.Unmarshal([]byte(src), &g.Sources); err != nil {
		return nil, fmt.Errorf("compact: %s: %w", sourcesKey, err)
	}
	r := parquet.NewGenericReader[stored](bytes.NewReader(data))
	defer r.Close()
	buf := make([]stored, 256)
	for {
		n, err := r.Read(buf)
		for i := range buf[:n] {
			g.Rows = append(g.Rows, buf[i].row())
		}
		if err == io.EOF {
			return g, nil
		}
		if err != nil {
			return nil, fmt.Errorf("compact: read generation: %w", err)
		}
	}
}

type genInfo struct {
	n    int
	info objectstore.Info
}

// generations lists an hour's generations, oldest first.
func generations(ctx context.Context, store objectstore.Store, hour time.Time) ([]genInfo, error) {
	prefix := zone.Prefix(table.Compacted, zone.PartitionOf(hour.UnixMilli()))
	infos, err := store.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var gens []genInfo
	for _, in := range infos {
		name := strings.TrimPrefix(in.Key, prefix)
		digits, ok := strings.CutPrefix(strings.TrimSuffix(name, table.CompactedExt), "gen-")
		n, err := strconv.Atoi(digits)
		if !ok || err != nil || !strings.HasSuffix(name, table.CompactedExt) || table.CompactedKey(hour, n) != in.Key {
			continue // not a generation: left alone
		}
		gens = append(gens, genInfo{n: n, info: in})
	}
	sort.Slice(gens, func(i, j int) bool { return gens[i].n < gens[j].n })
	return gens, nil
}

// compactHour writes the hour's next generation if lineage objects arrived that the newest
// does not hold, and deletes what a generation older than grace replaced.
func compactHour(ctx context.Context, store objectstore.Store, hour, now time.Time, opts Options) (*Hour, error) {
	rep := &Hour{Hour: hour}
	fail := func(doing string, err error) (*Hour, error) {
		return nil, fmt.Errorf("compact %s: %s: %w", hour.Format("2006-01-02T15"), doing, err)
	}
	infos, err := store.List(ctx, zone.Prefix(table.Dataset, zone.PartitionOf(hour.UnixMilli())))
	if err != nil {
		return fail("list lineage objects", err)
	}
	var objects []string
	for _, in := range infos {
		if strings.HasSuffix(in.Key, table.Ext) {
			objects = append(objects, in.Key)
		}
	}
	gens, err := generations(ctx, store, hour)
	if err != nil {
		return fail("list generations", err)
	}
	if len(objects) == 0 && len(gens) <= 1 {
		return rep, nil // nothing to compact, nothing replaced
	}
	newest := &Generation{}
	if len(gens) > 0 {
		newest, err = read(ctx, store, gens[len(gens)-1].info.Key)
		if err != nil {
			return fail("read the newest generation", err)
		}
	}
	held := map[string]bool{}
	for _, k := range newest.Sources {
		held[k] = true
	}
	var fresh []string
	for _, k := range objects {
		if !held[k] {
			fresh = append(fresh, k)
		}
	}

	if len(fresh) > 0 {
		fresh = fresh[:min(len(fresh), opts.MaxObjects)]
		read, err := readObjects(ctx, store, fresh)
		if err != nil {
			return fail("read lineage objects", err)
		}
		next := &Generation{Rows: slices.Clone(newest.Rows), Sources: slices.Clone(newest.Sources)}
		for i, k := range fresh {
			if read[i] == nil {
				continue // deleted since the listing: by a run that compacted it
			}
			next.Rows = append(next.Rows, read[i]...)
			next.Sources = append(next.Sources, k)
			rep.Objects++
		}
		sort.Strings(next.Sources)
		// Grouped by object (its rows stay together), in time order: tight statistics on
		// event_time for readers that filter on it.
		sort.SliceStable(next.Rows, func(i, j int) bool {
			a, b := &next.Rows[i], &next.Rows[j]
			if !a.EventTime.Equal(b.EventTime) {
				return a.EventTime.Before(b.EventTime)
			}
			return a.OutputNamespace+"/"+a.OutputName+"/"+a.OutputVersion < b.OutputNamespace+"/"+b.OutputName+"/"+b.OutputVersion
		})
		gen := 1
		if len(gens) > 0 {
			gen = gens[len(gens)-1].n + 1
		}
		data, err := Encode(next, gen)
		if err != nil {
			return fail("encode", err)
		}
		key := table.CompactedKey(hour, gen)
		// Only if absent: two runs racing on one hour cannot both write generation gen.
		if _, err := store.Put(ctx, key, data, objectstore.PutOptions{ContentType: "application/vnd.apache.parquet", IfNoneMatch: true}); err != nil {
			if errors.Is(err, objectstore.ErrPreconditionFailed) {
				return fail("write "+key, fmt.Errorf("another run wrote it first; the next run carries on: %w", err))
			}
			return fail("write "+key, err)
		}
		rep.Generation, rep.Key, rep.Sources, rep.Rows = gen, key, len(next.Sources), len(next.Rows)
	}

	// What the newest generation replaced may go once no query can still be reading it. (A
	// generation written by this run is not yet old enough: the next run deletes for it.)
	if len(gens) > 0 && now.Sub(gens[len(gens)-1].info.LastModified) >= opts.Grace {
		present := map[string]bool{}
		for _, k := range objects {
			present[k] = true
		}
		for _, k := range newest.Sources {
			if !present[k] {
				continue
			}
			if err := store.Delete(ctx, k); err != nil {
				return fail("delete "+k, err)
			}
			rep.DeletedObjects++
		}
		for _, g := range gens[:len(gens)-1] {
			if err := store.Delete(ctx, g.info.Key); err != nil {
				return fail("delete "+g.info.Key, err)
			}
			rep.DeletedGenerations++
		}
	}
	if rep.changed() {
		if err := record(ctx, store, rep, now); err != nil {
			return fail("record the run", err)
		}
	}
	return rep, nil
}

// RecordPrefix holds a record of every change a run made, per hour, as JSON.
const RecordPrefix = "compaction-runs/"

func record(ctx context.Context, store objectstore.Store, rep *Hour, now time.Time) error {
	body, err := json.Marshal(struct {
		*Hour
		At time.Time `json:"at"`
	}{rep, now})
	if err != nil {
		return err
	}
	key := RecordPrefix + zone.PartitionOf(rep.Hour.UnixMilli()).Path() + "/" + now.Format("20060102T150405.000Z") + ".json"
	_, err = store.Put(ctx, key, body, objectstore.PutOptions{ContentType: "application/json"})
	return err
}

func read(ctx context.Context, store objectstore.Store, key string) (*Generation, error) {
	data, err := get(ctx, store, key)
	if err != nil {
		return nil, err
	}
	return Decode(data)
}

// readObjects reads lineage objects, readers at a time, stopping reserve before ctx's
// deadline. A missing object reads as nil (another run deleted it); so does one not reached
// in time, which the next run takes.
func readObjects(ctx context.Context, store objectstore.Store, keys []string) ([][]table.Row, error) {
	out := make([][]table.Row, len(keys))
	rctx := ctx
	if d, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		rctx, cancel = context.WithDeadline(ctx, d.Add(-reserve))
		defer cancel()
	}
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  atomic.Int64
	)
	for range min(readers, len(keys)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(keys) || rctx.Err() != nil {
					return
				}
				data, err := get(rctx, store, keys[i])
				if err == nil {
					out[i], err = table.Decode(data)
				}
				switch {
				case err == nil, errors.Is(err, objectstore.ErrNotFound):
				case rctx.Err() != nil && ctx.Err() == nil:
					return // the reserve reached: leave the rest to the next run
				default:
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("%s: %w", keys[i], err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return out, first
}

func get(ctx context.Context, store objectstore.Store, key string) ([]byte, error) {
	rc, _, err := store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
