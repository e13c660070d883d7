package summary_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/localstack/s3local"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/summary"
	"github.com/sluicelake/sluice/shared/zone"
)

// lake is the pieces a refresh runs on, on real stand-ins: S3 (versitygw over a folder), the
// real promoter, and the embedded engine reading that folder.
type lake struct {
	reg                          map[string]*contract.Contract
	sums                         []*summary.Summary
	cleansed, curated, consumers objectstore.Store
	promoter                     *promote.Promoter
	engine                       *duckengine.Engine
	refresher                    *summary.Refresher
	compiler                     *query.Compiler
}

func newLake(t *testing.T) *lake {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := s3local.Start(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for _, b := range []string{"cleansed", "curated", "consumption"} {
		if err := srv.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.EnableVersioning(ctx, "curated"); err != nil {
		t.Fatal(err)
	}
	l := &lake{}
	if l.reg, err = events.Registry(); err != nil {
		t.Fatal(err)
	}
	if l.sums, err = summary.Shipped(); err != nil {
		t.Fatal(err)
	}
	client := srv.Client()
	l.cleansed, l.curated, l.consumers = s3store.New(client, "cleansed"), s3store.New(client, "curated"), s3store.New(client, "consumption")
	l.promoter = &promote.Promoter{Contracts: l.reg, Cleansed: l.cleansed, Curated: l.curated, PIIKey: []byte("test-key")}
	if l.engine, err = duckengine.Open(duckengine.Options{LakeDir: dir, Threads: 1}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.engine.Close() })
	l.compiler = &query.Compiler{Contracts: l.reg, Summaries: map[string]*contract.Contract{}}
	for _, s := range l.sums {
		l.compiler.Summaries[s.Name] = s.Contract
	}
	l.refresher = &summary.Refresher{Compiler: l.compiler, Engine: l.engine, Store: l.consumers, CuratedBucket: "curated", Poll: time.Millisecond}
	return l
}

// land validates records into cleansed Parquet, a file per partition as ingest writes them,
// and promotes each partition: the curated objects created are what S3 would announce.
func (l *lake) land(t *testing.T, round int, recs map[string][][]byte) (created []string) {
	t.Helper()
	ctx := context.Background()
	for ds, rs := range recs {
		b := record.NewBatch(l.reg, record.Options{DefaultDataset: ds, Now: func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }})
		for i, r := range rs {
			if _, rej := b.Add(r, i); rej != nil {
				t.Fatalf("%s: %v", r, rej)
			}
		}
		tbl := b.Tables()[0]
		parts := map[zone.Partition][]int{}
		for i := range tbl.Len() {
			p := zone.PartitionOf(tbl.EventTime(i))
			parts[p] = append(parts[p], i)
		}
		for p, rows := range parts {
			var buf bytes.Buffer
			if err := parquetfile.Write(&buf, tbl, rows, parquetfile.Options{}); err != nil {
				t.Fatal(err)
			}
			if _, err := l.cleansed.Put(ctx, zone.Key(ds, p, fmt.Sprintf("round-%03d.parquet", round)), buf.Bytes(), objectstore.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			res, err := l.promoter.Promote(ctx, ds, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range res.Outputs {
				created = append(created, o.Key)
			}
		}
	}
	return created
}

// rows runs a request and renders each row as text, keyed by its day.
func (l *lake) rows(t *testing.T, q *query.Query) map[string][]string {
	t.Helper()
	ctx := context.Background()
	id, _ := l.run(t, q)
	out := map[string][]string{}
	for token := ""; ; {
		page, err := l.engine.Results(ctx, id, token, query.MaxPageSize)
		if err != nil {
			t.Fatal(err)
		}
		dt := slices.IndexFunc(page.Columns, func(c query.Column) bool { return c.Name == "dt" })
		for _, r := range page.Rows {
			out[r[dt].(string)] = append(out[r[dt].(string)], fmt.Sprint(r))
		}
		if token = page.NextToken; token == "" {
			break
		}
	}
	for _, rs := range out {
		sort.Strings(rs)
	}
	return out
}

// scanned is what the engine read for a query.
func (l *lake) scanned(t *testing.T, q *query.Query) int64 {
	_, st := l.run(t, q)
	return st.BytesScanned
}

// run runs a query to success.
func (l *lake) run(t *testing.T, q *query.Query) (string, *query.Status) {
	t.Helper()
	ctx := context.Background()
	id, err := l.engine.Start(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.engine.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	st, _ := l.engine.Status(ctx, id)
	if st.State != query.Succeeded {
		t.Fatalf("%s: %s", q.SQL, st.Error)
	}
	return id, st
}

// userEvent is a clickstream record of the given day (of 2026-11), with a fixed id so that a
// replay is the same event again.
func userEvent(rng *rand.Rand, id, day int) []byte {
	types := []string{"page_view", "click", "purchase", "add_to_cart"}
	countries := []string{`"DE"`, `"FR"`, `"US"`, "null"}
	ts := time.Date(2026, 11, day, rng.IntN(24), rng.IntN(60), 0, 0, time.UTC).Format(time.RFC3339)
	et := types[rng.IntN(len(types))]
	amount, qty := "null", "null"
	if et == "purchase" || et == "add_to_cart" {
		amount, qty = fmt.Sprintf("%d.25", rng.IntN(300)), fmt.Sprint(1+rng.IntN(4))
	}
	return fmt.Appendf(nil, `{"event_id":"%08x-0000-4000-8000-000000000000","user_id":"u_%d","event_type":%q,"timestamp":%q,"amount":%s,"quantity":%s,"country":%s}`,
		id, rng.IntN(50), et, ts, amount, qty, countries[rng.IntN(len(countries))])
}

func customer(rng *rand.Rand, id, day int) []byte {
	status := []string{"Active", "Inactive", "Canceled"}[rng.IntN(3)]
	ts := time.Date(2026, 11, day, rng.IntN(24), rng.IntN(60), 0, 0, time.UTC).Format(time.RFC3339)
	return fmt.Appendf(nil, `{"uuid":"%08x-0000-4000-8000-00000000c0de","event_date":%q,"status":%q,"name":"Ada","last_name":"Lovelace","email":"c%d@example.com"}`,
		id, ts, status, id)
}

// TestSummariesEqualTheirQueryOverCurated produces random rounds (new days, late events for
// earlier days, replays of earlier events), refreshes what each round's promotions announce,
// and checks every summary, day by day, against its query run over curated at that moment;
// and that a refresh recomputes the days the round touched, no others.
func TestSummariesEqualTheirQueryOverCurated(t *testing.T) {
	l := newLake(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 14))
	var sent [][]byte // user_events sent so far, for replays
	nextID := 1
	refreshed, held := 0, 0 // days of daily_revenue recomputed, and days it held, over the rounds
	for round := range 6 {
		recs := map[string][][]byte{}
		touched := map[string]bool{}
		newest := 1 + round*2 // each round's own days move forward; late ones go back
		for range 40 {
			day := newest + rng.IntN(2)
			if rng.IntN(12) == 0 && round > 0 {
				day = 1 + rng.IntN(newest) // late: an earlier day
			}
			recs["user_events"] = append(recs["user_events"], userEvent(rng, nextID, day))
			touched[fmt.Sprintf("2026-11-%02d", day)] = true
			nextID++
		}
		if round > 0 {
			for range 2 { // replays: the same events again, changing nothing
				r := sent[rng.IntN(len(sent))]
				recs["user_events"] = append(recs["user_events"], r)
				touched[string(r[bytes.Index(r, []byte(`"timestamp":"`))+13:][:10])] = true
			}
		}
		sent = append(sent, recs["user_events"]...)
		for i := range 10 {
			recs["customers"] = append(recs["customers"], customer(rng, rng.IntN(15), newest+i%2))
		}
		created := l.land(t, round, recs)

		work := summary.Plan(l.sums, append(created, "user_events/metadata/00001.metadata.json", "_locks/x"))
		if len(work) != 2 {
			t.Fatalf("round %d: %d summaries to refresh, want both: %+v", round, len(work), work)
		}
		for _, w := range work {
			res, err := l.refresher.Refresh(ctx, w)
			if err != nil {
				t.Fatal(err)
			}
			if w.Summary.Name == "daily_revenue" {
				want := slices.Sorted(func(yield func(string) bool) {
					for d := range touched {
						if !yield(d) {
							return
						}
					}
				})
				if !slices.Equal(res.Written, want) {
					t.Errorf("round %d: refreshed days %v, want exactly the days the round touched %v", round, res.Written, want)
				}
				t.Logf("round %d: daily_revenue refreshed %d days of %d, %d bytes scanned", round, len(res.Written), newest+1, res.BytesScanned)
				refreshed += len(res.Written)
				held += newest + 1
			}
		}
		for _, s := range l.sums {
			direct, err := s.Compile(l.compiler, nil)
			if err != nil {
				t.Fatal(err)
			}
			table, err := l.compiler.Compile(&query.Request{Dataset: s.Name, Limit: 10000})
			if err != nil {
				t.Fatal(err)
			}
			want, got := l.rows(t, direct), l.rows(t, table)
			for day := range want {
				if !slices.Equal(want[day], got[day]) {
					t.Errorf("round %d: %s on %s:\n got %v\nwant %v", round, s.Name, day, got[day], want[day])
				}
			}
			if len(got) != len(want) {
				t.Errorf("round %d: %s holds %d days, curated %d", round, s.Name, len(got), len(want))
			}
		}
	}
	// What each read costs: the summary's query over curated (what a refresh of every day, or
	// a dashboard without the summary, reads) beside a dashboard's read of the summary table.
	// The embedded engine counts every file of a table (an upper bound; Athena prunes to the
	// days and columns read).
	for _, s := range l.sums {
		direct, _ := s.Compile(l.compiler, nil)
		table, _ := l.compiler.Compile(&query.Request{Dataset: s.Name})
		t.Logf("%s: its query over curated reads %d bytes, the summary table %d bytes", s.Name, l.scanned(t, direct), l.scanned(t, table))
	}
	if refreshed >= held {
		t.Errorf("every refresh recomputed every day (%d of %d): nothing was incremental", refreshed, held)
	}
}

func TestPlanSkipsBookkeepingAndJoinChangesRecomputeAll(t *testing.T) {
	reg := registry(t)
	joined, err := summary.Parse("revenue_by_status.json", []byte(byStatus), reg)
	if err != nil {
		t.Fatal(err)
	}
	w := summary.Plan([]*summary.Summary{joined}, []string{"orders/data/dt=2026-11-23/hr=09/a.parquet", "orders/data/dt=2026-11-23/hr=10/b.parquet",
		"orders/data/dt=2026-11-20/hr=00/c.parquet", "orders/metadata/v3.metadata.json", "_locks/orders"})
	if len(w) != 1 || w[0].All || !slices.Equal(w[0].Days, []string{"2026-11-20", "2026-11-23"}) {
		t.Errorf("%+v", w)
	}
	w = summary.Plan([]*summary.Summary{joined}, []string{"customers/data/dt=2026-11-01/hr=09/a.parquet"})
	if len(w) != 1 || !w[0].All {
		t.Errorf("a joined dataset's change recomputes every day: %+v", w)
	}
	if w := summary.Plan([]*summary.Summary{joined}, []string{"user_events/data/dt=2026-11-01/hr=09/a.parquet"}); len(w) != 0 {
		t.Errorf("a dataset it does not read: %+v", w)
	}
}

// A burst of curated events, as the local host's S3 tap delivers them one object at a time,
// becomes one refresh per summary of the union of their days.
func TestBurstIsOneRefresh(t *testing.T) {
	l := newLake(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var recs [][]byte
	for i := range 30 {
		recs = append(recs, userEvent(rng, 1000+i, 1+i%3))
	}
	created := l.land(t, 0, map[string][][]byte{"user_events": recs})
	h := &summary.Handler{Summaries: l.sums, Refresher: l.refresher, CuratedBucket: "curated", Log: slog.New(slog.DiscardHandler)}
	var calls int
	var results []summary.Result
	d := &summary.Debouncer{Window: time.Hour, Refresh: func(ctx context.Context, keys []string) {
		calls++
		res, err := h.Refresh(ctx, keys)
		if err != nil {
			t.Error(err)
		}
		results = append(results, res...)
	}}
	for _, key := range created {
		event := fmt.Sprintf(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"curated"},"object":{"key":%q}}}]}`, key)
		keys, err := h.Keys([]byte(event))
		if err != nil || len(keys) != 1 {
			t.Fatalf("%s: %v %v", event, keys, err)
		}
		d.Add(keys...)
	}
	d.Flush(context.Background())
	d.Flush(context.Background()) // nothing pending: no refresh
	if calls != 1 || len(results) != 1 || results[0].Summary != "daily_revenue" {
		t.Fatalf("%d objects made %d refreshes: %+v", len(created), calls, results)
	}
	if !slices.Equal(results[0].Written, []string{"2026-11-01", "2026-11-02", "2026-11-03"}) {
		t.Errorf("refreshed %v", results[0].Written)
	}
}

// A full-grain summary is one object, recomputed whole, and reads back as its query does.
func TestFullSummaryIsRecomputedWhole(t *testing.T) {
	l := newLake(t)
	ctx := context.Background()
	def := `{"name": "customers_now", "doc": "Customers by status.", "grain": "full",
	 "query": {"dataset": "customers", "group_by": ["status"], "aggregates": [{"fn": "count", "as": "customers"}]},
	 "columns": [{"name": "status", "doc": "status"}, {"name": "customers", "doc": "how many"}]}`
	s, err := summary.Parse("customers_now.json", []byte(def), l.reg)
	if err != nil {
		t.Fatal(err)
	}
	l.compiler.Summaries[s.Name] = s.Contract
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 2 {
		var recs [][]byte
		for i := range 12 {
			recs = append(recs, customer(rng, i, 1+round))
		}
		created := l.land(t, round, map[string][][]byte{"customers": recs})
		work := summary.Plan([]*summary.Summary{s}, created)
		if len(work) != 1 || !work[0].All {
			t.Fatalf("a full summary is recomputed whole: %+v", work)
		}
		if _, err := l.refresher.Refresh(ctx, work[0]); err != nil {
			t.Fatal(err)
		}
		direct, _ := s.Compile(l.compiler, nil)
		table, err := l.compiler.Compile(&query.Request{Dataset: s.Name})
		if err != nil {
			t.Fatal(err)
		}
		want, got := l.all(t, direct), l.all(t, table)
		if !slices.Equal(want, got) || len(got) == 0 {
			t.Errorf("round %d: summary %v, its query %v", round, got, want)
		}
	}
	if _, err := l.consumers.Head(ctx, summary.FullKey(s.Name)); err != nil {
		t.Errorf("the full summary's one object: %v", err)
	}
}

// all runs a query and renders its rows as sorted text.
func (l *lake) all(t *testing.T, q *query.Query) []string {
	t.Helper()
	id, _ := l.run(t, q)
	page, err := l.engine.Results(context.Background(), id, "", query.MaxPageSize)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range page.Rows {
		out = append(out, fmt.Sprint(r))
	}
	sort.Strings(out)
	return out
}
