package filedrop_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/s3fault"
	"github.com/sluicelake/sluice/shared/filedrop"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
)

// TestStoreFailureIsRetriedNotQuarantined: when the store fails part-way through a file, the
// file is not taken for a bad one: Validate returns the error for the trigger to retry, and the
// retry rewrites the same objects, so nothing is lost or doubled.
func TestStoreFailureIsRetriedNotQuarantined(t *testing.T) {
	client, endpoint := s3test.StartGofakes3(t)
	proxy, err := s3fault.Start(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	faulty := s3test.NewClient(proxy.URL, s3test.AccessKey, s3test.SecretKey)
	reg, _ := events.Registry()
	raw, cleansed, quar := s3test.CreateBucket(t, client, "raw"), s3test.CreateBucket(t, client, "cleansed"), s3test.CreateBucket(t, client, "quarantine")
	v := &filedrop.Validator{Contracts: reg, ChunkRows: 100, Raw: s3store.New(faulty, raw),
		Cleansed: s3store.New(faulty, cleansed), Quarantine: s3store.New(faulty, quar)}
	ctx := context.Background()
	recs := generate(t, "user_events", 600, 0.05)
	key := "landing/user_events/f.jsonl"
	if _, err := v.Raw.Put(ctx, key, jsonLines(recs), objectstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	puts := 0
	proxy.FailWhen(func(r *http.Request) bool {
		if r.Method != http.MethodPut || !strings.HasPrefix(r.URL.Path, "/"+cleansed+"/") {
			return false
		}
		puts++
		return puts > 3
	})
	if _, err := v.Validate(ctx, key, ""); err == nil {
		t.Fatal("a failing store went unnoticed")
	}
	q, _ := s3store.New(client, quar).List(ctx, "")
	for _, o := range q {
		if strings.Contains(o.Key, "-file") {
			t.Fatalf("the file was quarantined whole for a store failure: %s", o.Key)
		}
	}
	proxy.FailWhen(nil)
	rep, err := v.Validate(ctx, key, "")
	if err != nil {
		t.Fatal(err)
	}
	l := &lake{v: v, raw: s3store.New(client, raw), cleansed: s3store.New(client, cleansed), quarantined: s3store.New(client, quar)}
	c := l.contents(t, rep) // also checks that no stray object was left in the cleansed zone
	accounted(t, rep, c, len(recs))
	if rep.Quarantined != 30 {
		t.Fatalf("%d quarantined, want 30", rep.Quarantined)
	}
}
