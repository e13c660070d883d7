package promote_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/ingest"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

const changesTopic = "dbserver1.public.customers"

// changeLake is a cleansed, quarantine and curated bucket, the ingest path for a Debezium topic
// of shared/cdc's change stream (its email masked in curated), and a promoter.
type changeLake struct {
	ingest  *ingest.Processor
	promote *promote.Promoter
	curated objectstore.Store
	name    string
}

func newChangeLake(t testing.TB) changeLake {
	t.Helper()
	client, _ := s3test.StartAtomicGofakes3(t)
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../cdc/testdata/customers_changes.avsc")
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(`{"name": "email", "type": ["null", "string"], "default": null}`),
		[]byte(`{"name": "email", "type": ["null", "string"], "default": null, "sluice.pii": "mask"}`), 1)
	cs, err := contract.Parse("customers_changes.avsc", b)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := cs.Field("email"); f.PII != contract.Mask {
		t.Fatal("the test contract does not mask email")
	}
	contracts := maps.Clone(reg)
	contracts[cs.Name] = cs
	cleansed := s3store.New(client, s3test.CreateBucket(t, client, "cleansed"))
	curated := s3store.New(client, s3test.CreateBucket(t, client, "curated"))
	p := &ingest.Processor{Contracts: contracts, Cleansed: cleansed, Quarantine: s3store.New(client, s3test.CreateBucket(t, client, "quarantine")),
		Options: record.Options{MaxRecordBytes: 64 << 10, Now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }}}
	p.Kafka.Topics = map[string]string{changesTopic: cs.Name}
	return changeLake{ingest: p, curated: curated, name: cs.Name,
		promote: &promote.Promoter{Contracts: contracts, Cleansed: cleansed, Curated: curated, PIIKey: testKey, TargetBytes: 48 << 10}}
}

// plain makes the promoter see the change stream as a plain dataset: the same contract, but
// cdc_op has another symbol, so it is no change stream.
func (l *changeLake) plain(t testing.TB) {
	t.Helper()
	plain := *l.promote.Contracts[l.name]
	plain.Fields = slices.Clone(plain.Fields)
	f, _ := plain.Field(cdc.OpField)
	plain.Fields[f.Index].Symbols = append(slices.Clone(f.Symbols), "x")
	if cdc.IsChangeStream(&plain) {
		t.Fatal("the plain contract is still a change stream")
	}
	l.promote.Contracts = maps.Clone(l.promote.Contracts)
	l.promote.Contracts[l.name] = &plain
}

func (l changeLake) deliver(t testing.TB, recs []ingest.KafkaRecord) {
	t.Helper()
	res, err := l.ingest.ProcessKafka(context.Background(), ingest.KafkaBatch{Records: recs})
	if err != nil || res.In != res.Written+res.Quarantined || res.Quarantined != res.Reasons["cdc_tombstone"] {
		t.Fatalf("ingest: %v %+v", err, res)
	}
}

func (l changeLake) promoteHour(t testing.TB, hour int) promote.Result {
	t.Helper()
	res, err := l.promote.Promote(context.Background(), l.name, zone.Partition{Date: "2026-11-23", Hour: hour})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// rows reads the curated table's current snapshot from its Parquet data files, by id.
func (l changeLake) rows(t testing.TB) map[int64]map[string]any {
	t.Helper()
	ctx := context.Background()
	tbl := l.promote.Table(l.name)
	st, err := tbl.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := st.Files(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]map[string]any{}
	for _, f := range files {
		key, _ := tbl.Key(f.Path)
		rc, _, err := l.curated.Get(ctx, key)
		if err != nil {
			t.Fatalf("the current snapshot's file %s: %v", key, err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		rows, err := parquetfile.ReadBytes(b)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if int64(len(rows)) != f.Records {
			t.Errorf("%s holds %d rows, its manifest entry says %d", key, len(rows), f.Records)
		}
		for _, r := range rows {
			id := r["id"].(int64)
			if _, dup := out[id]; dup {
				t.Errorf("id %d is in the curated table twice", id)
			}
			out[id] = r
		}
	}
	return out
}

// sameAsModel compares the curated table with the model table row for row, email masked.
func sameAsModel(t testing.TB, got map[int64]map[string]any, model map[int64]cdc.Customer) {
	t.Helper()
	for id, m := range model {
		r, ok := got[id]
		if !ok {
			t.Errorf("id %d is in the model table, not in curated", id)
			continue
		}
		var email any
		if m.Email != nil {
			email = promote.Mask(*m.Email)
		}
		if r["first_name"] != m.FirstName || r["last_name"] != m.LastName || r["email"] != email {
			t.Errorf("id %d: curated %v %v %v, the model %v %v %v", id, r["first_name"], r["last_name"], r["email"], m.FirstName, m.LastName, email)
		}
		if op := r["cdc_op"]; op != "c" && op != "u" && op != "r" {
			t.Errorf("id %d: a live row with op %v", id, op)
		}
	}
	for id := range got {
		if _, ok := model[id]; !ok {
			t.Errorf("id %d is in curated, deleted from (or never in) the model table", id)
		}
	}
}

// Thousands of random inserts, updates and deletes of the simulated source, delivered through
// ingest at least once (batches twice, redeliveries from earlier offsets, Kafka partitions
// interleaved at random: the source keeps a key's order within its partition only), and
// promoted in many promotions of the two hours they span, in random order, leave the curated
// table equal to the model table, row for row; a replay of old changes afterwards changes nothing.
func TestChangeStreamCuratedIsTheModelTable(t *testing.T) {
	l := newChangeLake(t)
	// Source times step 1-20 ms from 09:59:40: the changes span hours 09 and 10.
	sim := cdc.NewSimulator(23, time.Date(2026, 11, 23, 9, 59, 40, 0, time.UTC))
	var log [3][]ingest.KafkaRecord
	for i := range 4000 {
		sim.Wrapped = i%3 == 0
		for _, e := range sim.Next() {
			part := int32(crc32.ChecksumIEEE(e.Key) % 3)
			log[part] = append(log[part], ingest.KafkaRecord{Topic: changesTopic, Partition: part, Offset: int64(len(log[part])),
				Timestamp: time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC),
				Value:     base64.StdEncoding.EncodeToString(e.Value)})
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	next := [3]int{}
	promotions, batches := 0, 0
	for next[0] < len(log[0]) || next[1] < len(log[1]) || next[2] < len(log[2]) {
		part := rng.IntN(3)
		recs := log[part]
		start := next[part]
		if start >= len(recs) {
			continue
		}
		end := min(start+120, len(recs))
		l.deliver(t, recs[start:end])
		switch batches++; {
		case batches%3 == 0: // delivered twice
			l.deliver(t, recs[start:end])
		case batches%5 == 0: // a consumer that crashed before committing, from 50 offsets back
			l.deliver(t, recs[max(0, start-50):end])
		}
		next[part] = end
		if rng.IntN(3) == 0 {
			l.promoteHour(t, 9+rng.IntN(2))
			promotions++
		}
	}
	for _, h := range []int{10, 9, 10} {
		l.promoteHour(t, h)
		promotions++
	}
	model := sim.Table()
	got := l.rows(t)
	sameAsModel(t, got, model)
	if len(model) < 300 || promotions < 20 {
		t.Fatalf("model of %d rows, %d promotions: the test does not exercise the fold", len(model), promotions)
	}

	// A replay of the first changes of every partition, long superseded, changes nothing.
	for part := range log {
		l.deliver(t, log[part][:400])
	}
	for _, h := range []int{9, 10} {
		l.promoteHour(t, h)
	}
	sameAsModel(t, l.rows(t), model)
	st, err := l.promote.Table(l.name).Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if spec := st.Meta.Spec(); len(spec.Fields) != 0 {
		t.Errorf("the change stream's table is partitioned by %v; it must not be", spec.Fields)
	}
	t.Logf("%d rows in the model after %d changes, %d promotions, %d snapshots", len(model), 4000, promotions, len(st.Meta.Snapshots))

	// A rollback restores the first snapshot, which names no deletes of its own state: the
	// next promotion recomputes the table from every cleansed change, back to the model.
	if _, err := l.promote.Table(l.name).Rollback(context.Background(), st.Meta.Snapshots[0].SnapshotID, "test"); err != nil {
		t.Fatal(err)
	}
	if len(l.rows(t)) == len(model) {
		t.Fatal("the rollback did not change the table")
	}
	if res := l.promoteHour(t, 9); !res.Recomputed {
		t.Errorf("result %+v: want the table recomputed after a rollback", res)
	}
	sameAsModel(t, l.rows(t), model)
}

// changeValue is one PostgreSQL connector change event of customer id, at lsn, its source time
// in the given hour of 2026-11-23.
func changeValue(op string, id, lsn, hour int, name string) []byte {
	row := fmt.Sprintf(`{"id":%d,"first_name":%q,"last_name":"K","email":"x%d@example.com"}`, id, name, id)
	before, after := "null", row
	if op == "d" {
		before, after = row, "null"
	}
	ts := time.Date(2026, 11, 23, hour, 30, 0, 0, time.UTC).UnixMilli() + int64(lsn)
	return fmt.Appendf(nil, `{"before":%s,"after":%s,"op":%q,"ts_ms":%d,"source":{"connector":"postgresql","table":"customers","ts_ms":%d,"lsn":%d}}`,
		before, after, op, ts+3, ts, lsn)
}

// A delete removes the key's row; an older change of the key that arrives after it (here in an
// earlier hour of the cleansed zone, promoted later) does not bring it back; a later change does.
func TestChangeStreamDeleteIsNotResurrected(t *testing.T) {
	l := newChangeLake(t)
	var offset int64
	send := func(values ...[]byte) {
		var recs []ingest.KafkaRecord
		for _, v := range values {
			recs = append(recs, ingest.KafkaRecord{Topic: changesTopic, Offset: offset, Timestamp: time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC),
				Value: base64.StdEncoding.EncodeToString(v)})
			offset++
		}
		l.deliver(t, recs)
	}
	ids := func() []int64 {
		var out []int64
		for id := range l.rows(t) {
			out = append(out, id)
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out
	}
	send(changeValue("c", 1, 100, 10, "Anne"), changeValue("c", 2, 110, 10, "Bob"))
	l.promoteHour(t, 10)
	if got := fmt.Sprint(ids()); got != "[1 2]" {
		t.Fatalf("ids %s after two creates", got)
	}
	send(changeValue("d", 1, 300, 10, "Anne"))
	if res := l.promoteHour(t, 10); res.Deletes != 1 || res.Duplicates != 0 {
		t.Errorf("result %+v: want one delete applied, no duplicates", res)
	}
	if got := fmt.Sprint(ids()); got != "[2]" {
		t.Fatalf("ids %s after deleting 1", got)
	}
	// An update of 1 older than its delete (lsn 200 < 300), in hour 09, promoted after it.
	send(changeValue("u", 1, 200, 9, "Anne again"), changeValue("u", 2, 105, 9, "Bob, stale"))
	if res := l.promoteHour(t, 9); res.Deletes != 0 || res.Duplicates != 2 || res.RowsIn != 2 {
		t.Errorf("result %+v: want both changes counted as duplicates (older than what the table holds)", res)
	}
	rows := l.rows(t)
	if _, ok := rows[1]; ok || rows[2]["first_name"] != "Bob" {
		t.Fatalf("after older changes: %v; want 1 still deleted and 2 still Bob", rows)
	}
	// A delete of a key whose create has not been promoted yet (hour 11 first, then 09).
	send(changeValue("d", 3, 500, 11, "Carl"))
	l.promoteHour(t, 11)
	send(changeValue("c", 3, 400, 9, "Carl"))
	l.promoteHour(t, 9)
	if got := fmt.Sprint(ids()); got != "[2]" {
		t.Fatalf("ids %s: a create older than its key's delete came back", got)
	}
	// A change after the delete brings the key back.
	send(changeValue("c", 1, 600, 11, "Anne anew"))
	l.promoteHour(t, 11)
	if r := l.rows(t)[1]; r == nil || r["first_name"] != "Anne anew" || r["cdc_position"] != fmt.Sprintf("%020d", 600) {
		t.Fatalf("id 1 after its re-create: %v", r)
	}
}

// BenchmarkPromoteChanges measures changes applied per second by a change stream's promotion,
// beside a plain promotion (dedupe on the key by event time, the PII policy, the same cleansed
// files, the same stand-in S3) of the same rows as the baseline:
//
//   - first: 10,000 simulated changes (inserts, updates, deletes) into an empty table;
//
//   - steady: 1,000 more changes into the table the first 10,000 made.
//
//     go test -run XXX -bench BenchmarkPromoteChanges -benchtime 5x ./shared/promote
func BenchmarkPromoteChanges(b *testing.B) {
	for _, c := range []struct {
		name         string
		before, more int
	}{{"first", 0, 10_000}, {"steady", 10_000, 1_000}} {
		for _, fold := range []bool{true, false} {
			name := c.name + "/fold"
			if !fold {
				name = c.name + "/plain"
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					l := newChangeLake(b)
					if !fold {
						l.plain(b)
					}
					sim := cdc.NewSimulator(3, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
					sim.Tombstones = false
					var offset int64
					send := func(n int) {
						var recs []ingest.KafkaRecord
						for range n {
							for _, e := range sim.Next() {
								recs = append(recs, ingest.KafkaRecord{Topic: changesTopic, Offset: offset,
									Timestamp: time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC), Value: base64.StdEncoding.EncodeToString(e.Value)})
								offset++
							}
							if len(recs) >= 2000 {
								l.deliver(b, recs)
								recs = nil
							}
						}
						if len(recs) > 0 {
							l.deliver(b, recs)
						}
					}
					if c.before > 0 {
						send(c.before)
						l.promoteHour(b, 9)
					}
					send(c.more)
					b.StartTimer()
					res := l.promoteHour(b, 9)
					if res.RowsIn != int64(c.more) {
						b.Fatalf("promoted %d rows, want %d", res.RowsIn, c.more)
					}
				}
				b.ReportMetric(float64(c.more)*float64(b.N)/b.Elapsed().Seconds(), "changes/s")
			})
		}
	}
}

// A dataset promoted before its contract made it a change stream has an hour-partitioned
// table: promoting it as a change stream is refused with what to do, not folded into the
// wrong layout.
func TestChangeStreamRefusesAPartitionedTable(t *testing.T) {
	l := newChangeLake(t)
	cs := l.promote.Contracts[l.name]
	l.plain(t)
	l.deliver(t, []ingest.KafkaRecord{{Topic: changesTopic, Timestamp: time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC),
		Value: base64.StdEncoding.EncodeToString(changeValue("c", 1, 100, 9, "Anne"))}})
	l.promoteHour(t, 9)
	l.promote.Contracts[l.name] = cs
	_, err := l.promote.Promote(context.Background(), l.name, zone.Partition{Date: "2026-11-23", Hour: 9})
	if err == nil || !strings.Contains(err.Error(), "must be unpartitioned") || !strings.Contains(err.Error(), "drop the table") {
		t.Fatalf("err %v: want the partitioned table refused, saying what to do", err)
	}
}

// Promotions of a change stream share the table's lock, whoever's partition they promote: one
// that finds it held waits for it rather than deferring to the holder, which promotes another
// partition and would not cover this one's files.
func TestChangeStreamPromotionWaitsForTheTableLock(t *testing.T) {
	l := newChangeLake(t)
	l.promote.Lock = promote.LockOptions{Poll: 5 * time.Millisecond, MaxWait: 5 * time.Second}
	l.deliver(t, []ingest.KafkaRecord{{Topic: changesTopic, Timestamp: time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC),
		Value: base64.StdEncoding.EncodeToString(changeValue("c", 1, 100, 10, "Anne"))}})
	// Another promotion (of hour 09, say) holds the table, for 200 ms more.
	body := fmt.Appendf(nil, `{"owner":"another","expires":%q}`, time.Now().Add(200*time.Millisecond).UTC().Format(time.RFC3339Nano))
	if _, err := l.curated.Put(context.Background(), promote.TableLockKey(l.name), body, objectstore.PutOptions{IfNoneMatch: true}); err != nil {
		t.Fatal(err)
	}
	res, err := l.promote.PromoteOrDefer(context.Background(), l.name, zone.Partition{Date: "2026-11-23", Hour: 10})
	if err != nil || res.Deferred || res.RowsIn != 1 {
		t.Fatalf("result %+v, %v: want the promotion to wait for the table's lock and promote hour 10's change", res, err)
	}
	if r := l.rows(t)[1]; r == nil || r["first_name"] != "Anne" {
		t.Fatalf("id 1 is %v after the promotion", r)
	}
}

// MaintainDeletes leaves a table a promotion holds to it (Deferred, nothing written), and with
// the lock free prunes only the deletes older than the cutoff, keeping the rows.
func TestMaintainDeletesDefersAndPrunes(t *testing.T) {
	l := newChangeLake(t)
	ctx := context.Background()
	l.deliver(t, []ingest.KafkaRecord{
		{Topic: changesTopic, Offset: 0, Timestamp: time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC), Value: base64.StdEncoding.EncodeToString(changeValue("d", 1, 300, 9, "Anne"))},
		{Topic: changesTopic, Offset: 1, Timestamp: time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC), Value: base64.StdEncoding.EncodeToString(changeValue("d", 2, 310, 10, "Bob"))},
		{Topic: changesTopic, Offset: 2, Timestamp: time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC), Value: base64.StdEncoding.EncodeToString(changeValue("c", 3, 320, 10, "Carl"))},
	})
	l.promoteHour(t, 9)
	l.promoteHour(t, 10)
	cutoff := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // 1's delete (hour 09) is older
	body := fmt.Appendf(nil, `{"owner":"a promotion","expires":%q}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano))
	if _, err := l.curated.Put(ctx, promote.TableLockKey(l.name), body, objectstore.PutOptions{IfNoneMatch: true}); err != nil {
		t.Fatal(err)
	}
	if res, err := l.promote.MaintainDeletes(ctx, l.name, cutoff, time.Now().Add(-time.Hour)); err != nil || !res.Deferred || res.Pruned != 0 {
		t.Fatalf("with the table held: %+v, %v; want deferred, nothing pruned", res, err)
	}
	if err := l.curated.Delete(ctx, promote.TableLockKey(l.name)); err != nil {
		t.Fatal(err)
	}
	st, _ := l.promote.Table(l.name).Load(ctx)
	before := st.Meta.Current().Summary[promote.SummaryDeletes]
	res, err := l.promote.MaintainDeletes(ctx, l.name, cutoff, time.Now().Add(-time.Hour))
	if err != nil || res.Deferred || res.Pruned != 1 || res.Kept != 1 || res.Deletes == before || len(res.Removed) != 0 {
		t.Fatalf("result %+v, %v: want 1's delete pruned, 2's kept in a new object, nothing removed (the old one is named and young)", res, err)
	}
	st, _ = l.promote.Table(l.name).Load(ctx)
	if got := st.Meta.Current().Summary[promote.SummaryDeletes]; got != res.Deletes {
		t.Errorf("the current snapshot names %s, want the pruned %s", got, res.Deletes)
	}
	if rows := l.rows(t); len(rows) != 1 || rows[3] == nil {
		t.Errorf("rows %v after pruning: want only 3", rows)
	}
	// 2's delete is still held: its create, older, loses to it.
	l.deliver(t, []ingest.KafkaRecord{{Topic: changesTopic, Offset: 3, Timestamp: time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC),
		Value: base64.StdEncoding.EncodeToString(changeValue("c", 2, 200, 10, "Bob"))}})
	l.promoteHour(t, 10)
	if rows := l.rows(t); len(rows) != 1 {
		t.Errorf("rows %v: 2's older create came back past its retained delete", rows)
	}
}
