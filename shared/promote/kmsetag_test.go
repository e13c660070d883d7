package promote_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/promote"
)

// kmsETags is a real store seen as through an SSE-KMS bucket: every ETag it hands out is 32
// hex digits that are not the MD5 of the bytes (as S3's are with SSE-KMS), consistent across
// Put, Get, Head and List, and mapped back for conditional requests. It counts data writes.
type kmsETags struct {
	objectstore.Store
	mu      sync.Mutex
	real    map[string]string // disguised ETag → the store's
	parquet int               // Parquet files written
}

func newKMSETags(s objectstore.Store) *kmsETags {
	return &kmsETags{Store: s, real: map[string]string{}}
}

func (k *kmsETags) disguise(etag string) string {
	if etag == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("kms\x00" + etag))
	d := `"` + hex.EncodeToString(sum[:16]) + `"`
	k.mu.Lock()
	k.real[d] = etag
	k.mu.Unlock()
	return d
}

func (k *kmsETags) reveal(etag string) string {
	if etag == "" {
		return ""
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if r, ok := k.real[`"`+strings.Trim(etag, `"`)+`"`]; ok {
		return r
	}
	return etag
}

func (k *kmsETags) Put(ctx context.Context, key string, body []byte, opts objectstore.PutOptions) (objectstore.Info, error) {
	opts.IfMatch = k.reveal(opts.IfMatch)
	info, err := k.Store.Put(ctx, key, body, opts)
	if err == nil && strings.HasSuffix(key, ".parquet") {
		k.mu.Lock()
		k.parquet++
		k.mu.Unlock()
	}
	info.ETag = k.disguise(info.ETag)
	return info, err
}

func (k *kmsETags) Get(ctx context.Context, key string) (io.ReadCloser, objectstore.Info, error) {
	rc, info, err := k.Store.Get(ctx, key)
	info.ETag = k.disguise(info.ETag)
	return rc, info, err
}

func (k *kmsETags) Head(ctx context.Context, key string) (objectstore.Info, error) {
	info, err := k.Store.Head(ctx, key)
	info.ETag = k.disguise(info.ETag)
	return info, err
}

func (k *kmsETags) List(ctx context.Context, prefix string) ([]objectstore.Info, error) {
	infos, err := k.Store.List(ctx, prefix)
	for i := range infos {
		infos[i].ETag = k.disguise(infos[i].ETag)
	}
	return infos, err
}

func (k *kmsETags) DeleteIfMatch(ctx context.Context, key, etag string) error {
	return k.Store.(objectstore.ConditionalDeleter).DeleteIfMatch(ctx, key, k.reveal(etag))
}

func (k *kmsETags) writes() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.parquet
}

// On an SSE-KMS bucket no ETag is an MD5: a replayed promotion must still find the curated
// files unchanged (by the hash promote stores with each) and write no new versions, which
// would otherwise each become a new lineage event.
func TestReplayOnAKMSBucketRewritesNothing(t *testing.T) {
	for _, recompute := range []bool{false, true} {
		name := "incremental"
		if recompute {
			name = "recompute"
		}
		t.Run(name, func(t *testing.T) {
			p, cleansed, real := lake(t)
			curated := newKMSETags(real)
			p.Curated = curated
			ctx := context.Background()
			putCleansed(t, cleansed, "a.parquet", customer{1, 1, "a", ""}, customer{2, 1, "b", ""})
			if _, err := p.Promote(ctx, "customers", part); err != nil {
				t.Fatal(err)
			}
			first := curated.writes()
			if first == 0 {
				t.Fatal("the first promotion wrote no curated file")
			}
			_, before := curatedRows(t, real)
			// A replay: the same rows again under another name.
			putCleansed(t, cleansed, "a-replayed.parquet", customer{1, 1, "a", ""}, customer{2, 1, "b", ""})
			if recompute {
				// A partition without its manifest is recomputed from every cleansed file.
				if err := real.Delete(ctx, promote.ManifestKey("customers", part)); err != nil {
					t.Fatal(err)
				}
			}
			res, err := p.Promote(ctx, "customers", part)
			if err != nil {
				t.Fatal(err)
			}
			if res.Recomputed != recompute {
				t.Fatalf("recomputed %v, want %v", res.Recomputed, recompute)
			}
			if n := curated.writes() - first; n != 0 || res.Unchanged != len(before) {
				t.Fatalf("the replay wrote %d curated files and left %d of %d unchanged; want none written", n, res.Unchanged, len(before))
			}
			if _, after := curatedRows(t, real); len(after) != len(before) || after[0].ETag != before[0].ETag {
				t.Fatalf("curated files changed: %v, was %v", after, before)
			}
		})
	}
}
