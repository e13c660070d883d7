package catalog_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/catalog"
	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/ingest"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

// counting is a store that counts the reads of object contents, to see the cache work. A
// curated table's metadata (its catalog pointer, metadata, manifests) is read on every answer,
// since a commit may have moved it: those reads are not counted.
type counting struct {
	objectstore.Store
	reads *atomic.Int64
}

func (c counting) count(key string) {
	if !strings.Contains(key, "/metadata/") {
		c.reads.Add(1)
	}
}

func (c counting) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	c.count(key)
	return c.Store.GetRange(ctx, key, off, n)
}

func (c counting) Get(ctx context.Context, key string) (io.ReadCloser, objectstore.Info, error) {
	c.count(key)
	return c.Store.Get(ctx, key)
}

type lake struct {
	stores map[zone.Zone]objectstore.Store
	reg    map[string]*contract.Contract
	reads  atomic.Int64
	// bad holds the produced records that were rejected, by dataset.
	bad map[string][][]byte
	// sent counts records by the dataset they name.
	sent map[string]int
}

// newLake runs fake records through the ingest processor into a real S3-protocol server
// (gofakes3), copies a cleansed object into the raw archive and drops a CSV into landing/.
func newLake(t *testing.T, n int) *lake { return newLakeTB(t, n) }

func newLakeTB(t testing.TB, n int) *lake {
	t.Helper()
	client, _ := s3test.StartGofakes3(t)
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	l := &lake{stores: map[zone.Zone]objectstore.Store{}, reg: reg, bad: map[string][][]byte{}, sent: map[string]int{}}
	for _, z := range zone.All {
		l.stores[z] = counting{s3store.New(client, s3test.CreateBucket(t, client, string(z))), &l.reads}
	}
	now := time.Now().UTC()
	gens, err := fake.Generators(reg, "all", fake.Options{Seed: 7, BadShare: 0.1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var recs []ingest.Record
	ctx := context.Background()
	_, err = fake.Produce(ctx, gens, n, func(_ context.Context, r fake.Record) error {
		recs = append(recs, ingest.Record{Data: r.Data, Stream: "sluice-events", Shard: "shardId-000000000000",
			Sequence: fmt.Sprintf("%056d", len(recs)+1), PartitionKey: r.PartitionKey, Arrival: now})
		l.sent[r.Dataset]++
		if r.Bad != "" {
			l.bad[r.Dataset] = append(l.bad[r.Dataset], r.Data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &ingest.Processor{Contracts: reg, Cleansed: l.stores[zone.Cleansed], Quarantine: l.stores[zone.Quarantine],
		Options: record.Options{Now: func() time.Time { return now }}}
	for i := 0; i < len(recs); i += 100 {
		res, err := p.Process(ctx, recs[i:min(i+100, len(recs))])
		if err != nil || len(res.Failed) > 0 {
			t.Fatalf("ingest: %v, %d failed", err, len(res.Failed))
		}
	}
	// The change stream, from its source database through Kafka: its changes cleansed, the
	// tombstones after deletes quarantined.
	sim := cdc.NewSimulator(7, now.Add(-time.Hour))
	const topic = "dbserver1.public.customers"
	p.Kafka.Topics = map[string]string{topic: "customers_changes"}
	var changes []ingest.KafkaRecord
	for len(changes) < n/4 {
		for _, e := range sim.Next() {
			changes = append(changes, ingest.KafkaRecord{Topic: topic, Offset: int64(len(changes)), Timestamp: now, Value: base64.StdEncoding.EncodeToString(e.Value)})
			l.sent["customers_changes"]++
		}
	}
	if res, err := p.ProcessKafka(ctx, ingest.KafkaBatch{Records: changes}); err != nil || res.Written+res.Quarantined != len(changes) || res.Quarantined == 0 {
		t.Fatalf("ingest the changes: %v %+v", err, res)
	}
	// The raw zone: one Firehose-like Parquet archive object and one dropped CSV.
	objs, err := l.stores[zone.Cleansed].List(ctx, "user_events/")
	if err != nil || len(objs) == 0 {
		t.Fatalf("no cleansed user_events: %v", err)
	}
	body := l.get(t, zone.Cleansed, objs[0].Key)
	l.put(t, zone.Raw, "archive/user_events/dt=2026-12-01/hr=00/firehose-1.parquet", body)
	l.put(t, zone.Raw, "landing/customers/export.csv", []byte("uuid,name\n1,x\n"))
	l.reads.Store(0)
	return l
}

func (l *lake) get(t testing.TB, z zone.Zone, key string) []byte {
	t.Helper()
	rc, _, err := l.stores[z].Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (l *lake) put(t testing.TB, z zone.Zone, key string, body []byte) {
	t.Helper()
	if _, err := l.stores[z].Put(context.Background(), key, body, objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// contents counts a zone's objects of a dataset the slow way: every object read whole.
func (l *lake) contents(t *testing.T, z zone.Zone, prefixes ...string) (objects int, bytes, rows int64, reasons map[string]int64) {
	t.Helper()
	reasons = map[string]int64{}
	for _, p := range prefixes {
		infos, err := l.stores[z].List(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range infos {
			objects++
			bytes += o.Size
			b := l.get(t, z, o.Key)
			switch {
			case strings.HasSuffix(o.Key, ".parquet"):
				f, err := parquetfile.Footer(b)
				if err != nil {
					t.Fatal(err)
				}
				rows += f.NumRows()
			case strings.HasSuffix(o.Key, quarantine.Ext):
				es, err := quarantine.Decode(strings.NewReader(string(b)))
				if err != nil {
					t.Fatal(err)
				}
				rows += int64(len(es))
				for _, e := range es {
					reasons[e.Reason]++
				}
			}
		}
	}
	return
}

func (l *lake) catalog() *catalog.Catalog {
	stores := map[zone.Zone]objectstore.Store{}
	for z, s := range l.stores {
		stores[z] = s
	}
	return &catalog.Catalog{Contracts: l.reg, Stores: stores}
}

// TestCountsEqualTheZones: what the catalog says each zone holds is what reading every object
// whole finds, and quality adds up: records in = valid + quarantined, reasons sum to the
// quarantined, and every record produced for a dataset is one of them.
func TestCountsEqualTheZones(t *testing.T) {
	l := newLake(t, 600)
	c := l.catalog()
	ctx := context.Background()
	list, err := c.List(ctx, catalog.Access{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(l.reg) {
		t.Fatalf("List gave %d datasets, the lake has %d contracts", len(list), len(l.reg))
	}
	for _, s := range list {
		d, err := c.Get(ctx, s.Name, catalog.Access{})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Zones) != len(zone.All) {
			t.Fatalf("%s: %d zones, want %d", s.Name, len(d.Zones), len(zone.All))
		}
		for _, zs := range d.Zones {
			if zs.Error != "" {
				t.Errorf("%s %s: %s", s.Name, zs.Zone, zs.Error)
			}
			objects, size, rows, _ := l.contents(t, zs.Zone, zs.Prefixes...)
			if zs.Objects != objects || zs.Bytes != size || zs.Rows != rows {
				t.Errorf("%s %s: catalog says %d objects, %d bytes, %d rows; the zone holds %d, %d, %d",
					s.Name, zs.Zone, zs.Objects, zs.Bytes, zs.Rows, objects, size, rows)
			}
			if objects > 0 && zs.LastWrite == nil {
				t.Errorf("%s %s: no last write", s.Name, zs.Zone)
			}
			wantUncounted := 0
			if zs.Zone == zone.Raw && s.Name == "customers" {
				wantUncounted = 1 // the dropped CSV
			}
			if zs.Uncounted != wantUncounted {
				t.Errorf("%s %s: %d uncounted objects, want %d", s.Name, zs.Zone, zs.Uncounted, wantUncounted)
			}
		}
		if s.Name == "user_events" && d.Zones[0].Rows == 0 {
			t.Error("user_events: the raw archive's Parquet rows are not counted")
		}
		q := d.Quality
		_, _, valid, _ := l.contents(t, zone.Cleansed, s.Name+"/")
		_, _, quarantined, reasons := l.contents(t, zone.Quarantine, s.Name+"/")
		if q.Valid != valid || q.Quarantined != quarantined || q.RecordsIn != valid+quarantined || q.Partial {
			t.Errorf("%s quality: in %d, valid %d, quarantined %d (partial %v); the zones hold %d valid, %d quarantined",
				s.Name, q.RecordsIn, q.Valid, q.Quarantined, q.Partial, valid, quarantined)
		}
		// Records naming an unknown dataset are quarantined under _unknown, not here.
		if q.RecordsIn == 0 || q.RecordsIn > int64(l.sent[s.Name]) {
			t.Errorf("%s: %d records in, %d were produced for it", s.Name, q.RecordsIn, l.sent[s.Name])
		}
		var sum int64
		for _, r := range q.Reasons {
			sum += r.Count
			if r.Count != reasons[r.Reason] {
				t.Errorf("%s reason %s: %d, the zone holds %d", s.Name, r.Reason, r.Count, reasons[r.Reason])
			}
		}
		if sum != q.Quarantined || len(q.Reasons) != len(reasons) {
			t.Errorf("%s: reasons %v do not add up to %d quarantined (%v)", s.Name, q.Reasons, q.Quarantined, reasons)
		}
		var daySum int64
		for _, day := range q.Days {
			daySum += day.Valid + day.Quarantined
		}
		if len(q.Days) != 7 || daySum != q.RecordsIn {
			t.Errorf("%s: %d days adding to %d, want 7 adding to %d", s.Name, len(q.Days), daySum, q.RecordsIn)
		}
		if len(q.Samples) == 0 || len(q.Samples) > 10 {
			t.Errorf("%s: %d samples, want 1 to 10", s.Name, len(q.Samples))
		}
	}
}

// TestSamplesAreMasked: no value of a PII field of any rejected record shows in a sample, and
// values of kept fields do.
func TestSamplesAreMasked(t *testing.T) {
	l := newLake(t, 600)
	c := l.catalog()
	c.Samples = 100
	d, err := c.Get(context.Background(), "customers", catalog.Access{})
	if err != nil {
		t.Fatal(err)
	}
	ct := l.reg["customers"]
	var secrets []string
	for _, b := range l.bad["customers"] {
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		for k, v := range m {
			if f, ok := ct.Field(k); ok && f.PII != contract.Keep && f.PII != "" {
				if s := fmt.Sprint(v); len(s) > 3 {
					secrets = append(secrets, s)
				}
			}
		}
	}
	if len(secrets) == 0 || len(d.Quality.Samples) == 0 {
		t.Fatalf("the fixture has %d PII values and %d samples", len(secrets), len(d.Quality.Samples))
	}
	kept := false
	for _, s := range d.Quality.Samples {
		for _, secret := range secrets {
			quoted := `"` + secret + `"`
			if strings.Contains(s.Preview, quoted) || strings.Contains(s.Preview, ":"+secret) || strings.Contains(s.Detail, secret) {
				t.Errorf("sample shows PII %q: %+v", secret, s)
			}
		}
		if strings.Contains(s.Preview, catalog.Masked) && strings.Contains(s.Preview, `"status":"`) && !strings.Contains(s.Preview, `"status":"`+catalog.Masked) {
			kept = true
		}
	}
	if !kept {
		t.Errorf("no sample shows a kept field (status) unmasked: %+v", d.Quality.Samples)
	}
}

// TestAccess: what a caller may not read is left out, not marked.
func TestAccess(t *testing.T) {
	l := newLake(t, 300)
	c := l.catalog()
	ctx := context.Background()
	curatedOnly := catalog.Access{
		Visible: func(ds string, z zone.Zone) bool { return ds == "customers" && z == zone.Curated },
	}
	list, err := c.List(ctx, curatedOnly)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "customers" || len(list[0].Zones) != 1 || list[0].Zones[0].Zone != zone.Curated {
		t.Fatalf("curated-only caller sees %+v", list)
	}
	if _, err := c.Get(ctx, "user_events", curatedOnly); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("Get of a dataset the caller may not read: %v, want ErrNotFound", err)
	}
	d, err := c.Get(ctx, "customers", curatedOnly)
	if err != nil {
		t.Fatal(err)
	}
	if d.Quality != nil {
		t.Errorf("a caller without cleansed and quarantine sees quality %+v", d.Quality)
	}
	for _, col := range d.Columns {
		if col.PII == contract.Drop {
			t.Errorf("column %s (dropped in curated) shown to a curated-only caller", col.Name)
		}
	}
	noEmail := catalog.Access{Column: func(ds string, z zone.Zone, f *contract.Field) bool { return f.Name != "email" }}
	d, err = c.Get(ctx, "customers", noEmail)
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range d.Columns {
		if col.Name == "email" {
			t.Error("a column the caller may read in no zone is listed")
		}
	}
	if len(d.Columns) != len(l.reg["customers"].Fields)-1 {
		t.Errorf("%d columns, want all but email", len(d.Columns))
	}
	if _, err := c.Get(ctx, "no_such", catalog.Access{}); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("unknown dataset: %v", err)
	}
}

// TestReadsOncePerObject: a second answer reads no object again (footers and quarantine
// objects are cached by ETag), and past MaxReads the answer says what it did not count.
func TestReadsOncePerObject(t *testing.T) {
	l := newLake(t, 300)
	c := l.catalog()
	ctx := context.Background()
	if _, err := c.Get(ctx, "user_events", catalog.Access{}); err != nil {
		t.Fatal(err)
	}
	first := l.reads.Swap(0)
	if first == 0 {
		t.Fatal("the first answer read nothing")
	}
	if _, err := c.Get(ctx, "user_events", catalog.Access{}); err != nil {
		t.Fatal(err)
	}
	if n := l.reads.Load(); n != 0 {
		t.Errorf("the second answer read %d objects again (the first read %d)", n, first)
	}

	small := l.catalog()
	small.MaxReads = 1
	d, err := small.Get(ctx, "user_events", catalog.Access{})
	if err != nil {
		t.Fatal(err)
	}
	uncounted := 0
	for _, zs := range d.Zones {
		uncounted += zs.Uncounted
	}
	if uncounted == 0 || !d.Quality.Partial {
		t.Errorf("with MaxReads 1: %d uncounted, partial %v; want some and true", uncounted, d.Quality.Partial)
	}
}

func TestMask(t *testing.T) {
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	ct := reg["customers"]
	show := func(f *contract.Field) bool { return f.PII == contract.Keep || f.PII == "" }
	for _, tc := range []struct{ in, want string }{
		{`{"status":"Active","email":"a@b.c","phone":491234567}`, `{"status":"Active","email":"•••","phone":•••}`},
		{`{"status":"Active","secret":"x"}`, `{"status":"Active","•••":"•••"}`},
		{`{"last_name":"Al","status":{"nested":"x"}}`, `{"last_name":"•••","status":{"•••":"•••"}}`},
		{`{"status":"Act`, `{"status":"Act`},
		{`{"email":"a@b.c`, `{"email":"•••"`},
		{`not json alice@example.com`, `••• ••• •••`},
		{`{"status":null,"email":null,"_dataset":"customers"}`, `{"status":null,"email":null,"_dataset":"customers"}`},
		{`{"email":"a\"b@c"}`, `{"email":"•••"}`},
	} {
		if got := catalog.Mask(tc.in, ct, show); got != tc.want {
			t.Errorf("Mask(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	for in, want := range map[string]string{
		`"bob@x" does not match ^[a-z]{2,8}$`: `"•••" does not match ^[a-z]{2,8}$`,
		`491234567 is outside [0, 5]`:         `••• is outside [0, 5]`,
		`-1.5e3 is not a whole number`:        `••• is not a whole number`,
		`"a\"b" is not one of [x y]`:          `"•••" is not one of [x y]`,
	} {
		if got := catalog.MaskDetail(in); got != want {
			t.Errorf("MaskDetail(%s) = %s, want %s", in, got, want)
		}
	}
}

// stuck is a store whose listings never finish before the request's context ends.
type stuck struct{ objectstore.Store }

func (stuck) List(ctx context.Context, prefix string) ([]objectstore.Info, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestTimeout: a zone that cannot be listed in time is reported, not fatal: the answer comes
// back with what was listed before, saying which zone is left out; a caller that goes away
// gets an error.
func TestTimeout(t *testing.T) {
	l := newLake(t, 200)
	c := l.catalog()
	c.Stores[zone.Cleansed] = stuck{c.Stores[zone.Cleansed]}
	c.Timeout = 200 * time.Millisecond
	d, err := c.Get(context.Background(), "user_events", catalog.Access{})
	if err != nil {
		t.Fatalf("Get with a stuck zone: %v", err)
	}
	if d.Zones[0].Zone != zone.Raw || d.Zones[0].Error != "" || d.Zones[0].Rows == 0 {
		t.Errorf("raw, listed before the stuck zone: %+v", d.Zones[0])
	}
	if d.Zones[1].Zone != zone.Cleansed || !strings.Contains(d.Zones[1].Error, "did not finish within 200ms") {
		t.Errorf("cleansed: %+v", d.Zones[1])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Get(ctx, "user_events", catalog.Access{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Get for a caller gone away: %v, want context.Canceled", err)
	}
}
