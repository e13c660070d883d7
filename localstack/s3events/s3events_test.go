package s3events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/localstack/s3events"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
)

func TestObjectsCreatedThroughTheTapAreAnnounced(t *testing.T) {
	_, endpoint := s3test.StartGofakes3(t)
	direct := s3test.NewClient(endpoint, s3test.AccessKey, s3test.SecretKey)
	dlq := t.TempDir()
	tap, err := s3events.Start(endpoint, s3events.Config{DeadLetterDir: dlq, Backoff: time.Millisecond,
		Head: func(ctx context.Context, bucket, key string) (int64, string, error) {
			out, err := direct.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
			if err != nil {
				return 0, "", err
			}
			return aws.ToInt64(out.ContentLength), strings.Trim(aws.ToString(out.ETag), `"`), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	client := s3test.NewClient(tap.Endpoint, s3test.AccessKey, s3test.SecretKey)
	bucket := s3test.CreateBucket(t, client, "raw")

	var mu sync.Mutex
	var got []events.S3Event
	tap.Subscribe(s3events.Subscription{Name: "validate", Bucket: bucket, Prefix: "landing/", Suffix: ".csv",
		Deliver: func(_ context.Context, payload []byte) error {
			var ev events.S3Event
			if err := json.Unmarshal(payload, &ev); err != nil {
				return err
			}
			mu.Lock()
			got = append(got, ev)
			mu.Unlock()
			return nil
		}})
	tap.Subscribe(s3events.Subscription{Name: "broken", Bucket: bucket, Prefix: "landing/broken/",
		Deliver: func(context.Context, []byte) error { return errors.New("function failed") }})

	ctx := context.Background()
	put := func(key, body string) {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(key), Body: bytes.NewReader([]byte(body))}); err != nil {
			t.Fatal(err)
		}
	}
	put("landing/user_events/day one.csv", "a,b\n1,2\n")
	put("landing/user_events/notes.txt", "not for validate")
	put("elsewhere/x.csv", "not under landing/")
	put("landing/broken/x.json", "{}")
	src := bucket + "/landing/user_events/day%20one.csv"
	if _, err := client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: &bucket, Key: aws.String("landing/user_events/copy.csv"), CopySource: aws.String(src)}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := tap.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d events, want 2 (the csv put and its copy)", len(got))
	}
	first := got[0].Records[0]
	key, _ := url.QueryUnescape(first.S3.Object.Key)
	if first.EventName != "ObjectCreated:Put" || first.S3.Bucket.Name != bucket || key != "landing/user_events/day one.csv" ||
		first.S3.Object.Size != 8 || first.S3.Object.ETag == "" || first.S3.Object.Key != "landing/user_events/day+one.csv" {
		t.Errorf("put event: %+v", first)
	}
	if c := got[1].Records[0]; c.EventName != "ObjectCreated:Copy" || c.S3.Object.Size != 8 {
		t.Errorf("copy event: %+v", c)
	}
	files, _ := os.ReadDir(dlq)
	if len(files) != 1 || tap.DeadLettered.Load() != 1 {
		t.Fatalf("%d dead letters (%d counted), want 1", len(files), tap.DeadLettered.Load())
	}
}

// A versioned bucket's events name the version written, as S3's do; lineage reads that
// version. An unversioned bucket's name none.
func TestEventsNameTheVersionInVersionedBuckets(t *testing.T) {
	_, endpoint := s3test.StartMoto(t)
	tap, err := s3events.Start(endpoint, s3events.Config{DeadLetterDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	client := s3test.NewClient(tap.Endpoint, s3test.AccessKey, s3test.SecretKey)
	versioned, plain := s3test.CreateVersionedBucket(t, client, "curated"), s3test.CreateBucket(t, client, "quarantine")
	var mu sync.Mutex
	got := map[string]string{}
	for _, b := range []string{versioned, plain} {
		tap.Subscribe(s3events.Subscription{Name: b, Bucket: b, Deliver: func(_ context.Context, payload []byte) error {
			var ev events.S3Event
			if err := json.Unmarshal(payload, &ev); err != nil {
				return err
			}
			mu.Lock()
			got[b] = ev.Records[0].S3.Object.VersionID
			mu.Unlock()
			return nil
		}})
	}
	ctx := context.Background()
	out, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &versioned, Key: aws.String("k"), Body: bytes.NewReader([]byte("x"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &plain, Key: aws.String("k"), Body: bytes.NewReader([]byte("x"))}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := tap.WaitIdle(wctx); err != nil {
		t.Fatal(err)
	}
	if got[versioned] == "" || got[versioned] != aws.ToString(out.VersionId) {
		t.Errorf("versioned bucket's event names version %q, want %q", got[versioned], aws.ToString(out.VersionId))
	}
	if v, ok := got[plain]; !ok || v != "" {
		t.Errorf("unversioned bucket's event: delivered %v, version %q; want delivered without a version", ok, v)
	}
}
