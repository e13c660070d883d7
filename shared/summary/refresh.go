package summary

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/query"
)

// Job is the lineage job name of a refresh.
const Job = "summarize"

// FileName is the one object of a day (or of a full summary): one object, so a day is
// replaced by a single PUT and a reader sees the old day or the new one, never half of each.
const FileName = "part-0.parquet"

// DayKey is where a day of a summary lives in the consumption bucket.
func DayKey(summary, day string) string {
	return summary + "/" + DayColumn + "=" + day + "/" + FileName
}

// FullKey is where a full-grain summary lives.
func FullKey(summary string) string { return summary + "/" + FileName }

// Refresher recomputes summaries through the query engine and writes them to the consumption
// bucket.
type Refresher struct {
	Compiler *query.Compiler
	Engine   query.Engine
	// Store is the consumption bucket.
	Store objectstore.Store
	// CuratedBucket names the bucket the summaries read, for lineage.
	CuratedBucket string
	// Poll is how often a running query's status is asked. Default 500 ms.
	Poll time.Duration
}

// Result says what one refresh did.
type Result struct {
	Summary string
	// Written and Deleted are the days replaced and the days removed (no rows any more).
	Written, Deleted []string
	Rows             int64
	// BytesScanned is what the engine read (what Athena bills).
	BytesScanned int64
	QueryID      string
}

// Refresh runs one Work: the summary's query over the current curated tables for its days,
// then each day's object replaced (or removed when the day has no rows any more).
func (r *Refresher) Refresh(ctx context.Context, w Work) (Result, error) {
	s := w.Summary
	res := Result{Summary: s.Name}
	var days []string
	if !w.All {
		days = w.Days
	}
	q, err := s.Compile(r.Compiler, days)
	if err != nil {
		return res, fmt.Errorf("summary %s (%s): %w", s.Name, s.Path, err)
	}
	cols, rows, st, err := r.run(ctx, q)
	res.QueryID = st.ID
	res.BytesScanned = st.BytesScanned
	if err != nil {
		return res, fmt.Errorf("summary %s: %w", s.Name, err)
	}
	rec := r.provenance(ctx, s)
	put := func(key string, rows [][]any) error {
		body, err := encode(s.Contract, cols, rows)
		if err != nil {
			return err
		}
		rec.Rows = int64(len(rows))
		if _, err := provenance.Put(ctx, r.Store, key, body, objectstore.PutOptions{ContentType: "application/vnd.apache.parquet"}, rec); err != nil {
			return fmt.Errorf("summary %s: write %s/%s: %w", s.Name, r.Store.Bucket(), key, err)
		}
		res.Rows += int64(len(rows))
		return nil
	}
	if s.Grain == Full {
		return res, put(FullKey(s.Name), rows)
	}
	dt := slices.IndexFunc(cols, func(c query.Column) bool { return c.Name == DayColumn })
	if dt < 0 && len(rows) > 0 {
		return res, fmt.Errorf("summary %s: the engine's answer has no %s column", s.Name, DayColumn)
	}
	byDay := map[string][][]any{}
	for _, row := range rows {
		d, _ := row[dt].(string)
		byDay[d] = append(byDay[d], row)
	}
	targets := slices.Clone(days)
	if w.All {
		// Every day the answer has, and every day the table had: those are now empty.
		held, err := r.Days(ctx, s.Name)
		if err != nil {
			return res, err
		}
		targets = held
		for d := range byDay {
			targets = append(targets, d)
		}
		slices.Sort(targets)
		targets = slices.Compact(targets)
	}
	for _, d := range targets {
		if len(byDay[d]) == 0 {
			if err := r.Store.Delete(ctx, DayKey(s.Name, d)); err != nil {
				return res, fmt.Errorf("summary %s: remove the emptied day %s: %w", s.Name, d, err)
			}
			res.Deleted = append(res.Deleted, d)
			continue
		}
		if err := put(DayKey(s.Name, d), byDay[d]); err != nil {
			return res, err
		}
		res.Written = append(res.Written, d)
	}
	return res, nil
}

// Days lists the days a summary holds now.
func (r *Refresher) Days(ctx context.Context, name string) ([]string, error) {
	infos, err := r.Store.List(ctx, name+"/"+DayColumn+"=")
	if err != nil {
		return nil, fmt.Errorf("summary %s: list its days in %s: %w", name, r.Store.Bucket(), err)
	}
	var out []string
	for _, in := range infos {
		rest := strings.TrimPrefix(in.Key, name+"/"+DayColumn+"=")
		if d, file, ok := strings.Cut(rest, "/"); ok && file == FileName {
			out = append(out, d)
		}
	}
	return out, nil
}

// run starts the query, waits for it and reads every row.
func (r *Refresher) run(ctx context.Context, q *query.Query) ([]query.Column, [][]any, *query.Status, error) {
	st := &query.Status{}
	id, err := r.Engine.Start(ctx, q)
	if err != nil {
		return nil, nil, st, fmt.Errorf("start the refresh query: %w", err)
	}
	poll := r.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	for {
		if st, err = r.Engine.Status(ctx, id); err != nil {
			return nil, nil, &query.Status{ID: id}, fmt.Errorf("status of refresh query %s: %w", id, err)
		}
		if st.State.Done() {
			break
		}
		select {
		case <-ctx.Done():
			return nil, nil, st, fmt.Errorf("refresh query %s still %s: %w", id, st.State, ctx.Err())
		case <-time.After(poll):
		}
	}
	if st.State != query.Succeeded {
		return nil, nil, st, fmt.Errorf("refresh query %s %s: %s", id, st.State, st.Error)
	}
	var cols []query.Column
	var rows [][]any
	token := ""
	for {
		page, err := r.Engine.Results(ctx, id, token, query.MaxPageSize)
		if err != nil {
			return nil, nil, st, fmt.Errorf("results of refresh query %s: %w", id, err)
		}
		cols = page.Columns
		rows = append(rows, page.Rows...)
		if token = page.NextToken; token == "" {
			return cols, rows, st, nil
		}
	}
}

// provenance is what each object of a refresh says of itself: the curated tables read and
// how each column was made.
func (r *Refresher) provenance(ctx context.Context, s *Summary) *provenance.Record {
	rec := &provenance.Record{Job: Job, Run: provenance.RunOf(ctx), Dataset: s.Name, Contract: s.Path,
		ContractVersion: s.Contract.Version, Kind: provenance.Data, Columns: map[string][]provenance.ColumnInput{}}
	for _, ds := range s.Inputs() {
		rec.Inputs = append(rec.Inputs, provenance.Input{Bucket: r.CuratedBucket, Key: ds + "/"})
	}
	for col, srcs := range s.Lineage {
		for _, src := range srcs {
			rec.Columns[col] = append(rec.Columns[col], provenance.ColumnInput(src))
		}
	}
	return rec
}
