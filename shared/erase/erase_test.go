package erase_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/s3local/s3localtest"
	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/erase"
	"github.com/sluicelake/sluice/shared/erase/erasetest"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/ingest"
	"github.com/sluicelake/sluice/shared/maintain"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

var piiKey = []byte("erase-test-pii-key")

// users are the keys the test lake holds; none is part of another, so a byte scan for one
// cannot find another.
var users = []string{"u_700001", "u_700002", "u_700003", "u_700004"}

const gone = "u_700002"

type lake struct {
	client *s3.Client
	stores map[zone.Zone]objectstore.Store
	p      *promote.Promoter
	in     *ingest.Processor
	seq    int
}

func newLake(t *testing.T) *lake {
	client, _ := s3localtest.Start(t)
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	l := &lake{client: client, stores: map[zone.Zone]objectstore.Store{}}
	for _, z := range []zone.Zone{zone.Raw, zone.Cleansed, zone.Curated, zone.Quarantine} {
		// Versioned, as the stack's zone buckets are.
		l.stores[z] = s3store.New(client, s3test.CreateVersionedBucket(t, client, string(z)))
	}
	l.p = &promote.Promoter{Contracts: reg, Cleansed: l.stores[zone.Cleansed], Curated: l.stores[zone.Curated], PIIKey: piiKey}
	l.in = &ingest.Processor{Contracts: reg, Options: record.Options{DefaultDataset: "user_events"},
		Cleansed: l.stores[zone.Cleansed], Quarantine: l.stores[zone.Quarantine]}
	return l
}

// produce sends n user_events of the test's users through ingest (good ones to cleansed, bad
// ones to quarantine), archives them in raw as the Firehose archive and a file drop would hold
// them, and promotes every partition into the curated table.
func (l *lake) produce(t *testing.T, n int, seed uint64, now time.Time) {
	ctx := context.Background()
	reg, _ := events.Registry()
	g, err := fake.New(reg["user_events"], fake.Options{Seed: seed, Now: now, Spread: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var recs []ingest.Record
	var lines [][]byte
	for i := range n {
		var m map[string]any
		if err := json.Unmarshal(g.Next().Data, &m); err != nil {
			t.Fatal(err)
		}
		m["user_id"] = users[i%len(users)]
		if i%10 == 3 {
			m["event_type"] = "teleport" // not in the enum: quarantined, with the user in its original bytes
		}
		data, _ := json.Marshal(m)
		if i%17 == 5 {
			data = data[:len(data)/2] // cut short: not JSON at all, still holding the user
		}
		l.seq++
		recs = append(recs, ingest.Record{Data: data, Stream: "sluice-events", Shard: "shardId-000000000000",
			Sequence: fmt.Sprintf("%020d", l.seq), PartitionKey: users[i%len(users)], Arrival: now})
		lines = append(lines, data)
	}
	res, err := l.in.Process(ctx, recs)
	if err != nil || len(res.Failed) > 0 {
		t.Fatalf("ingest: %v, %+v", err, res)
	}
	// The raw zone: a gzip'd JSON lines archive object, and a JSON lines file drop.
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(bytes.Join(lines, []byte("\n")))
	zw.Close()
	put(t, l.stores[zone.Raw], fmt.Sprintf("archive/user_events/dt=x/sluice-archive-%d.gz", seed), z.Bytes())
	put(t, l.stores[zone.Raw], fmt.Sprintf("landing/user_events/drop-%d.jsonl", seed), bytes.Join(lines, []byte("\n")))

	keys, err := l.stores[zone.Cleansed].List(ctx, "user_events/")
	if err != nil {
		t.Fatal(err)
	}
	// The Firehose archive's Parquet has the contract's columns, as a cleansed object has.
	rc, _, err := l.stores[zone.Cleansed].Get(ctx, keys[len(keys)-1].Key)
	if err != nil {
		t.Fatal(err)
	}
	pq, _ := io.ReadAll(rc)
	rc.Close()
	put(t, l.stores[zone.Raw], fmt.Sprintf("archive/user_events/dt=x/sluice-archive-%d.parquet", seed), pq)
	done := map[zone.Partition]bool{}
	for _, k := range keys {
		_, part, _, err := zone.ParseKey(k.Key)
		if err != nil || done[part] {
			continue
		}
		done[part] = true
		if _, err := l.p.Promote(ctx, "user_events", part); err != nil {
			t.Fatal(err)
		}
	}
}

func put(t *testing.T, s objectstore.Store, key string, body []byte) {
	if _, err := s.Put(context.Background(), key, body, objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// liveRows reads the user ids of the curated table's current snapshot.
func liveRows(t *testing.T, l *lake) map[string]int {
	ctx := context.Background()
	st, err := l.p.Table("user_events").Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	files, err := st.Files(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, f := range files {
		key, _ := l.p.Table("user_events").Key(f.Path)
		rc, _, err := l.stores[zone.Curated].Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		rows, err := parquetfile.ReadBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out[r["user_id"].(string)]++
		}
	}
	return out
}

// rowsOf counts, per user, the rows of the current objects of a zone that hold the user's
// id: Parquet rows, or lines (gzip'd or not) holding it as text or in a base64 string.
func rowsOf(t *testing.T, vs []erasetest.Version) map[string]int {
	out := map[string]int{}
	for _, v := range vs {
		if !v.Latest {
			continue
		}
		b := v.Body
		if bytes.HasPrefix(b, []byte("PAR1")) {
			rows, err := parquetfile.ReadBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				out[fmt.Sprint(r["user_id"])]++
			}
			continue
		}
		if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			for _, u := range users {
				if len(erasetest.Traces(line, u)) > 0 {
					out[u]++
				}
			}
		}
	}
	return out
}

// TestEraseLeavesNoTrace fills every zone with the rows of four users through ingest and
// promote (three rounds, so the curated table has older snapshots and replaced files), erases
// one user, and scans every version of every object in every zone for the user's id as sent
// and as curated stores it (hashed): none may remain, the other users' rows must all be there,
// and the report must count what changed.
func TestEraseLeavesNoTrace(t *testing.T) {
	l := newLake(t)
	now := time.Now().UTC().Truncate(time.Hour).Add(-time.Minute)
	for round := range 3 {
		l.produce(t, 300, uint64(round+1), now)
	}
	hashed := promote.HashHex(piiKey, []byte(gone))
	before := map[zone.Zone][]erasetest.Version{}
	holding := map[zone.Zone]int{} // versions holding the key
	for z, s := range l.stores {
		before[z] = erasetest.AllVersions(t, l.client, s.Bucket())
		for _, v := range before[z] {
			if len(erasetest.Traces(v.Body, gone, hashed)) > 0 {
				holding[z]++
			}
		}
		if holding[z] == 0 {
			t.Fatalf("before erasure the %s zone holds no trace of %s: the test would prove nothing", z, gone)
		}
	}
	curatedBefore := liveRows(t, l)
	st, _ := l.p.Table("user_events").Load(context.Background())
	if len(st.Meta.Snapshots) < 3 || curatedBefore[hashed] == 0 {
		t.Fatalf("curated: %d snapshots, %d rows of the user: want several snapshots holding it", len(st.Meta.Snapshots), curatedBefore[hashed])
	}

	reg, _ := events.Registry()
	e := &erase.Eraser{Contracts: reg, Stores: l.stores, PIIKey: piiKey}
	rep, err := e.Erase(context.Background(), erase.Request{Dataset: "user_events", Field: "user_id", Key: gone, Run: "erase-test"})
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.MarshalIndent(rep, "", " ")
	if bytes.Contains(js, []byte(gone)) || bytes.Contains(js, []byte(hashed)) {
		t.Errorf("the report holds the key it erased:\n%s", js)
	}

	// No trace anywhere, in any version.
	after := map[zone.Zone][]erasetest.Version{}
	for z, s := range l.stores {
		after[z] = erasetest.AllVersions(t, l.client, s.Bucket())
		for _, v := range after[z] {
			if w := erasetest.Traces(v.Body, gone, hashed); len(w) > 0 {
				t.Errorf("s3://%s/%s version %s (latest %v) still holds the key: %v", v.Bucket, v.Key, v.ID, v.Latest, w)
			}
		}
	}

	// Every other user's rows are all there.
	curatedAfter := liveRows(t, l)
	for _, u := range users {
		h := promote.HashHex(piiKey, []byte(u))
		if u != gone && curatedAfter[h] != curatedBefore[h] {
			t.Errorf("curated rows of %s: %d after, %d before", u, curatedAfter[h], curatedBefore[h])
		}
	}
	for _, z := range []zone.Zone{zone.Raw, zone.Cleansed, zone.Quarantine} {
		b, a := rowsOf(t, before[z]), rowsOf(t, after[z])
		for _, u := range users {
			if u != gone && a[u] != b[u] {
				t.Errorf("%s rows of %s: %d after, %d before", z, u, a[u], b[u])
			}
		}
	}

	// The report adds up: per zone, the rows removed are the rows the user had, and every
	// version that held the key was deleted once (the current ones after being rewritten).
	byZone := map[zone.Zone]erase.Zone{}
	var files, deleted, versions int
	var rows int64
	for _, zr := range rep.Zones {
		byZone[zr.Zone] = zr
		files += len(zr.Rewritten)
		deleted += len(zr.Deleted)
		rows += zr.Rows
		versions += zr.Versions
	}
	if files != rep.FilesRewritten || deleted != rep.FilesDeleted || rows != rep.RowsRemoved || versions != rep.Versions {
		t.Errorf("report totals %d/%d/%d/%d, zones add up to %d/%d/%d/%d", rep.FilesRewritten, rep.FilesDeleted, rep.RowsRemoved, rep.Versions, files, deleted, rows, versions)
	}
	if got := byZone[zone.Curated].Rows; got != int64(curatedBefore[hashed]) {
		t.Errorf("curated rows removed %d, the user had %d", got, curatedBefore[hashed])
	}
	for _, z := range []zone.Zone{zone.Raw, zone.Cleansed, zone.Quarantine} {
		zr := byZone[z]
		if want := rowsOf(t, before[z])[gone]; zr.Rows != int64(want) {
			t.Errorf("%s rows removed %d, the user had %d", z, zr.Rows, want)
		}
		changed := 0
		for _, v := range before[z] {
			if v.Latest && len(erasetest.Traces(v.Body, gone)) > 0 {
				changed++
			}
		}
		if len(zr.Rewritten)+len(zr.Deleted) != changed {
			t.Errorf("%s: %d files rewritten and %d deleted, %d current objects held the key", z, len(zr.Rewritten), len(zr.Deleted), changed)
		}
	}
	for z, n := range holding {
		if byZone[z].Versions != n {
			t.Errorf("%s: %d versions deleted, %d versions held the key", z, byZone[z].Versions, n)
		}
	}
	if rep.Snapshot == 0 || len(rep.Expired) == 0 || rep.ExpiredFiles == 0 || len(rep.Pending) != 0 {
		t.Errorf("curated table: snapshot %d, expired %v (%d files), pending %v", rep.Snapshot, rep.Expired, rep.ExpiredFiles, rep.Pending)
	}
	h, err := l.p.Table("user_events").History(context.Background())
	if err != nil || h[len(h)-1].SnapshotID != rep.Snapshot {
		t.Errorf("history %+v, %v: want the erasure's snapshot current", h, err)
	}
	t.Logf("report:\n%s", js)

	// Erasing again finds nothing: the report says so.
	again, err := e.Erase(context.Background(), erase.Request{Dataset: "user_events", Field: "user_id", Key: gone, Run: "erase-test-2"})
	if err != nil || again.RowsRemoved != 0 || again.Versions != 0 || again.Snapshot != 0 || len(again.Expired) != 0 {
		t.Errorf("a second erasure: %+v, %v; want nothing done", again, err)
	}
}

// graceLake is a lake with two rounds of events, an eraser with an hour's grace on the clock it
// returns (now, to move on), and the request erasing gone, named run.
func graceLake(t *testing.T, run string) (*lake, *erase.Eraser, erase.Request, *time.Time) {
	l := newLake(t)
	now := time.Now().UTC().Truncate(time.Hour).Add(-time.Minute)
	for round := range 2 {
		l.produce(t, 120, uint64(round+10), now)
	}
	reg, _ := events.Registry()
	clock := time.Now()
	e := &erase.Eraser{Contracts: reg, Stores: l.stores, PIIKey: piiKey, Grace: time.Hour, Now: func() time.Time { return clock }}
	return l, e, erase.Request{Dataset: "user_events", Field: "user_id", Key: gone, Run: run}, &clock
}

// TestGraceKeepsSnapshotsUntilItEnds erases with a grace period: the snapshots that still
// reference the user's rows stay, and the report says until when; erasing again after that
// expires them and leaves no trace.
func TestGraceKeepsSnapshotsUntilItEnds(t *testing.T) {
	l, e, req, clock := graceLake(t, "erase-grace")
	rep, err := e.Erase(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Pending) == 0 || len(rep.Expired) != 0 || rep.PendingUntil.Before(clock.Add(59*time.Minute)) || rep.PendingUntil.After(clock.Add(61*time.Minute)) {
		t.Fatalf("with an hour's grace: pending %v until %v, expired %v; want every older snapshot pending about an hour", rep.Pending, rep.PendingUntil, rep.Expired)
	}
	hashed := promote.HashHex(piiKey, []byte(gone))
	held := 0
	for _, v := range erasetest.AllVersions(t, l.client, l.stores[zone.Curated].Bucket()) {
		if len(erasetest.Traces(v.Body, hashed)) > 0 {
			held++
		}
	}
	if held == 0 {
		t.Fatal("the pending snapshots' files are gone before their grace ended")
	}
	// No rollback may make a pending snapshot current again; the current one may be restored.
	tbl := l.p.Table("user_events")
	st, err := tbl.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range rep.Pending {
		var held *erase.HeldError
		if err := erase.CheckRestore(context.Background(), tbl, id); !errors.As(err, &held) || held.Snapshot != id || !held.Until.Equal(rep.PendingUntil) && held.Until.After(rep.PendingUntil) {
			t.Errorf("restore pending snapshot %d: %v, want a HeldError until %v at the latest", id, err, rep.PendingUntil)
		}
	}
	if err := erase.CheckRestore(context.Background(), tbl, *st.Meta.CurrentSnapshotID); err != nil {
		t.Errorf("restore the current snapshot, made by the erasure: %v", err)
	}
	*clock = rep.PendingUntil.Add(time.Second)
	again, err := e.Erase(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Pending) != 0 || !slices.Equal(sorted(again.Expired), sorted(rep.Pending)) || again.Versions != held {
		t.Errorf("after the grace: expired %v (pending were %v), %d versions deleted of the %d holding the key", again.Expired, rep.Pending, again.Versions, held)
	}
	for _, s := range l.stores {
		for _, v := range erasetest.AllVersions(t, l.client, s.Bucket()) {
			if w := erasetest.Traces(v.Body, gone, hashed); len(w) > 0 {
				t.Errorf("s3://%s/%s version %s still holds the key: %v", v.Bucket, v.Key, v.ID, w)
			}
		}
	}
}

func sorted(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// TestRefusals: requests erasure cannot carry out say what to change.
func TestRefusals(t *testing.T) {
	reg, _ := events.Registry()
	e := &erase.Eraser{Contracts: reg}
	for _, tc := range []struct {
		req  erase.Request
		want string
	}{
		{erase.Request{Dataset: "nope", Key: "x"}, `no dataset "nope"`},
		{erase.Request{Dataset: "user_events"}, "give the key value"},
		{erase.Request{Dataset: "user_events", Field: "ip_address", Key: "x"}, "masked in curated"},
		{erase.Request{Dataset: "user_events", Field: "amount", Key: "1"}, "amount of user_events is a double: erasure matches string and integer keys"},
		{erase.Request{Dataset: "customers_changes", Key: "4x"}, `id of customers_changes is a long: give the key as its digits, not "4x"`},
		{erase.Request{Dataset: "user_events", Field: "nope", Key: "1"}, `no field "nope"`},
	} {
		_, err := e.Erase(context.Background(), tc.req)
		if !errors.Is(err, erase.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want ErrInvalid saying %q", tc.req, err, tc.want)
		}
	}
	if _, err := e.Erase(context.Background(), erase.Request{Dataset: "user_events", Field: "user_id", Key: "u_1"}); err == nil || !strings.Contains(err.Error(), "no PII key") {
		t.Errorf("a hashed field without the PII key: %v", err)
	}
}

// An integer key (a change stream's id, as a database has it): thousands of changes of the
// simulated source through Kafka ingest, rejected change events among them, promoted; erasing
// one id leaves no row, change or rejected event of it in any version of any zone, and takes
// nothing else, though its digits stand in other fields of other events (positions, times, a
// source's row number).
func TestEraseAnIntegerKey(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	const topic = "dbserver1.public.customers"
	l.in.Kafka.Topics = map[string]string{topic: "customers_changes"}
	now := time.Now().UTC().Truncate(time.Hour).Add(-time.Minute)
	sim := cdc.NewSimulator(5, now.Add(-30*time.Minute))
	var recs []ingest.KafkaRecord
	add := func(value []byte) {
		recs = append(recs, ingest.KafkaRecord{Topic: topic, Offset: int64(len(recs)), Timestamp: now, Value: base64.StdEncoding.EncodeToString(value)})
	}
	for range 1500 {
		for _, e := range sim.Next() {
			add(e.Value)
		}
	}
	model := sim.Table()
	var id int64 = -1
	for k := range model {
		if id < 0 || k < id {
			id = k
		}
	}
	// Rejected changes (first_name of the wrong type), one of the erased id and one of another
	// whose source block holds the erased id's digits as a row number.
	bad := `{"op":"u","ts_ms":%d,"before":null,"after":{"id":%d,"first_name":5,"last_name":"Quinn","email":null},"source":{"connector":"postgresql","ts_ms":%d,"lsn":%d,"row":%d}}`
	ms := now.Add(-10 * time.Minute).UnixMilli()
	add(fmt.Appendf(nil, bad, ms, id, ms, 99_000_000, 0))
	add(fmt.Appendf(nil, bad, ms, id+1_000_000, ms, 99_000_001, id))
	res, err := l.in.ProcessKafka(ctx, ingest.KafkaBatch{Records: recs})
	if err != nil || res.Quarantined < 3 {
		t.Fatalf("ingest: %v %+v", err, res)
	}
	keys, err := l.stores[zone.Cleansed].List(ctx, "customers_changes/")
	if err != nil {
		t.Fatal(err)
	}
	done := map[zone.Partition]bool{}
	for _, k := range keys {
		if _, part, _, err := zone.ParseKey(k.Key); err == nil && !done[part] {
			done[part] = true
			if _, err := l.p.Promote(ctx, "customers_changes", part); err != nil {
				t.Fatal(err)
			}
		}
	}

	// ids counts, per id, the rows of a zone's Parquet objects and its quarantined events: the
	// current objects', or every version's.
	ids := func(z zone.Zone, everyVersion bool) map[int64]int {
		out := map[int64]int{}
		for _, v := range erasetest.AllVersions(t, l.client, l.stores[z].Bucket()) {
			if (!v.Latest && !everyVersion) || strings.Contains(v.Key, "_lineage/") {
				continue
			}
			if bytes.HasPrefix(v.Body, []byte("PAR1")) {
				rows, err := parquetfile.ReadBytes(v.Body)
				if err != nil {
					continue // an Iceberg manifest or the like
				}
				for _, r := range rows {
					if n, ok := r["id"].(int64); ok {
						out[n]++
					}
				}
				continue
			}
			entries, err := quarantine.Decode(bytes.NewReader(v.Body))
			if err != nil {
				continue // not a quarantine object
			}
			for _, e := range entries {
				for _, m := range regexp.MustCompile(`"id":(\d+)`).FindAllSubmatch(e.Original, -1) {
					n, _ := strconv.ParseInt(string(m[1]), 10, 64)
					out[n]++
				}
			}
		}
		return out
	}
	before := map[zone.Zone]map[int64]int{}
	for _, z := range []zone.Zone{zone.Cleansed, zone.Curated, zone.Quarantine} {
		if before[z] = ids(z, false); before[z][id] == 0 {
			t.Fatalf("%s holds no row of id %d before the erasure: the test erases nothing", z, id)
		}
	}
	if before[zone.Quarantine][id+1_000_000] == 0 {
		t.Fatal("the other rejected event is not in quarantine")
	}
	reg, _ := events.Registry()
	e := &erase.Eraser{Contracts: reg, Stores: l.stores, PIIKey: piiKey}
	rep, err := e.Erase(ctx, erase.Request{Dataset: "customers_changes", Key: strconv.FormatInt(id, 10), Run: "erase-id"})
	if err != nil {
		t.Fatal(err)
	}
	for z, was := range before {
		now := ids(z, false)
		if all := ids(z, true); all[id] != 0 {
			t.Errorf("%s: %d rows of id %d in its objects' versions", z, all[id], id)
		}
		if now[id] != 0 {
			t.Errorf("%s still holds %d rows of id %d", z, now[id], id)
		}
		delete(was, id)
		if !maps.Equal(now, was) {
			t.Errorf("%s: the erasure took rows of other ids", z)
		}
	}
	if rep.RowsRemoved < int64(before[zone.Cleansed][id]) || rep.Versions == 0 {
		t.Errorf("report: %d rows removed, %d versions deleted; cleansed alone held %d rows of id %d", rep.RowsRemoved, rep.Versions, before[zone.Cleansed][id], id)
	}
}

// TestMaintenanceExpiresPendingAfterTheGrace erases with a grace period and leaves the rest to
// table maintenance: a run before the grace ends keeps the pending snapshots and their files;
// a run after it expires exactly them, deletes their files with every version, clears the
// erasure's record, and leaves no trace of the key in any version of the curated bucket, while
// the other users' rows stay.
func TestMaintenanceExpiresPendingAfterTheGrace(t *testing.T) {
	l, e, req, clock := graceLake(t, "erase-then-maintain")
	ctx := context.Background()
	rep, err := e.Erase(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Pending) == 0 || rep.PendingRecord == "" {
		t.Fatalf("pending %v recorded at %q: want snapshots kept for the grace, and recorded", rep.Pending, rep.PendingRecord)
	}
	others := liveRows(t, l)
	curated := l.stores[zone.Curated]
	hashed := promote.HashHex(piiKey, []byte(gone))
	held := func() int {
		n := 0
		for _, v := range erasetest.AllVersions(t, l.client, curated.Bucket()) {
			if len(erasetest.Traces(v.Body, gone, hashed)) > 0 {
				n++
			}
		}
		return n
	}
	snapshots := func() []int64 {
		st, err := l.p.Table("user_events").Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, sn := range st.Meta.Snapshots {
			ids = append(ids, sn.SnapshotID)
		}
		return ids
	}
	m := &maintain.Maintainer{Promoter: l.p, Now: func() time.Time { return *clock }, Settings: maintain.Settings{KeepDays: 30, KeepSnapshots: 100}}

	*clock = rep.PendingUntil.Add(-time.Minute)
	early, err := m.Table(ctx, "before-the-grace", "user_events")
	if err != nil {
		t.Fatal(err)
	}
	if early.ErasureSnapshotsExpired != 0 || early.ErasurePending != len(rep.Pending) {
		t.Errorf("before the grace ends: %d expired, %d pending; want none expired, the %d pending", early.ErasureSnapshotsExpired, early.ErasurePending, len(rep.Pending))
	}
	for _, id := range rep.Pending {
		if !slices.Contains(snapshots(), id) {
			t.Errorf("pending snapshot %d was expired before its grace ended", id)
		}
	}
	if held() == 0 {
		t.Fatal("the pending snapshots' files are gone before the grace ended")
	}

	*clock = rep.PendingUntil.Add(time.Second)
	late, err := m.Table(ctx, "after-the-grace", "user_events")
	if err != nil {
		t.Fatal(err)
	}
	if late.ErasureSnapshotsExpired != len(rep.Pending) || late.ErasurePending != 0 || late.ErasureFilesDeleted == 0 {
		t.Errorf("after the grace: %d expired (%d files), %d pending; want the %d pending expired", late.ErasureSnapshotsExpired, late.ErasureFilesDeleted, late.ErasurePending, len(rep.Pending))
	}
	for _, id := range rep.Pending {
		if slices.Contains(snapshots(), id) {
			t.Errorf("pending snapshot %d is still in the table after the grace", id)
		}
	}
	if n := held(); n != 0 {
		t.Errorf("%d versions in the curated bucket still hold the key", n)
	}
	if recs, _ := curated.List(ctx, erase.PendingPrefix); len(recs) != 0 {
		t.Errorf("erasure records left after their snapshots went: %v", recs)
	}
	if got := liveRows(t, l); fmt.Sprint(got) != fmt.Sprint(others) {
		t.Errorf("live rows %v after maintenance, were %v", got, others)
	}
}
