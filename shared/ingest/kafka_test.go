package ingest_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/cdc/cdctest"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/ingest"
	"github.com/sluicelake/sluice/shared/kafkawire"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/quarantine"
)

// kafkaFixture is a batch over two topics and three partitions: JSON and Avro values of
// user_events, one bad JSON record, one Avro value of a schema id nobody mapped, and a tombstone.
type kafkaFixture struct {
	batch   ingest.KafkaBatch
	good    map[string]bool // event ids
	reasons map[string]int  // quarantined records by reason
}

func kafkaBatch(t *testing.T, n int) kafkaFixture {
	reg := mustRegistry(t)
	f := kafkaFixture{batch: ingest.KafkaBatch{BootstrapServers: "b-1.kafka:9092,b-2.kafka:9092"},
		good: map[string]bool{}, reasons: map[string]int{}}
	offsets := map[string]int64{}
	add := func(topic string, partition int32, value []byte) {
		k := fmt.Sprint(topic, partition)
		f.batch.Records = append(f.batch.Records, ingest.KafkaRecord{Topic: topic, Partition: partition, Offset: 40 + offsets[k],
			Timestamp: now, Value: base64.StdEncoding.EncodeToString(value)})
		offsets[k]++
	}
	// The odd records come first, so that a batch of more records starts with the same ones at
	// the same offsets, as a retried batch from the same committed offsets does.
	add("clicks", 0, []byte(`{"event_id":"not a uuid","user_id":"u_1","event_type":"click","timestamp":"2026-11-23T11:00:00Z"}`))
	f.reasons["pattern_mismatch"]++
	add("clicks", 1, kafkawire.Append(nil, 99, []byte{2, 4}))
	f.reasons[string(kafkawire.UnknownSchemaID)]++
	f.batch.Records = append(f.batch.Records, ingest.KafkaRecord{Topic: "misc", Partition: 0, Offset: 40, Timestamp: now})
	offsets["misc0"]++
	f.reasons["empty_record"]++
	for i := range n {
		rec, want := goodRecord(i)
		f.good[want["event_id"].(string)] = true
		switch i % 3 {
		case 0: // JSON on a mapped topic, without _dataset: the topic's dataset
			add("clicks", int32(i%2), []byte(strings.Replace(rec, `"_dataset":"user_events",`, "", 1)))
		case 1: // Avro in the wire format
			v, err := kafkawire.Encode(reg["user_events"], 1, []byte(rec))
			if err != nil {
				t.Fatal(err)
			}
			add("clicks", int32(i%2), v)
		case 2: // JSON on a topic mapped to customers, whose _dataset wins
			add("misc", 0, []byte(rec))
		}
	}
	// Lambda groups records by partition; the processor must not depend on the order.
	recs := f.batch.Records
	for i := range recs {
		j := (i * 7919) % len(recs)
		recs[i], recs[j] = recs[j], recs[i]
	}
	return f
}

func (l lake) kafkaProcessor(t *testing.T) *ingest.Processor {
	p := l.processor(t)
	reg := mustRegistry(t)
	var err error
	if p.Kafka.Topics, err = ingest.ParseTopics(`{"clicks":"user_events","misc":"customers"}`, reg); err != nil {
		t.Fatal(err)
	}
	if p.Kafka.Schemas, err = kafkawire.ParseRegistry(`{"1":"user_events"}`, reg); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkKafka verifies every good record is in the cleansed zone exactly once, every other in
// quarantine with its reason and position, and every object's provenance names its topic,
// partition and offsets.
func checkKafka(t *testing.T, l lake, f kafkaFixture) {
	t.Helper()
	seen := map[string]int{}
	for key, body := range contents(t, l.cleansed) {
		if strings.HasPrefix(key, provenance.SidecarPrefix) {
			continue
		}
		rows, err := parquetfile.ReadBytes(body)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		for _, row := range rows {
			seen[row["event_id"].(string)]++
		}
	}
	for id := range f.good {
		if seen[id] != 1 {
			t.Errorf("record %s is in the cleansed zone %d times", id, seen[id])
		}
	}
	if len(seen) != len(f.good) {
		t.Errorf("%d distinct records in cleansed, want %d", len(seen), len(f.good))
	}
	reasons := map[string]int{}
	for _, body := range contents(t, l.quarantine) {
		entries, err := quarantine.Decode(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			reasons[e.Reason]++
			if e.Source.Kind != "kafka" || e.Source.Topic == "" || e.Source.Partition == nil || e.Source.Offset == nil || e.Detail == "" {
				t.Errorf("entry without its reason or position: %+v", e)
			}
			if e.Reason == string(kafkawire.UnknownSchemaID) && !bytes.Equal(e.Original, kafkawire.Append(nil, 99, []byte{2, 4})) {
				t.Errorf("the unknown schema's record is kept as %q, not as received", e.Original)
			}
		}
	}
	if fmt.Sprint(reasons) != fmt.Sprint(f.reasons) {
		t.Errorf("quarantined %v, want %v", reasons, f.reasons)
	}
	for key, p := range heads(t, l) {
		in := p.Inputs[0]
		// <topic>-<partition>-<first offset, 20 digits>
		first, _ := strconv.ParseInt(in.First, 10, 64)
		last, _ := strconv.ParseInt(in.Last, 10, 64)
		name := fmt.Sprintf("%s-%s-%020d", in.Topic, in.Shard, first)
		if in.Topic == "" || in.Cluster != "b-1.kafka:9092" || in.Stream != "" || !strings.Contains(key, name) || first < 40 || first > last || in.Rows != p.Rows {
			t.Errorf("%s: provenance input %+v does not name its topic, partition and offsets", key, in)
		}
	}
}

// heads reads the provenance of every object in both zones.
func heads(t *testing.T, l lake) map[string]*provenance.Record {
	out := map[string]*provenance.Record{}
	for _, s := range []objectstore.Store{l.cleansed, l.quarantine} {
		infos, err := s.List(runCtx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range infos {
			if strings.HasPrefix(in.Key, provenance.SidecarPrefix) {
				continue
			}
			head, err := s.Head(runCtx, in.Key)
			if err != nil {
				t.Fatal(err)
			}
			p, err := provenance.Of(runCtx, s, in.Key, head.Metadata)
			if err != nil {
				t.Fatalf("%s: %v", in.Key, err)
			}
			out[s.Bucket()+"/"+in.Key] = p
		}
	}
	return out
}

func TestKafkaBatchLandsEveryRecordOnce(t *testing.T) {
	l := newLake(t)
	f := kafkaBatch(t, 240)
	res, err := l.kafkaProcessor(t).ProcessKafka(runCtx, f.batch)
	if err != nil {
		t.Fatal(err)
	}
	if res.In != len(f.batch.Records) || res.Written != len(f.good) || res.Quarantined != 3 || len(res.Failed) != 0 {
		t.Fatalf("in %d written %d quarantined %d failed %d; want %d %d 3 0", res.In, res.Written, res.Quarantined, len(res.Failed), len(f.batch.Records), len(f.good))
	}
	if res.Datasets["user_events"] != len(f.good) {
		t.Fatalf("datasets %v: the misc topic's records name user_events, which wins over the topic's customers", res.Datasets)
	}
	checkKafka(t, l, f)
}

// A write that fails fails the whole batch (Kafka has no partial batch response). Lambda then
// retries the same batch, or, with more records waiting, a longer one from the same offsets:
// either way the lake ends as one clean run leaves it, byte for byte, nothing doubled or lost.
func TestKafkaFailedBatchRetriedWhole(t *testing.T) {
	f := kafkaBatch(t, 240)
	clean := newLake(t)
	if _, err := clean.kafkaProcessor(t).ProcessKafka(runCtx, f.batch); err != nil {
		t.Fatal(err)
	}

	l := newLake(t)
	p := l.kafkaProcessor(t)
	// Fail every write of partition 1 of clicks from the middle of the batch on.
	l.proxy.FailWhen(func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "clicks-1-") && strings.Contains(r.URL.Path, "/hr=11/")
	})
	res, err := p.ProcessKafka(runCtx, f.batch)
	if !errors.Is(err, ingest.ErrRetryBatch) || len(res.Failed) == 0 || l.proxy.Fails == 0 {
		t.Fatalf("err %v, %d failed, %d writes failed: want the batch failed for a retry", err, len(res.Failed), l.proxy.Fails)
	}
	if res.In != res.Written+res.Quarantined+len(res.Failed) {
		t.Fatalf("unaccounted: %+v", res)
	}
	l.proxy.FailWhen(nil)
	if _, err := p.ProcessKafka(runCtx, f.batch); err != nil {
		t.Fatal(err)
	}
	want, got := contents(t, clean.cleansed), contents(t, l.cleansed)
	wantQ, gotQ := contents(t, clean.quarantine), contents(t, l.quarantine)
	if len(got) != len(want) || len(gotQ) != len(wantQ) {
		t.Fatalf("%d+%d objects after the retry, a clean run writes %d+%d", len(got), len(gotQ), len(want), len(wantQ))
	}
	for k, b := range want {
		if !bytes.Equal(got[k], b) {
			t.Errorf("%s differs from a clean run's", k)
		}
	}
	checkKafka(t, l, f)

	// A longer retry (more records arrived on every partition) still doubles nothing.
	more := kafkaBatch(t, 300)
	if _, err := p.ProcessKafka(runCtx, more.batch); err != nil {
		t.Fatal(err)
	}
	checkKafka(t, l, more)
}

func TestKafkaSettings(t *testing.T) {
	reg := mustRegistry(t)
	for _, bad := range []string{`["clicks"]`, `{"clicks":"orders"}`, `{"":"customers"}`} {
		if _, err := ingest.ParseTopics(bad, reg); err == nil {
			t.Errorf("topic map %s accepted", bad)
		}
	}
	m, err := ingest.ParseTopics("", reg)
	if err != nil || len(m) != 0 {
		t.Fatalf("empty map: %v %v", m, err)
	}
}

// A topic whose dataset is a change stream carries Debezium change events: each lands in the
// cleansed zone as a row with its operation and the source's position, a delete as the row it
// removed; tombstones and what is not a change are quarantined with their reason.
func TestKafkaChangeEvents(t *testing.T) {
	l := newLake(t)
	p, cs := changeStreamProcessor(t, l, "dbserver1.inventory.customers")
	ts := now.Add(-time.Hour).UnixMilli()
	change := func(op, before, after string, lsn int) string {
		return fmt.Sprintf(`{"schema":{"type":"struct"},"payload":{"before":%s,"after":%s,"op":%q,"ts_ms":%d,`+
			`"source":{"connector":"postgresql","db":"inventory","schema":"public","table":"customers","ts_ms":%d,"lsn":%d}}}`,
			before, after, op, ts+5, ts, lsn)
	}
	row := func(id int, name string) string {
		return fmt.Sprintf(`{"id":%d,"first_name":%q,"last_name":"K","email":null}`, id, name)
	}
	values := []string{
		change("r", "null", row(1, "Anne"), 100),
		change("c", "null", row(2, "Bob"), 200),
		change("u", row(2, "Bob"), row(2, "Robert"), 300),
		change("d", row(1, "Anne"), "null", 400),
		"", // the tombstone after the delete
		`{"op":"t","source":{"lsn":500}}`,
	}
	var batch ingest.KafkaBatch
	for i, v := range values {
		batch.Records = append(batch.Records, ingest.KafkaRecord{Topic: "dbserver1.inventory.customers", Offset: int64(i),
			Timestamp: now, Value: base64.StdEncoding.EncodeToString([]byte(v))})
	}
	res, err := p.ProcessKafka(runCtx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 4 || res.Quarantined != 2 || res.Reasons["cdc_tombstone"] != 1 || res.Reasons["cdc_unsupported_op"] != 1 {
		t.Fatalf("result %+v: want 4 changes written, the tombstone and the truncate quarantined", res)
	}
	var got []string
	for key, body := range contents(t, l.cleansed) {
		if !strings.HasPrefix(key, cs.Name+"/") {
			t.Errorf("%s: not under %s/", key, cs.Name)
		}
		rows, err := parquetfile.ReadBytes(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			got = append(got, fmt.Sprintf("%v %v %v %v", r["cdc_position"], r["cdc_op"], r["id"], r["first_name"]))
		}
	}
	sort.Strings(got)
	want := []string{"00000000000000000100 r 1 Anne", "00000000000000000200 c 2 Bob", "00000000000000000300 u 2 Robert", "00000000000000000400 d 1 Anne"}
	if !slices.Equal(got, want) {
		t.Errorf("cleansed rows %q, want %q", got, want)
	}
}

// The cleansed zone keeps every change with what is needed to rebuild the source table: after
// thousands of random inserts, updates and deletes from the simulated source (a model table),
// delivered at least once (whole batches replayed, and redeliveries from earlier offsets), the
// latest change of each key by source position, deletes removed, is the model table row for row.
func TestChangeStreamRebuildsTheModelTable(t *testing.T) {
	l := newLake(t)
	const topic = "dbserver1.public.customers"
	p, _ := changeStreamProcessor(t, l, topic)

	sim := cdc.NewSimulator(7, now.Add(-2*time.Hour))
	var log [3][]ingest.KafkaRecord // per partition, as Kafka keeps it: a key's changes in one partition, in order
	changes, tombstones := 0, 0
	for i := range 3000 {
		sim.Wrapped = i%2 == 0
		for _, e := range sim.Next() {
			part := int32(crc32.ChecksumIEEE(e.Key) % 3)
			log[part] = append(log[part], ingest.KafkaRecord{Topic: topic, Partition: part, Offset: int64(len(log[part])),
				Timestamp: now, Value: base64.StdEncoding.EncodeToString(e.Value)})
			if e.Value == nil {
				tombstones++
			} else {
				changes++
			}
		}
	}
	// Deliver each partition in batches of 150, every third batch twice, and every fifth one
	// again from 40 offsets back (a consumer that crashed before committing).
	for part := range log {
		recs := log[part]
		for n, start := 0, 0; start < len(recs); n, start = n+1, start+150 {
			end := min(start+150, len(recs))
			deliver := [][]ingest.KafkaRecord{recs[start:end]}
			if n%3 == 0 {
				deliver = append(deliver, recs[start:end])
			}
			if n%5 == 4 {
				deliver = append(deliver, recs[max(0, start-40):end])
			}
			for _, batch := range deliver {
				res, err := p.ProcessKafka(runCtx, ingest.KafkaBatch{Records: batch})
				if err != nil || res.In != res.Written+res.Quarantined || res.Quarantined != res.Reasons["cdc_tombstone"] {
					t.Fatalf("batch %d of partition %d: %v %+v", n, part, err, res)
				}
			}
		}
	}

	type change struct {
		pos, op string
		row     map[string]any
	}
	latest := map[int64]change{}
	rows := 0
	for key, body := range contents(t, l.cleansed) {
		if strings.HasPrefix(key, provenance.SidecarPrefix) {
			continue
		}
		got, err := parquetfile.ReadBytes(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			rows++
			id := r["id"].(int64)
			c := change{pos: r["cdc_position"].(string), op: r["cdc_op"].(string), row: r}
			if prev, ok := latest[id]; !ok || c.pos > prev.pos {
				latest[id] = c
			} else if c.pos == prev.pos && fmt.Sprint(c.row) != fmt.Sprint(prev.row) {
				t.Fatalf("two different changes of id %d at position %s", id, c.pos)
			}
		}
	}
	if rows < changes {
		t.Fatalf("%d rows in cleansed for %d changes: changes were lost", rows, changes)
	}
	model := sim.Table()
	rebuilt := 0
	for id, c := range latest {
		if c.op == "d" {
			if _, ok := model[id]; ok {
				t.Errorf("id %d deleted in cleansed, present in the model", id)
			}
			continue
		}
		rebuilt++
		m, ok := model[id]
		if !ok {
			t.Errorf("id %d in cleansed, deleted in the model", id)
			continue
		}
		email := ""
		if m.Email != nil {
			email = *m.Email
		}
		got := fmt.Sprint(c.row["first_name"], c.row["last_name"], c.row["email"])
		if want := fmt.Sprint(m.FirstName, m.LastName, map[bool]any{true: email, false: nil}[m.Email != nil]); got != want {
			t.Errorf("id %d: %s, the model has %s", id, got, want)
		}
	}
	if rebuilt != len(model) || len(model) < 100 || tombstones < 300 {
		t.Errorf("rebuilt %d rows, the model has %d (%d changes, %d tombstones)", rebuilt, len(model), changes, tombstones)
	}
}

// changeStreamProcessor is l's processor with the change stream of shared/cdc's tests as the
// dataset of topic.
func changeStreamProcessor(t *testing.T, l lake, topic string) (*ingest.Processor, *contract.Contract) {
	t.Helper()
	p := l.processor(t)
	cs := cdctest.Contract(t)
	p.Contracts = maps.Clone(p.Contracts)
	p.Contracts[cs.Name] = cs
	p.Kafka.Topics = map[string]string{topic: cs.Name}
	return p, cs
}
