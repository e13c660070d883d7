package kafkaesm_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	sluiceevents "github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/infra/bundle"
	"github.com/sluicelake/sluice/localstack/kafkaesm"
	"github.com/sluicelake/sluice/localstack/kafkalocal"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/localstack/s3fault"
	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/kafkawire"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/quarantine"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// ingestBinary builds functions/ingest once for the package's tests, as `make build` does.
func ingestBinary(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kafkaesm-ingest")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "bootstrap")
		buildErr = bundle.Build(context.Background(), "", runtime.GOARCH, binary, "../../functions/ingest")
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// produced is what a test put on the topics.
type produced struct {
	good map[string]bool // event_id or uuid of each good record
	bad  int             // records that belong in quarantine
	all  int
}

// produce puts fake user_events as JSON on clicks (3 partitions, keyed) and fake customers as
// Avro in the wire format on customers.cdc, with bad records among them, a value of a schema id
// nobody mapped, and a tombstone.
func produce(t *testing.T, b *kafkalocal.Broker, n int) produced {
	reg, _ := sluiceevents.Registry()
	p := produced{good: map[string]bool{}}
	var msgs []kafkalocal.Message
	gu, _ := fake.New(reg["user_events"], fake.Options{Seed: 21, BadShare: 0.1})
	for range n {
		r := gu.Next()
		msgs = append(msgs, kafkalocal.Message{Topic: "clicks", Key: []byte(r.PartitionKey), Value: r.Data})
		if r.Bad != "" {
			p.bad++
			continue
		}
		var v struct {
			EventID string `json:"event_id"`
		}
		_ = json.Unmarshal(r.Data, &v)
		p.good[v.EventID] = true
	}
	gc, _ := fake.New(reg["customers"], fake.Options{Seed: 22})
	for range n / 3 {
		r := gc.Next()
		v, err := kafkawire.Encode(reg["customers"], 7, r.Data)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafkalocal.Message{Topic: "customers.cdc", Key: []byte(r.PartitionKey), Value: v})
		var id struct {
			UUID string `json:"uuid"`
		}
		_ = json.Unmarshal(r.Data, &id)
		p.good[id.UUID] = true
	}
	msgs = append(msgs, kafkalocal.Message{Topic: "customers.cdc", Key: []byte("k"), Value: kafkawire.Append(nil, 8, []byte{0})},
		kafkalocal.Message{Topic: "customers.cdc", Key: []byte("k")})
	p.bad += 2
	p.all = len(msgs)
	if err := b.Produce(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	return p
}

type stand struct {
	broker              *kafkalocal.Broker
	client              *s3.Client
	cleansed, quarantin string
	proxy               *s3fault.Proxy
	fn                  *runtimeapi.Function
}

func start(t *testing.T) stand {
	b, err := kafkalocal.Start(map[string]int{"clicks": 3, "customers.cdc": 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	client, endpoint := s3test.StartGofakes3(t)
	proxy, err := s3fault.Start(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	s := stand{broker: b, client: client, proxy: proxy,
		cleansed: s3test.CreateBucket(t, client, "cleansed"), quarantin: s3test.CreateBucket(t, client, "quarantine")}
	s.fn, err = runtimeapi.Start(context.Background(), runtimeapi.Config{
		Name: "ingest", Binary: ingestBinary(t), MemorySize: 256, Timeout: 60 * time.Second,
		Env: []string{"AWS_ENDPOINT_URL_S3=" + proxy.URL, "AWS_ACCESS_KEY_ID=" + s3test.AccessKey,
			"AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey, "AWS_REGION=us-east-1", "SLUICE_TRACING=off",
			envvar.CleansedBucket + "=" + s.cleansed, envvar.QuarantineBucket + "=" + s.quarantin,
			envvar.KafkaTopics + `={"clicks":"user_events","customers.cdc":"customers"}`,
			envvar.KafkaSchemaIDs + `={"7":"customers"}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.fn.Close() })
	return s
}

// lake counts what landed: each good record's id in cleansed, quarantined records.
func (s stand) lake(t *testing.T) (ids map[string]int, quarantined int) {
	ids = map[string]int{}
	for _, key := range s3test.Keys(t, s.client, s.cleansed, "") {
		if strings.HasPrefix(key, provenance.SidecarPrefix) {
			continue
		}
		rows, err := parquetfile.ReadBytes(s3test.Read(t, s.client, s.cleansed, key))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			id, _ := r["event_id"].(string)
			if id == "" {
				id, _ = r["uuid"].(string)
			}
			ids[id]++
		}
	}
	for _, key := range s3test.Keys(t, s.client, s.quarantin, "") {
		entries, err := quarantine.Decode(bytes.NewReader(s3test.Read(t, s.client, s.quarantin, key)))
		if err != nil {
			t.Fatal(err)
		}
		quarantined += len(entries)
	}
	return ids, quarantined
}

// TestRetriedBatchesThroughTheBuiltBinary: a write fails in the middle of a batch, the function
// fails the batch, the mapping retries it whole, and the lake ends with every record exactly once.
func TestRetriedBatchesThroughTheBuiltBinary(t *testing.T) {
	s := start(t)
	p := produce(t, s.broker, 900)
	var mu sync.Mutex
	var m *kafkaesm.Mapping
	s.proxy.FailWhen(func(r *http.Request) bool {
		// Writes of clicks partition 1 fail until two invocations have failed: the other objects
		// of those batches are written, the batch is not, and the mapping retries it whole.
		mu.Lock()
		defer mu.Unlock()
		return m != nil && r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/clicks-1-") && m.Stats().FunctionErrors < 2
	})
	mu.Lock()
	m, err := kafkaesm.Start(context.Background(), s.fn, kafkaesm.Config{
		Brokers: s.broker.Addrs(), Topics: []string{"clicks", "customers.cdc"}, BatchSize: 200,
		MaximumBatchingWindow: 50 * time.Millisecond, MaximumRetryAttempts: kafkaesm.RetryForever,
		RetryBackoff: 10 * time.Millisecond, OnFailure: kafkaesm.DirDestination(t.TempDir()),
	})
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := m.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	st := m.Stats()
	if st.FunctionErrors < 2 || st.Retries < 2 || st.DLQRecords != 0 || st.Records != int64(p.all) {
		t.Errorf("stats %+v: want at least 2 function errors and retries, %d records, none given up", st, p.all)
	}
	ids, quarantined := s.lake(t)
	for id := range p.good {
		if ids[id] != 1 {
			t.Errorf("record %s is in the cleansed zone %d times", id, ids[id])
		}
	}
	if len(ids) != len(p.good) || quarantined != p.bad {
		t.Errorf("%d records in cleansed, %d quarantined; produced %d good, %d bad", len(ids), quarantined, len(p.good), p.bad)
	}
}

// TestPoisonBatchGoesToTheFailureFolder: a partition whose writes always fail exhausts the
// retries; its batches go to the on-failure folder with their records, the mapping moves on, and
// every record is in the lake or in a failure record (replaying one rewrites the same objects).
func TestPoisonBatchGoesToTheFailureFolder(t *testing.T) {
	s := start(t)
	p := produce(t, s.broker, 300)
	s.proxy.FailWhen(func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/customers.cdc-0-")
	})
	dir := t.TempDir()
	m, err := kafkaesm.Start(context.Background(), s.fn, kafkaesm.Config{
		Brokers: s.broker.Addrs(), Topics: []string{"clicks", "customers.cdc"}, BatchSize: 500,
		MaximumBatchingWindow: 50 * time.Millisecond, MaximumRetryAttempts: 1,
		RetryBackoff: 10 * time.Millisecond, OnFailure: kafkaesm.DirDestination(dir),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := m.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	failures, err := kafkaesm.ReadFailures(dir)
	if err != nil || len(failures) == 0 {
		t.Fatalf("%d failure records (%v): want the poison batches", len(failures), err)
	}
	inFailures := map[string]bool{}
	for _, f := range failures {
		if f.KafkaBatchInfo.RecordsInfo["customers.cdc-0"].FirstRecordOffset == "" || f.RequestContext.ApproximateInvokeCount != 2 {
			t.Errorf("failure record %+v does not locate the customers.cdc batch after 2 invocations", f.KafkaBatchInfo)
		}
		var ev events.KafkaEvent
		if err := json.Unmarshal(f.Payload, &ev); err != nil {
			t.Fatal(err)
		}
		for _, recs := range ev.Records {
			for _, r := range recs {
				inFailures[fmt.Sprintf("%s-%d@%d", r.Topic, r.Partition, r.Offset)] = true
				if r.Topic == "customers.cdc" {
					v, _ := base64.StdEncoding.DecodeString(r.Value)
					if len(v) > 0 && !kafkawire.IsWireFormat(v) {
						t.Errorf("failure record holds %q, not the record as produced", v)
					}
				}
			}
		}
	}
	ids, _ := s.lake(t)
	for id, n := range ids {
		if n != 1 {
			t.Errorf("record %s is in the cleansed zone %d times", id, n)
		}
	}
	customers := p.all - 300 // the customers.cdc records: 100 Avro, the unknown id, the tombstone
	got := 0
	for k := range inFailures {
		if strings.HasPrefix(k, "customers.cdc-0@") {
			got++
		}
	}
	if got != customers {
		t.Errorf("%d customers.cdc records in failure records, want all %d", got, customers)
	}
	if st := m.Stats(); st.DLQRecords < int64(customers) || st.Records+st.DLQRecords != int64(p.all) {
		t.Errorf("stats %+v: want %d records handled, the customers.cdc ones given up", st, p.all)
	}
}
