package maintain_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/cdc/cdctest"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/ingest"
	"github.com/sluicelake/sluice/shared/maintain"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/zone"
)

// changes is a change stream (shared/cdc's test contract) in the lake of lake(): Debezium
// events of customer ids go through ingest into cleansed, and are folded by promotion.
type changes struct {
	t      *testing.T
	p      *promote.Promoter
	in     *ingest.Processor
	name   string
	offset int64
}

func newChanges(t *testing.T, p *promote.Promoter) *changes {
	t.Helper()
	cs := cdctest.Contract(t)
	p.Contracts = maps.Clone(p.Contracts)
	p.Contracts[cs.Name] = cs
	in := &ingest.Processor{Contracts: p.Contracts, Cleansed: p.Cleansed, Quarantine: p.Cleansed}
	in.Kafka.Topics = map[string]string{"dbserver1.inventory.customers": cs.Name}
	return &changes{t: t, p: p, in: in, name: cs.Name}
}

// send ingests one change of customer id at lsn, made in the source at ts, and promotes the
// hour of ts (cleansed partitions are hours of the source's time).
func (c *changes) send(op string, id, lsn int, ts time.Time) {
	c.t.Helper()
	row := fmt.Sprintf(`{"id":%d,"first_name":"n%d@%d","last_name":null,"email":null}`, id, id, lsn)
	before, after := "null", row
	if op == "d" {
		before, after = row, "null"
	}
	v := fmt.Sprintf(`{"before":%s,"after":%s,"op":%q,"ts_ms":%d,"source":{"connector":"postgresql","table":"customers","ts_ms":%d,"lsn":%d}}`,
		before, after, op, ts.UnixMilli(), ts.UnixMilli(), lsn)
	res, err := c.in.ProcessKafka(context.Background(), ingest.KafkaBatch{Records: []ingest.KafkaRecord{{Topic: "dbserver1.inventory.customers",
		Offset: c.offset, Timestamp: ts, Value: base64.StdEncoding.EncodeToString([]byte(v))}}})
	c.offset++
	if err != nil || res.Written != 1 {
		c.t.Fatalf("ingest %s: %v %+v", v, err, res)
	}
	ts = ts.UTC()
	if _, err := c.p.Promote(context.Background(), c.name, zone.Partition{Date: ts.Format(time.DateOnly), Hour: ts.Hour()}); err != nil {
		c.t.Fatal(err)
	}
}

// ids reads the customer ids of the table's current snapshot.
func (c *changes) ids() []int64 {
	c.t.Helper()
	var out []int64
	for _, r := range c.rows() {
		out = append(out, r["id"].(int64))
	}
	slices.Sort(out)
	return out
}

func (c *changes) rows() []map[string]any {
	c.t.Helper()
	ctx := context.Background()
	tbl := c.p.Table(c.name)
	st, err := tbl.Load(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	files, err := st.Files(ctx, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	var out []map[string]any
	for _, f := range files {
		key, _ := tbl.Key(f.Path)
		rc, _, err := tbl.Store.Get(ctx, key)
		if err != nil {
			c.t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		rows, err := parquetfile.ReadBytes(b)
		if err != nil {
			c.t.Fatal(err)
		}
		out = append(out, rows...)
	}
	return out
}

// deletesOf is the deletes object the current snapshot names.
func (c *changes) deletesOf() string {
	c.t.Helper()
	st, err := c.p.Table(c.name).Load(context.Background())
	if err != nil {
		c.t.Fatal(err)
	}
	return st.Meta.Current().Summary[promote.SummaryDeletes]
}

// A change stream whose deletes grew over four promotions: eight days on, maintenance drops the
// deleted keys older than the retention from the deletes object in one snapshot (same rows),
// removes the deletes object only expired snapshots named, and keeps those kept snapshots name
// and an unnamed one too young to tell from a promotion's. Afterwards a late change older than
// a pruned delete brings its key back (the documented cost of the retention), and one older
// than a delete still retained loses to it.
func TestMaintenancePrunesChangeStreamDeletes(t *testing.T) {
	ctx := context.Background()
	clk := &clock{}
	p, curated := lake(t, clk)
	c := newChanges(t, p)
	start := clk.Now()
	old, recent := start.Add(-30*24*time.Hour).Truncate(time.Hour), start.Add(-24*time.Hour).Truncate(time.Hour)

	c.send("c", 1, 100, old)
	c.send("c", 2, 110, recent)
	c.send("c", 3, 120, old.Add(time.Minute))
	c.send("c", 4, 130, old.Add(2*time.Minute))
	c.send("d", 1, 300, old.Add(3*time.Minute))
	d1 := c.deletesOf()
	c.send("d", 2, 400, recent.Add(time.Minute))
	d2 := c.deletesOf()
	c.send("d", 3, 500, old.Add(4*time.Minute))
	d3 := c.deletesOf()
	if d1 == "" || d2 == "" || d3 == "" || d1 == d2 || d2 == d3 {
		t.Fatalf("deletes objects %q %q %q: want three different ones", d1, d2, d3)
	}
	if got := fmt.Sprint(c.ids()); got != "[4]" {
		t.Fatalf("ids %s before maintenance", got)
	}
	rowsBefore := c.rows()

	clk.Advance(8 * 24 * time.Hour)
	young := promote.DeletesPrefix + c.name + "/deletes-0000000000000000.parquet"
	if _, err := curated.Put(ctx, young, []byte("a promotion's, not committed yet"), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	// Two snapshots kept: the one naming d2 and the current one, naming d3; d1's expire.
	m := &maintain.Maintainer{Promoter: p, Now: clk.Now, Settings: maintain.Settings{KeepDays: 7, KeepSnapshots: 2, CDCDeleteRetentionDays: 14}}
	rec, err := m.Table(ctx, "run-cdc", c.name)
	if err != nil {
		t.Fatal(err)
	}
	if rec.DeletesPruned != 2 || rec.DeletesKept != 1 {
		t.Errorf("pruned %d, kept %d: want the deletes of 1 and 3 (30 days old) pruned and 2's (a day old) kept", rec.DeletesPruned, rec.DeletesKept)
	}
	if !slices.Equal(rec.DeletesObjects, []string{d1}) || rec.DeletesObjectsDeleted != 1 || rec.DeletesObjectsYoung != 1 {
		t.Errorf("deletes objects removed %v (%d), %d young: want only %s, which no kept snapshot names, and the young one kept", rec.DeletesObjects, rec.DeletesObjectsDeleted, rec.DeletesObjectsYoung, d1)
	}
	left := listed(t, curated, promote.DeletesPrefix)
	for _, k := range []string{d2, d3, young} {
		if _, ok := left[k]; !ok {
			t.Errorf("%s was deleted; a kept snapshot names it, or it is young", k)
		}
	}
	if _, ok := left[d1]; ok {
		t.Errorf("%s is still there", d1)
	}
	st, err := p.Table(c.name).Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cur := st.Meta.Current()
	pruned := cur.Summary[promote.SummaryDeletes]
	if cur.Operation() != iceberg.OpReplace || cur.Summary[iceberg.SummaryRun] != "run-cdc" || pruned == d3 || pruned == "" {
		t.Errorf("current snapshot %v: want a replace by the run naming a new deletes object", cur.Summary)
	}
	if _, ok := left[pruned]; !ok {
		t.Errorf("the pruned deletes object %s is missing", pruned)
	}
	if after := c.rows(); fmt.Sprint(after) != fmt.Sprint(rowsBefore) {
		t.Errorf("rows changed by pruning: %v, were %v", after, rowsBefore)
	}

	// Late changes, older than the deletes: 1's delete was pruned, so its row comes back; 2's
	// is retained, so 2 stays deleted.
	c.send("u", 1, 200, old.Add(5*time.Minute))
	c.send("u", 2, 350, recent.Add(2*time.Minute))
	if got := fmt.Sprint(c.ids()); got != "[1 4]" {
		t.Errorf("ids %s after late changes: want 1 back (its delete is past the retention), 2 still deleted", got)
	}
	if lk := listed(t, curated, promote.LockPrefix); len(lk) != 0 {
		t.Errorf("lock left behind: %v", lk)
	}
}
