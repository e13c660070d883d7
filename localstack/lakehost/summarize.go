package lakehost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/localstack/s3events"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/summary"
	"github.com/sluicelake/sluice/shared/zone"
)

// Summaries keeps the consumption zone's summary tables as the deployed summarize function
// does, in this process: that function's binary needs Athena, which has no local stand-in,
// so the embedded engine takes Athena's place here as it does behind the local query API. The
// curated bucket's object-created events feed a Debouncer, the stand-in for the SQS batching
// window; the refresh code is the function's own (shared/summary's Handler).
type Summaries struct {
	Handler   *summary.Handler
	Debouncer *summary.Debouncer
	Engine    *duckengine.Engine

	mu      sync.Mutex
	results []summary.Result
	errs    []error
}

// StartSummaries subscribes the summaries to the curated bucket's events; window is the quiet
// time that ends a burst.
func (l *Lake) StartSummaries(window time.Duration) (*Summaries, error) {
	sums, err := summary.Shipped()
	if err != nil {
		return nil, err
	}
	eng, err := duckengine.Open(duckengine.Options{LakeDir: l.cfg.Dir, Buckets: Buckets, Threads: 1})
	if err != nil {
		return nil, err
	}
	l.closers = append(l.closers, eng.Close)
	s := &Summaries{Engine: eng, Handler: &summary.Handler{
		Summaries:     sums,
		CuratedBucket: Buckets[zone.Curated],
		Log:           slog.New(slog.NewTextHandler(l.cfg.Logs, nil)),
		Refresher: &summary.Refresher{
			Compiler:      &query.Compiler{Contracts: l.cfg.Contracts},
			Engine:        eng,
			Store:         s3store.New(l.S3Client, Buckets[zone.Consumption]),
			CuratedBucket: Buckets[zone.Curated],
			Poll:          10 * time.Millisecond,
		},
	}}
	s.Debouncer = &summary.Debouncer{Window: window, Refresh: func(ctx context.Context, keys []string) {
		res, err := s.Handler.Refresh(ctx, keys)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.results = append(s.results, res...)
		if err != nil {
			s.errs = append(s.errs, err)
		}
	}}
	l.Events.Subscribe(s3events.Subscription{Name: "summarize", Bucket: Buckets[zone.Curated], Deliver: func(ctx context.Context, payload []byte) error {
		keys, err := s.Handler.Keys(payload)
		if err != nil {
			return err
		}
		s.Debouncer.Add(keys...)
		return nil
	}})
	return s, nil
}

// Flush refreshes what is pending now and reports every refresh so far, and the errors.
func (s *Summaries) Flush(ctx context.Context) ([]summary.Result, error) {
	s.Debouncer.Flush(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]summary.Result(nil), s.results...), errors.Join(s.errs...)
}

// Print writes a summary table's latest rows (by day, then its first aggregate) as a table.
func (s *Summaries) Print(ctx context.Context, w io.Writer, name string, rows int) error {
	var sum *summary.Summary
	for _, x := range s.Handler.Summaries {
		if x.Name == name {
			sum = x
		}
	}
	if sum == nil {
		return fmt.Errorf("no summary %s", name)
	}
	c := &query.Compiler{Contracts: s.Handler.Refresher.Compiler.Contracts, Summaries: summary.Contracts(s.Handler.Summaries)}
	req := &query.Request{Dataset: name, Limit: rows}
	if sum.Grain == summary.Day {
		req.OrderBy = append(req.OrderBy, query.Order{Column: summary.DayColumn, Desc: true})
	}
	req.OrderBy = append(req.OrderBy, query.Order{Column: sum.Contract.Fields[len(sum.Contract.Fields)-len(sum.Query.Aggregates)].Name, Desc: true})
	q, err := c.Compile(req)
	if err != nil {
		return err
	}
	id, err := s.Engine.Start(ctx, q)
	if err != nil {
		return err
	}
	if err := s.Engine.Wait(ctx, id); err != nil {
		return err
	}
	page, err := s.Engine.Results(ctx, id, "", rows)
	if err != nil {
		st, _ := s.Engine.Status(ctx, id)
		return fmt.Errorf("%s: %w (%s)", name, err, st.Error)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, col := range page.Columns {
		if i > 0 {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprint(tw, col.Name)
	}
	fmt.Fprintln(tw)
	for _, r := range page.Rows {
		for i, v := range r {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			switch x := v.(type) {
			case nil:
				v = "-"
			case float64:
				v = fmt.Sprintf("%.2f", x)
			}
			fmt.Fprint(tw, v)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
