package collect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/kinesislocal"
	"github.com/sluicelake/sluice/shared/collect"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/streammap"
	"github.com/sluicelake/sluice/shared/streamput"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func userEvent(i int) string {
	return fmt.Sprintf(`{"event_id":"00000000-0000-4000-8000-%012d","user_id":"u_%d","event_type":"click","timestamp":"2026-11-23T11:%02d:00Z"}`, i, i, i%60)
}

func customer(i int) string {
	return fmt.Sprintf(`{"uuid":"10000000-0000-4000-8000-%012d","event_date":"2026-11-23T10:00:00Z","status":"Active","name":"Ann","last_name":"Lee","email":"a%d@example.com"}`, i, i)
}

func service(t testing.TB, api streamput.API, datasetStreams map[string]string, shared string) *collect.Service {
	t.Helper()
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	m, err := streammap.New(datasetStreams, shared)
	if err != nil {
		t.Fatal(err)
	}
	return &collect.Service{Contracts: reg, Streams: m, Kinesis: api,
		Options: record.Options{Now: func() time.Time { return now }},
		Put:     streamput.Config{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}}
}

func serve(t *testing.T, s *collect.Service, path, body string) (int, collect.Answer) {
	t.Helper()
	resp := s.Serve(context.Background(), collect.Request{Method: "POST", Path: path, Body: []byte(body)})
	var a collect.Answer
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		t.Fatalf("answer %s: %v", resp.Body, err)
	}
	return resp.Status, a
}

// readStream drains every shard of a stream from its start, by sequence number.
func readStream(t *testing.T, c *kinesis.Client, stream string) map[string]types.Record {
	t.Helper()
	ctx := context.Background()
	shards, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]types.Record{}
	for _, sh := range shards.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator, Limit: aws.Int32(10000)})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got.Records {
			out[aws.ToString(r.SequenceNumber)] = r
		}
	}
	return out
}

// TestCollectToKinesisLocal posts records to the service writing to kinesis-local: valid
// records are on their dataset's stream with `_dataset` set where the stream is shared,
// rejected ones are answered with code, field and detail, and the answer keeps the order.
func TestCollectToKinesisLocal(t *testing.T) {
	srv := kinesislocal.ForTest(t)
	client := srv.Client()
	ctx := context.Background()
	for _, s := range []string{"sluice-events", "sluice-customers"} {
		if err := kinesislocal.CreateStream(ctx, client, s, 2); err != nil {
			t.Fatal(err)
		}
	}
	s := service(t, client, map[string]string{"customers": "sluice-customers"}, "sluice-events")

	// user_events has no stream of its own: its records go to the shared stream.
	body := "[" + strings.Join([]string{
		userEvent(1),
		`{"event_id":"00000000-0000-4000-8000-000000000002","user_id":"u_2","event_type":"click"}`,
		`{"_dataset":"user_events",` + userEvent(3)[1:],
		`{"_dataset":"customers",` + customer(4)[1:],
		`"not an object"`,
		strings.Replace(userEvent(5), `"click"`, `"teleport"`, 1),
	}, ",\n") + "]"
	status, a := serve(t, s, "/events/user_events", body)
	if status != 200 || a.FailedRecordCount != 4 || len(a.Records) != 6 {
		t.Fatalf("status %d, answer %+v", status, a)
	}
	want := []struct{ code, field string }{
		{"", ""}, {"missing_field", "timestamp"}, {"", ""}, {collect.DatasetMismatch, "_dataset"}, {"not_an_object", ""}, {"unknown_enum_value", "event_type"},
	}
	for i, w := range want {
		r := a.Records[i]
		if r.ErrorCode != w.code || r.Field != w.field {
			t.Errorf("record %d: %+v, want code %q field %q", i, r, w.code, w.field)
		}
		if w.code == "" && (r.SequenceNumber == "" || !strings.HasPrefix(r.ShardId, "shardId-") || r.Dataset != "user_events") {
			t.Errorf("record %d accepted without a position: %+v", i, r)
		}
		if w.code != "" && (r.ErrorMessage == "" || r.SequenceNumber != "" || r.Retryable) {
			t.Errorf("record %d: %+v", i, r)
		}
	}

	shared := readStream(t, client, "sluice-events")
	if len(shared) != 2 {
		t.Fatalf("%d records on the shared stream, want 2", len(shared))
	}
	for _, i := range []int{0, 2} {
		r, ok := shared[a.Records[i].SequenceNumber]
		if !ok {
			t.Fatalf("record %d (sequence %s) is not on the shared stream", i, a.Records[i].SequenceNumber)
		}
		var got map[string]any
		if err := json.Unmarshal(r.Data, &got); err != nil {
			t.Fatalf("record %d on the stream: %s: %v", i, r.Data, err)
		}
		if got["_dataset"] != "user_events" || got["user_id"] != fmt.Sprintf("u_%d", i+1) {
			t.Errorf("record %d on the stream: %s", i, r.Data)
		}
		// The contract's key is the partition key: one entity stays on one shard, in order.
		if aws.ToString(r.PartitionKey) != fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1) {
			t.Errorf("record %d: partition key %q", i, aws.ToString(r.PartitionKey))
		}
	}
	// What went on the stream passes ingest's own validation as the dataset it was posted to.
	reg, _ := events.Registry()
	b := record.NewBatch(reg, record.Options{Now: func() time.Time { return now }})
	for seq, r := range shared {
		if ds, rej := b.Add(r.Data, 0); rej != nil || ds != "user_events" {
			t.Errorf("record %s as ingest reads it: %s %v", seq, ds, rej)
		}
	}

	// POST /events: each record names its dataset; customers has a stream of its own.
	status, a = serve(t, s, "/prod/events", customer(7)+"\n\n"+userEvent(8)+"\r\n"+customer(9)+"\n"+userEvent(10))
	if status != 200 || a.FailedRecordCount != 4 {
		t.Fatalf("without _dataset: %d %+v", status, a)
	}
	if a.Records[0].ErrorCode != string(record.NoDataset) || !strings.Contains(a.Records[0].ErrorMessage, "/events/{dataset}") {
		t.Errorf("record without _dataset: %+v", a.Records[0])
	}
	status, a = serve(t, s, "/prod/events", `{"_dataset":"customers",`+customer(7)[1:]+"\n"+`{"_dataset":"user_events",`+userEvent(8)[1:]+"\n"+`{"_dataset":"orders"}`)
	if status != 200 || a.FailedRecordCount != 1 || a.Records[2].ErrorCode != string(record.UnknownDataset) {
		t.Fatalf("POST /events: %d %+v", status, a)
	}
	own := readStream(t, client, "sluice-customers")
	if r, ok := own[a.Records[0].SequenceNumber]; !ok || !bytes.Contains(r.Data, []byte(`"a7@example.com"`)) {
		t.Errorf("customer record not on its stream: %+v", own)
	}
	if _, ok := readStream(t, client, "sluice-events")[a.Records[1].SequenceNumber]; !ok {
		t.Errorf("user_events record not on the shared stream")
	}
}

// refusing sits in front of kinesis-local and refuses chosen records on their first attempts
// the way a hot shard does, passing the rest through. Kinesis stand-ins never throttle, so this
// one branch needs a double; the accepted records still go to the real stream.
type refusing struct {
	next   streamput.API
	mu     sync.Mutex
	refuse map[string]int // substring of the data -> refusals left
	calls  []int
}

func (r *refusing) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opt ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	r.mu.Lock()
	r.calls = append(r.calls, len(in.Records))
	refused := make([]bool, len(in.Records))
	pass := &kinesis.PutRecordsInput{StreamName: in.StreamName, StreamARN: in.StreamARN}
	for i, e := range in.Records {
		for sub, left := range r.refuse {
			if left > 0 && bytes.Contains(e.Data, []byte(sub)) {
				r.refuse[sub]--
				refused[i] = true
			}
		}
		if !refused[i] {
			pass.Records = append(pass.Records, e)
		}
	}
	r.mu.Unlock()
	got := &kinesis.PutRecordsOutput{}
	if len(pass.Records) > 0 {
		var err error
		if got, err = r.next.PutRecords(ctx, pass, opt...); err != nil {
			return nil, err
		}
	}
	out := &kinesis.PutRecordsOutput{FailedRecordCount: aws.Int32(0)}
	k := 0
	for i := range in.Records {
		if refused[i] {
			out.Records = append(out.Records, types.PutRecordsResultEntry{ErrorCode: aws.String("ProvisionedThroughputExceededException"), ErrorMessage: aws.String("Rate exceeded for shard shardId-000000000000")})
			*out.FailedRecordCount++
			continue
		}
		out.Records = append(out.Records, got.Records[k])
		k++
	}
	return out, nil
}

func TestRefusedRecordsAreRetriedThenReported(t *testing.T) {
	srv := kinesislocal.ForTest(t)
	client := srv.Client()
	if err := kinesislocal.CreateStream(context.Background(), client, "sluice-events", 1); err != nil {
		t.Fatal(err)
	}
	proxy := &refusing{next: client, refuse: map[string]int{`"u_2"`: 2, `"u_4"`: 1000}}
	s := service(t, proxy, nil, "sluice-events")
	s.Put.MaxAttempts = 4
	status, a := serve(t, s, "/events/user_events", userEvent(1)+"\n"+userEvent(2)+"\n"+userEvent(3)+"\n"+userEvent(4))
	if status != 200 || a.FailedRecordCount != 1 {
		t.Fatalf("%d %+v", status, a)
	}
	// u_2 was refused twice and went in on the third attempt; u_4 never did.
	if fmt.Sprint(proxy.calls) != "[4 2 2 1]" {
		t.Errorf("calls carried %v records: only refused records are resent", proxy.calls)
	}
	for i, r := range a.Records {
		if i == 3 {
			if r.ErrorCode != "ProvisionedThroughputExceededException" || !r.Retryable {
				t.Errorf("record 3: %+v", r)
			}
			continue
		}
		if r.SequenceNumber == "" {
			t.Errorf("record %d: %+v", i, r)
		}
	}
	if got := readStream(t, client, "sluice-events"); len(got) != 3 {
		t.Errorf("%d records on the stream, want 3", len(got))
	}
}

type broken struct{}

func (broken) PutRecords(context.Context, *kinesis.PutRecordsInput, ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	return nil, errors.New("dial tcp 127.0.0.1:1: connection refused")
}

// The limits and the request errors need no stream: every one answers before a write.
func TestRequestErrors(t *testing.T) {
	s := service(t, broken{}, nil, "sluice-events")
	many := strings.Repeat(userEvent(1)+"\n", collect.MaxRecords+1)
	huge := `{"event_id":"` + strings.Repeat("x", collect.MaxBodyBytes) + `"}`
	for _, c := range []struct {
		method, path, body string
		status             int
		says               string
	}{
		{"POST", "/events/orders", userEvent(1), 404, `known datasets are customers, user_events`},
		{"POST", "/events/customers_changes", userEvent(1), 400, "customers_changes is a change stream: its events are its source database's changes, which Debezium writes to Kafka"},
		{"POST", "/queries", userEvent(1), 404, "no such route"},
		{"GET", "/events/user_events", "", 405, "only POST"},
		{"POST", "/events/user_events", "", 400, "the body is empty"},
		{"POST", "/events/user_events", "[]", 400, "empty"},
		{"POST", "/events/user_events", "hello", 400, "JSON array"},
		{"POST", "/events/user_events", "[" + userEvent(1) + ",", 400, "ends early"},
		{"POST", "/events/user_events", "[" + userEvent(1) + "] []", 400, "data after the JSON array"},
		{"POST", "/events/user_events", huge, 413, "over the limit of 4194304"},
		{"POST", "/events/user_events", many, 413, "501 records"},
		// Valid records, but the stream cannot be reached: our failure, a 5xx that says so.
		{"POST", "/events/user_events", userEvent(1), 503, "connection refused"},
	} {
		resp := s.Serve(context.Background(), collect.Request{Method: c.method, Path: c.path, Body: []byte(c.body)})
		if resp.Status != c.status || !bytes.Contains(resp.Body, []byte(c.says)) {
			t.Errorf("%s %s %.30q: %d %s, want %d saying %q", c.method, c.path, c.body, resp.Status, resp.Body, c.status, c.says)
		}
	}
	// A 503 still accounts for every record, so the caller knows which were invalid anyway.
	_, a := serve(t, s, "/events/user_events", userEvent(1)+"\n{}")
	if len(a.Records) != 2 || a.Records[0].ErrorCode != "CallFailed" || !a.Records[0].Retryable || a.Records[1].ErrorCode != "missing_field" {
		t.Errorf("503 answer %+v", a)
	}
}

// A record at Kinesis' limit once `_dataset` and the partition key are added is rejected on its
// own; a gzip'd line is refused, not unpacked.
func TestRecordLimits(t *testing.T) {
	s := service(t, broken{}, nil, "")
	pad := collect.MaxRecordBytes - len(userEvent(1)) - len(`,"properties":{"p":""}`) - 10
	over := strings.Replace(userEvent(1), `}`, `,"properties":{"p":"`+strings.Repeat("p", pad)+`"}}`, 1)
	_, a := serve(t, s, "/events/user_events", over+"\n"+"{\x1f\x8b")
	if a.Records[0].ErrorCode != string(record.TooLarge) || !strings.Contains(a.Records[0].ErrorMessage, "partition key") {
		t.Errorf("record over the limit with its dataset: %+v", a.Records[0])
	}
	_, a = serve(t, s, "/events/user_events", userEvent(1)+"\n\x1f\x8b\x08\x00")
	if a.Records[1].ErrorCode != collect.GzipRecord {
		t.Errorf("gzip line: %+v", a.Records[1])
	}
	// Without any stream for the dataset, the record says so instead of vanishing.
	_, a = serve(t, s, "/events/user_events", userEvent(1))
	if a.Records[0].ErrorCode != collect.NoStream {
		t.Errorf("no stream: %+v", a.Records[0])
	}
}

// TestSenderThroughHTTP sends records with the Client over HTTP to the service on kinesis-local:
// calls are filled to the limit, rejected records counted by code, and records the stream
// refused after the service's own attempts are sent again by the Sender.
func TestSenderThroughHTTP(t *testing.T) {
	srv := kinesislocal.ForTest(t)
	client := srv.Client()
	if err := kinesislocal.CreateStream(context.Background(), client, "sluice-events", 2); err != nil {
		t.Fatal(err)
	}
	proxy := &refusing{next: client, refuse: map[string]int{`"u_7"`: 1, `"u_8"`: 1}}
	s := service(t, proxy, nil, "sluice-events")
	s.Put.MaxAttempts = 1 // the service gives up at once: the Sender's resend must do it
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		resp := s.Serve(r.Context(), collect.Request{Method: r.Method, Path: r.URL.Path, Body: body})
		w.WriteHeader(resp.Status)
		w.Write(resp.Body)
	}))
	defer api.Close()

	snd := &collect.Sender{Client: &collect.Client{BaseURL: api.URL}, Dataset: "user_events"}
	for i := 0; i < 1100; i++ {
		rec := userEvent(i)
		if i%100 == 50 {
			rec = strings.Replace(rec, `"click"`, `"teleport"`, 1)
		}
		if err := snd.Add(context.Background(), []byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	if err := snd.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := snd.Stats()
	// 1100 records: calls of 500, 500, 100, and one resend of the two refused records.
	if st.Accepted != 1089 || st.Rejected != 11 || st.Failed != 0 || st.Resent != 2 || st.Calls != 4 || st.Codes["unknown_enum_value"] != 11 {
		t.Errorf("stats %+v", st)
	}
	if got := len(readStream(t, client, "sluice-events")); got != 1089 {
		t.Errorf("%d records on the stream, want 1089", got)
	}
	// A refused call is an error that carries the API's reason.
	_, err := (&collect.Client{BaseURL: api.URL}).Post(context.Background(), "orders", [][]byte{[]byte(`{}`)})
	var apiErr *collect.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || !strings.Contains(err.Error(), "known datasets") {
		t.Errorf("unknown dataset: %v", err)
	}
}
