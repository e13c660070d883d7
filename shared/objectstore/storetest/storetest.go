// Package storetest is the conformance suite every objectstore.Store implementation must pass.
//
// An adapter's test calls Run with a constructor that returns a store over a fresh, empty
// bucket, and with the Options that declare what the backing server can do:
//
//	storetest.Run(t, func(t *testing.T) objectstore.Store { ... }, storetest.Options{ConditionalWrites: true})
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluicelake/sluice/shared/objectstore"
)

// Options declare an implementation's capabilities. The suite checks each declaration both
// ways: a capability declared is tested, and a capability not declared is probed so that a
// store which does enforce it fails with a request to declare it. Nothing is skipped silently.
type Options struct {
	// ConditionalWrites: the store enforces PutOptions.IfNoneMatch and IfMatch.
	ConditionalWrites bool
	// ConditionalDeletes: the store is an objectstore.ConditionalDeleter and the server
	// behind it enforces the ETag.
	ConditionalDeletes bool
	// NestedKeys: a key can exist together with keys that extend it as a path ("a" and
	// "a/b"), as in S3. Stores that map keys to files and directories cannot do this; the
	// lake's own keys never need it.
	NestedKeys bool
	// Versioning: newStore's buckets keep every version (S3 versioning enabled) and the
	// store is an objectstore.VersionReader that reads them. Stores that are VersionReaders
	// are tested on reads pinned to an ETag whatever this says.
	Versioning bool
}

// Run runs the suite. newStore must return a store over an empty bucket each time it is
// called (one per subtest) and arrange its own cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) objectstore.Store, opts Options) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s objectstore.Store)
	}{
		{"RoundTripBinary", testRoundTripBinary},
		{"RoundTripEmpty", testRoundTripEmpty},
		{"RoundTripLarge", testRoundTripLarge},
		{"MetadataAndContentType", testMetadataAndContentType},
		{"Overwrite", testOverwrite},
		{"Head", testHead},
		{"GetRange", testGetRange},
		{"ListPrefixes", testListPrefixes},
		{"ListKeyOrder", testListKeyOrder},
		{"ListPaginates", testListPaginates},
		{"Delete", testDelete},
		{"NotFound", testNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
	t.Run("ConditionalWrites", func(t *testing.T) {
		s := newStore(t)
		if opts.ConditionalWrites {
			testConditionalWrites(t, s)
			return
		}
		probeConditionalWritesUndeclared(t, s)
	})
	t.Run("ConditionalDeletes", func(t *testing.T) {
		s := newStore(t)
		cd, ok := s.(objectstore.ConditionalDeleter)
		if !opts.ConditionalDeletes || !ok {
			t.Skipf("NOT CONFORMANT: this store does not delete conditionally (ConditionalDeleter: %v); callers fall back", ok)
		}
		testConditionalDeletes(t, s, cd)
	})
	t.Run("ReadIfMatch", func(t *testing.T) {
		s := newStore(t)
		vr, ok := s.(objectstore.VersionReader)
		if !ok {
			probeNotAVersionReader(t, s)
			return
		}
		testReadIfMatch(t, s, vr)
	})
	t.Run("Versions", func(t *testing.T) {
		s := newStore(t)
		vr, ok := s.(objectstore.VersionReader)
		if opts.Versioning && ok {
			testVersions(t, s, vr)
			return
		}
		probeVersionsUndeclared(t, s, vr)
	})
	t.Run("NestedKeys", func(t *testing.T) {
		s := newStore(t)
		if opts.NestedKeys {
			testNestedKeys(t, s)
			return
		}
		probeNestedKeysUndeclared(t, s)
	})
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustPut(t *testing.T, s objectstore.Store, key string, body []byte, opts objectstore.PutOptions) objectstore.Info {
	t.Helper()
	info, err := s.Put(t.Context(), key, body, opts)
	if err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(body), err)
	}
	return info
}

func mustGet(t *testing.T, s objectstore.Store, key string) ([]byte, objectstore.Info) {
	t.Helper()
	rc, info, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read body: %v", key, err)
	}
	return b, info
}

func roundTrip(t *testing.T, s objectstore.Store, key string, body []byte) {
	t.Helper()
	put := mustPut(t, s, key, body, objectstore.PutOptions{})
	if put.Key != key || put.Size != int64(len(body)) {
		t.Errorf("Put returned key %q size %d, want %q size %d", put.Key, put.Size, key, len(body))
	}
	if put.ETag == "" {
		t.Errorf("Put returned no ETag; IfMatch needs one")
	}
	got, info := mustGet(t, s, key)
	if !bytes.Equal(got, body) {
		t.Fatalf("Get(%q) returned %d bytes that differ from the %d written", key, len(got), len(body))
	}
	if info.Size != int64(len(body)) {
		t.Errorf("Get(%q) Info.Size = %d, want %d", key, info.Size, len(body))
	}
	if info.ETag != put.ETag {
		t.Errorf("Get(%q) ETag %q differs from Put's %q", key, info.ETag, put.ETag)
	}
}

func testRoundTripBinary(t *testing.T, s objectstore.Store) {
	// Every byte value, including NUL, CR/LF and bytes that are not UTF-8.
	body := make([]byte, 0, 4096)
	for i := range 4096 {
		body = append(body, byte(i))
	}
	roundTrip(t, s, "raw/bin/all-bytes.bin", body)
	roundTrip(t, s, "raw/bin/random.bin", randomBytes(1, 100_003))
	// Keys with characters that need escaping in URLs.
	roundTrip(t, s, "raw/ds/dt=2026-11-23/hr=07/part 0+a=b&c.parquet", []byte("odd key"))
}

func testRoundTripEmpty(t *testing.T, s objectstore.Store) {
	roundTrip(t, s, "empty/zero-bytes", []byte{})
	info, err := s.Head(t.Context(), "empty/zero-bytes")
	if err != nil {
		t.Fatalf("Head of an empty object: %v", err)
	}
	if info.Size != 0 {
		t.Fatalf("empty object has size %d", info.Size)
	}
}

func testRoundTripLarge(t *testing.T, s objectstore.Store) {
	// Larger than the 8 MB part size multipart tools use, written in one Put.
	roundTrip(t, s, "large/9mb.bin", randomBytes(2, 9<<20+17))
}

func testMetadataAndContentType(t *testing.T, s objectstore.Store) {
	meta := map[string]string{"dataset": "user_events", "run-id": "01JD-42", "records": "10000"}
	put := mustPut(t, s, "meta/a.parquet", []byte("PAR1"), objectstore.PutOptions{
		ContentType: "application/vnd.apache.parquet",
		Metadata:    meta,
	})
	check := func(op string, info objectstore.Info) {
		t.Helper()
		if info.ContentType != "application/vnd.apache.parquet" {
			t.Errorf("%s ContentType = %q", op, info.ContentType)
		}
		for k, v := range meta {
			if info.Metadata[k] != v {
				t.Errorf("%s Metadata[%q] = %q, want %q (all: %v)", op, k, info.Metadata[k], v, info.Metadata)
			}
		}
		if len(info.Metadata) != len(meta) {
			t.Errorf("%s Metadata = %v, want exactly %v", op, info.Metadata, meta)
		}
	}
	check("Put", put)
	_, got := mustGet(t, s, "meta/a.parquet")
	check("Get", got)
	head, err := s.Head(t.Context(), "meta/a.parquet")
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	check("Head", head)
}

func testOverwrite(t *testing.T, s objectstore.Store) {
	first := mustPut(t, s, "over/k", []byte("first version"), objectstore.PutOptions{Metadata: map[string]string{"v": "1"}})
	second := mustPut(t, s, "over/k", []byte("second"), objectstore.PutOptions{Metadata: map[string]string{"v": "2"}})
	if first.ETag == second.ETag {
		t.Errorf("different contents got the same ETag %q", first.ETag)
	}
	got, info := mustGet(t, s, "over/k")
	if string(got) != "second" || info.Size != 6 || info.Metadata["v"] != "2" {
		t.Fatalf("after overwrite Get = %q size %d meta %v, want the second version", got, info.Size, info.Metadata)
	}
	list, err := s.List(t.Context(), "over/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(list) != 1 {
		t.Fatalf("overwrite left %d objects, want 1: %v", len(list), list)
	}
}

func testHead(t *testing.T, s objectstore.Store) {
	put := mustPut(t, s, "head/k", []byte("12345"), objectstore.PutOptions{})
	info, err := s.Head(t.Context(), "head/k")
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if info.Key != "head/k" || info.Size != 5 || info.ETag != put.ETag {
		t.Errorf("Head = %+v, want key head/k, size 5, ETag %q", info, put.ETag)
	}
	if info.LastModified.IsZero() {
		t.Errorf("Head returned no LastModified")
	}
}

func testGetRange(t *testing.T, s objectstore.Store) {
	body := randomBytes(3, 10_000)
	mustPut(t, s, "range/k", body, objectstore.PutOptions{})
	for _, r := range []struct{ off, n int64 }{
		{0, 4},       // magic
		{9_992, 8},   // footer length + magic, ends exactly at the end
		{1234, 4321}, // middle
		{0, 10_000},  // whole object
		{9_999, 1},   // last byte
		{5_000, 0},   // nothing
		{9_990, 100}, // runs past the end: the tail
	} {
		got, err := s.GetRange(t.Context(), "range/k", r.off, r.n)
		if err != nil {
			t.Errorf("GetRange(%d, %d): %v", r.off, r.n, err)
			continue
		}
		end := min(r.off+r.n, int64(len(body)))
		if !bytes.Equal(got, body[r.off:end]) {
			t.Errorf("GetRange(%d, %d) returned %d bytes that differ from body[%d:%d]", r.off, r.n, len(got), r.off, end)
		}
	}
	if _, err := s.GetRange(t.Context(), "range/missing", 0, 4); !errors.Is(err, objectstore.ErrNotFound) {
		t.Errorf("GetRange of a missing key: error %v does not wrap objectstore.ErrNotFound", err)
	}
}

func keysOf(infos []objectstore.Info) []string {
	out := make([]string, len(infos))
	for i, in := range infos {
		out[i] = in.Key
	}
	return out
}

func testListPrefixes(t *testing.T, s objectstore.Store) {
	keys := []string{
		"cleansed/customers/dt=2026-11-22/hr=23/a.parquet",
		"cleansed/user_events/dt=2026-11-23/hr=00/a.parquet",
		"cleansed/user_events/dt=2026-11-23/hr=01/a.parquet",
		"cleansed/user_events/dt=2026-11-23/hr=01/b.parquet",
		"cleansed/user_events_v2/dt=2026-11-23/hr=01/a.parquet",
		"curated/user_events/dt=2026-11-23/hr=01/a.parquet",
	}
	for i, k := range keys {
		mustPut(t, s, k, []byte(k[:i+1]), objectstore.PutOptions{})
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", keys},
		{"cleansed/", keys[:5]},
		{"cleansed/user_events/", keys[1:4]},
		{"cleansed/user_events", keys[1:5]},
		{"cleansed/user_events/dt=2026-11-23/hr=01/", keys[2:4]},
		{"curated/user_events/dt=2026-11-23/hr=01/a.parquet", keys[5:]},
		{"quarantine/", nil},
	} {
		got, err := s.List(t.Context(), tc.prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", tc.prefix, err)
		}
		if !slices.Equal(keysOf(got), tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, keysOf(got), tc.want)
		}
	}
	got, err := s.List(t.Context(), "cleansed/user_events/dt=2026-11-23/hr=01/b")
	if err != nil || len(got) != 1 {
		t.Fatalf("List of one key: %v, %v", got, err)
	}
	if got[0].Size != 4 || got[0].ETag == "" || got[0].LastModified.IsZero() {
		t.Errorf("List entry %+v lacks size 4, ETag or LastModified", got[0])
	}
	head, err := s.Head(t.Context(), got[0].Key)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if head.ETag != got[0].ETag {
		t.Errorf("List ETag %q differs from Head ETag %q", got[0].ETag, head.ETag)
	}
}

func testListKeyOrder(t *testing.T, s objectstore.Store) {
	// Byte order, not the order written: digits, upper case, '/' and '=' sort in ASCII.
	keys := []string{"k/b", "k/a=1", "k/A", "k/a/z", "k/a.z", "k/10", "k/9", "k/a-b", "k/_", "k/~"}
	for _, k := range keys {
		mustPut(t, s, k, []byte("x"), objectstore.PutOptions{})
	}
	got, err := s.List(t.Context(), "k/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	if !slices.Equal(keysOf(got), want) {
		t.Fatalf("List order %q, want byte order %q", keysOf(got), want)
	}
}

func testListPaginates(t *testing.T, s objectstore.Store) {
	// S3 returns at most 1000 keys per ListObjectsV2 page.
	const n = 1100
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("many/%05d.json", i)
	}
	putAll(t, s, want)
	mustPut(t, s, "other/x", []byte("x"), objectstore.PutOptions{})
	got, err := s.List(t.Context(), "many/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(got) != n {
		t.Fatalf("List returned %d keys, want %d (is the store paginating?)", len(got), n)
	}
	if !slices.Equal(keysOf(got), want) {
		t.Fatalf("List of %d keys is not the keys written, in order", n)
	}
}

// putAll writes small objects with a few concurrent writers: servers on loopback are quick,
// but one request at a time would make the pagination test slow.
func putAll(t *testing.T, s objectstore.Store, keys []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	work := make(chan string)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range 8 {
		wg.Go(func() {
			for k := range work {
				if _, err := s.Put(ctx, k, []byte(k), objectstore.PutOptions{}); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("Put(%q): %w", k, err)
						cancel()
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, k := range keys {
		if ctx.Err() != nil {
			break
		}
		work <- k
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
}

func testDelete(t *testing.T, s objectstore.Store) {
	mustPut(t, s, "del/a", []byte("a"), objectstore.PutOptions{})
	mustPut(t, s, "del/b", []byte("b"), objectstore.PutOptions{})
	if err := s.Delete(t.Context(), "del/a"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Head(t.Context(), "del/a"); !errors.Is(err, objectstore.ErrNotFound) {
		t.Fatalf("Head after Delete: error %v does not wrap objectstore.ErrNotFound", err)
	}
	list, err := s.List(t.Context(), "del/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if !slices.Equal(keysOf(list), []string{"del/b"}) {
		t.Fatalf("after Delete List = %q, want [del/b]", keysOf(list))
	}
	if err := s.Delete(t.Context(), "del/a"); err != nil {
		t.Fatalf("Delete of a deleted key: %v (must not be an error)", err)
	}
	if err := s.Delete(t.Context(), "del/never-written"); err != nil {
		t.Fatalf("Delete of a missing key: %v (must not be an error)", err)
	}
}

func testNotFound(t *testing.T, s objectstore.Store) {
	ctx := t.Context()
	if rc, _, err := s.Get(ctx, "nf/missing"); !errors.Is(err, objectstore.ErrNotFound) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("Get: error %v does not wrap objectstore.ErrNotFound", err)
	}
	if _, err := s.Head(ctx, "nf/missing"); !errors.Is(err, objectstore.ErrNotFound) {
		t.Errorf("Head: error %v does not wrap objectstore.ErrNotFound", err)
	}
	_, err := s.Head(ctx, "nf/missing")
	if err != nil && !strings.Contains(err.Error(), "nf/missing") {
		t.Errorf("Head error %q does not name the key", err)
	}
	if errors.Is(err, objectstore.ErrPreconditionFailed) {
		t.Errorf("a missing key must not read as a lost precondition: %v", err)
	}
	list, err := s.List(ctx, "nf/")
	if err != nil || len(list) != 0 {
		t.Errorf("List of an empty prefix = %v, %v; want no keys and no error", list, err)
	}
}

func testConditionalWrites(t *testing.T, s objectstore.Store) {
	ctx := t.Context()
	first, err := s.Put(ctx, "cond/k", []byte("one"), objectstore.PutOptions{IfNoneMatch: true})
	if err != nil {
		t.Fatalf("IfNoneMatch Put of a new key: %v", err)
	}
	_, err = s.Put(ctx, "cond/k", []byte("two"), objectstore.PutOptions{IfNoneMatch: true})
	if !errors.Is(err, objectstore.ErrPreconditionFailed) {
		t.Fatalf("IfNoneMatch Put over an existing key: error %v does not wrap objectstore.ErrPreconditionFailed", err)
	}
	if errors.Is(err, objectstore.ErrNotFound) {
		t.Errorf("a lost precondition must not read as not found: %v", err)
	}
	if got, _ := mustGet(t, s, "cond/k"); string(got) != "one" {
		t.Fatalf("the losing IfNoneMatch write changed the object to %q", got)
	}

	second, err := s.Put(ctx, "cond/k", []byte("three"), objectstore.PutOptions{IfMatch: first.ETag})
	if err != nil {
		t.Fatalf("IfMatch Put with the current ETag: %v", err)
	}
	_, err = s.Put(ctx, "cond/k", []byte("four"), objectstore.PutOptions{IfMatch: first.ETag})
	if !errors.Is(err, objectstore.ErrPreconditionFailed) {
		t.Fatalf("IfMatch Put with a stale ETag: error %v does not wrap objectstore.ErrPreconditionFailed", err)
	}
	if got, info := mustGet(t, s, "cond/k"); string(got) != "three" || info.ETag != second.ETag {
		t.Fatalf("the losing IfMatch write changed the object to %q (ETag %q)", got, info.ETag)
	}
}

func testConditionalDeletes(t *testing.T, s objectstore.Store, cd objectstore.ConditionalDeleter) {
	ctx := t.Context()
	old, err := s.Put(ctx, "cond/lock", []byte("mine"), objectstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := s.Put(ctx, "cond/lock", []byte("someone else's"), objectstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cd.DeleteIfMatch(ctx, "cond/lock", old.ETag); !errors.Is(err, objectstore.ErrPreconditionFailed) {
		t.Fatalf("DeleteIfMatch with a stale ETag: error %v does not wrap objectstore.ErrPreconditionFailed", err)
	}
	if got, _ := mustGet(t, s, "cond/lock"); string(got) != "someone else's" {
		t.Fatalf("the losing DeleteIfMatch changed the object to %q", got)
	}
	if err := cd.DeleteIfMatch(ctx, "cond/lock", cur.ETag); err != nil {
		t.Fatalf("DeleteIfMatch with the current ETag: %v", err)
	}
	if _, err := s.Head(ctx, "cond/lock"); !errors.Is(err, objectstore.ErrNotFound) {
		t.Fatalf("after DeleteIfMatch with the current ETag, Head = %v; want not found", err)
	}
	if err := cd.DeleteIfMatch(ctx, "cond/lock", cur.ETag); err != nil {
		t.Fatalf("DeleteIfMatch of a missing key: %v, want nil", err)
	}
	// A released lock can be taken again: a deleted key (in a versioned bucket, one whose
	// newest version is a delete marker) does not exist for IfNoneMatch.
	again, err := s.Put(ctx, "cond/lock", []byte("mine again"), objectstore.PutOptions{IfNoneMatch: true})
	if err != nil {
		t.Fatalf("IfNoneMatch Put of a deleted key: %v, want it written", err)
	}
	if err := cd.DeleteIfMatch(ctx, "cond/lock", again.ETag); err != nil {
		t.Fatalf("DeleteIfMatch of the key written again: %v", err)
	}
	if _, err := s.Head(ctx, "cond/lock"); !errors.Is(err, objectstore.ErrNotFound) {
		t.Fatalf("after the second DeleteIfMatch, Head = %v; want not found", err)
	}
}

// probeConditionalWritesUndeclared runs when an implementation declares it lacks
// conditional writes. The skip message is the declaration the suite makes visible; if the
// store enforces them after all, the declaration is wrong and the suite fails.
func probeConditionalWritesUndeclared(t *testing.T, s objectstore.Store) {
	ctx := t.Context()
	if _, err := s.Put(ctx, "cond/probe", []byte("one"), objectstore.PutOptions{}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	_, err := s.Put(ctx, "cond/probe", []byte("two"), objectstore.PutOptions{IfNoneMatch: true})
	if errors.Is(err, objectstore.ErrPreconditionFailed) {
		t.Fatalf("the store enforces IfNoneMatch but was run with Options.ConditionalWrites=false: set it to true so the suite tests conditional writes fully")
	}
	t.Skipf("NOT CONFORMANT: this store does not enforce conditional writes (IfNoneMatch over an existing key returned %v); "+
		"code that relies on IfNoneMatch/IfMatch must not run against it", err)
}

func testNestedKeys(t *testing.T, s objectstore.Store) {
	mustPut(t, s, "nest/a", []byte("parent"), objectstore.PutOptions{})
	mustPut(t, s, "nest/a/b", []byte("child"), objectstore.PutOptions{})
	if got, _ := mustGet(t, s, "nest/a"); string(got) != "parent" {
		t.Fatalf("Get(nest/a) = %q after writing nest/a/b", got)
	}
	list, err := s.List(t.Context(), "nest/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if !slices.Equal(keysOf(list), []string{"nest/a", "nest/a/b"}) {
		t.Fatalf("List = %q, want [nest/a nest/a/b]", keysOf(list))
	}
}

func probeNestedKeysUndeclared(t *testing.T, s objectstore.Store) {
	mustPut(t, s, "nest/a", []byte("parent"), objectstore.PutOptions{})
	_, err := s.Put(t.Context(), "nest/a/b", []byte("child"), objectstore.PutOptions{})
	if err == nil {
		t.Fatalf("the store keeps nest/a and nest/a/b together but was run with Options.NestedKeys=false: set it to true so the suite tests it")
	}
	t.Skipf("LIMITATION: this store cannot hold a key and a key nested under it (nest/a and nest/a/b): %v", err)
}

// testReadIfMatch: a read pinned to an ETag reads the object while it has that ETag and
// fails with ErrPreconditionFailed (never ErrNotFound) once it is rewritten.
func testReadIfMatch(t *testing.T, s objectstore.Store, vr objectstore.VersionReader) {
	ctx := t.Context()
	body := randomBytes(4, 3000)
	first := mustPut(t, s, "pin/k", body, objectstore.PutOptions{Metadata: map[string]string{"v": "1"}})
	for _, etag := range []string{first.ETag, strings.Trim(first.ETag, `"`)} {
		at := objectstore.ReadOptions{IfMatch: etag}
		info, err := vr.HeadAt(ctx, "pin/k", at)
		if err != nil || info.ETag != first.ETag || info.Metadata["v"] != "1" {
			t.Fatalf("HeadAt(IfMatch %s) = %+v, %v; want the object", etag, info, err)
		}
		got, err := vr.GetRangeAt(ctx, "pin/k", at, 100, 50)
		if err != nil || !bytes.Equal(got, body[100:150]) {
			t.Fatalf("GetRangeAt(IfMatch %s) = %d bytes, %v; want body[100:150]", etag, len(got), err)
		}
	}
	mustPut(t, s, "pin/k", []byte("rewritten"), objectstore.PutOptions{})
	at := objectstore.ReadOptions{IfMatch: first.ETag}
	checkLost := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, objectstore.ErrPreconditionFailed) || errors.Is(err, objectstore.ErrNotFound) {
			t.Errorf("%s pinned to the ETag of a rewritten object: error %v, want one wrapping ErrPreconditionFailed only", op, err)
		}
	}
	_, err := vr.HeadAt(ctx, "pin/k", at)
	checkLost("HeadAt", err)
	rc, _, err := vr.GetAt(ctx, "pin/k", at)
	if rc != nil {
		rc.Close()
	}
	checkLost("GetAt", err)
	_, err = vr.GetRangeAt(ctx, "pin/k", at, 0, 4)
	checkLost("GetRangeAt", err)
	if _, err := vr.HeadAt(ctx, "pin/missing", at); !errors.Is(err, objectstore.ErrNotFound) {
		t.Errorf("HeadAt of a missing key pinned to an ETag: error %v does not wrap ErrNotFound", err)
	}

	// Pin routes reads of its key, and only of its key, to the pinned object.
	mustPut(t, s, "pin/other", []byte("other"), objectstore.PutOptions{})
	p, err := objectstore.Pin(s, "pin/k", at)
	if err != nil {
		t.Fatalf("Pin: %v", err)
	}
	if _, err := p.Head(ctx, "pin/k"); !errors.Is(err, objectstore.ErrPreconditionFailed) {
		t.Errorf("Pin(...).Head of the pinned key = %v, want ErrPreconditionFailed", err)
	}
	if got, _ := mustGet(t, p, "pin/other"); string(got) != "other" {
		t.Errorf("Pin(...).Get of another key = %q", got)
	}
}

// testVersions: every version written stays readable by its id, with its own bytes, ETag and
// metadata, while plain reads see the newest; a version id that never existed (or was
// deleted) reads as ErrNotFound.
func testVersions(t *testing.T, s objectstore.Store, vr objectstore.VersionReader) {
	ctx := t.Context()
	bodies := [][]byte{randomBytes(5, 2000), []byte("second"), randomBytes(6, 50)}
	var puts []objectstore.Info
	for i, b := range bodies {
		puts = append(puts, mustPut(t, s, "ver/k", b, objectstore.PutOptions{Metadata: map[string]string{"v": fmt.Sprint(i)}}))
	}
	for i, p := range puts {
		if p.Version == "" {
			t.Fatalf("Put %d into a versioned bucket returned no version id", i)
		}
		for _, q := range puts[:i] {
			if q.Version == p.Version {
				t.Fatalf("two writes got the same version id %q", p.Version)
			}
		}
	}
	for i, p := range puts {
		at := objectstore.ReadOptions{Version: p.Version}
		info, err := vr.HeadAt(ctx, "ver/k", at)
		if err != nil {
			t.Fatalf("HeadAt(version %d %q): %v", i, p.Version, err)
		}
		if info.Version != p.Version || info.ETag != p.ETag || info.Size != int64(len(bodies[i])) || info.Metadata["v"] != fmt.Sprint(i) {
			t.Errorf("HeadAt(version %d) = %+v, want version %q ETag %s size %d v=%d", i, info, p.Version, p.ETag, len(bodies[i]), i)
		}
		rc, ginfo, err := vr.GetAt(ctx, "ver/k", at)
		if err != nil {
			t.Fatalf("GetAt(version %d): %v", i, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, bodies[i]) || ginfo.Version != p.Version {
			t.Errorf("GetAt(version %d) read %d bytes (version %q, %v), want the %d written", i, len(got), ginfo.Version, err, len(bodies[i]))
		}
		part, err := vr.GetRangeAt(ctx, "ver/k", at, 1, 3)
		if err != nil || !bytes.Equal(part, bodies[i][1:4]) {
			t.Errorf("GetRangeAt(version %d, 1, 3) = %q, %v; want %q", i, part, err, bodies[i][1:4])
		}
		// A version and the ETag it has agree; a version and another's ETag do not.
		if _, err := vr.HeadAt(ctx, "ver/k", objectstore.ReadOptions{Version: p.Version, IfMatch: p.ETag}); err != nil {
			t.Errorf("HeadAt(version %d with its own ETag): %v", i, err)
		}
	}
	if _, err := vr.HeadAt(ctx, "ver/k", objectstore.ReadOptions{Version: puts[0].Version, IfMatch: puts[2].ETag}); !errors.Is(err, objectstore.ErrPreconditionFailed) {
		t.Errorf("HeadAt(version 0 with version 2's ETag): error %v, want ErrPreconditionFailed", err)
	}
	if got, info := mustGet(t, s, "ver/k"); !bytes.Equal(got, bodies[2]) || info.Version != puts[2].Version {
		t.Errorf("Get reads %d bytes of version %q, want the newest (%q)", len(got), info.Version, puts[2].Version)
	}
	// The version id of another key does not name a version of this one.
	other := mustPut(t, s, "ver/other", []byte("x"), objectstore.PutOptions{})
	if _, err := vr.HeadAt(ctx, "ver/k", objectstore.ReadOptions{Version: other.Version}); !errors.Is(err, objectstore.ErrNotFound) {
		t.Errorf("HeadAt with another key's version id: error %v does not wrap ErrNotFound", err)
	}
	rc, _, err := vr.GetAt(ctx, "ver/k", objectstore.ReadOptions{Version: other.Version})
	if rc != nil {
		rc.Close()
	}
	if !errors.Is(err, objectstore.ErrNotFound) || errors.Is(err, objectstore.ErrForbidden) {
		t.Errorf("GetAt with another key's version id: error %v, want ErrNotFound (S3 NoSuchVersion)", err)
	}
	vl, ok := s.(objectstore.VersionLister)
	if !ok {
		t.Fatalf("a store over versioned buckets must be an objectstore.VersionLister: erasure deletes noncurrent versions through it")
	}
	testVersionLister(t, s, vl, puts, other)
}

// testVersionLister checks that every version is listed, that a delete leaves a marker and the
// old bytes readable, and that deleting versions one by one leaves nothing at all.
func testVersionLister(t *testing.T, s objectstore.Store, vl objectstore.VersionLister, puts []objectstore.Info, other objectstore.Info) {
	ctx := t.Context()
	vr := s.(objectstore.VersionReader)
	versionsOf := func(key string) (ids []string, markers int, latest string) {
		t.Helper()
		all, err := vl.ListVersions(ctx, "ver/")
		if err != nil {
			t.Fatalf("ListVersions: %v", err)
		}
		for _, v := range all {
			if !strings.HasPrefix(v.Key, "ver/") {
				t.Errorf("ListVersions(ver/) listed %s", v.Key)
			}
			if v.Key != key {
				continue
			}
			if v.DeleteMarker {
				markers++
			} else {
				ids = append(ids, v.Version)
			}
			if v.Latest {
				latest = v.Version
			}
		}
		return ids, markers, latest
	}
	ids, markers, latest := versionsOf("ver/k")
	if len(ids) != len(puts) || markers != 0 || latest != puts[len(puts)-1].Version {
		t.Fatalf("ListVersions lists versions %v (%d markers, latest %q) of ver/k, want the %d written, latest %q", ids, markers, latest, len(puts), puts[len(puts)-1].Version)
	}
	for _, p := range puts {
		if !slices.Contains(ids, p.Version) {
			t.Errorf("version %q is not listed", p.Version)
		}
	}
	if oid, _, _ := versionsOf("ver/other"); len(oid) != 1 || oid[0] != other.Version {
		t.Errorf("ver/other versions %v, want [%s]", oid, other.Version)
	}
	// A delete in a versioned bucket hides the object behind a marker; its bytes stay.
	if err := s.Delete(ctx, "ver/k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Head(ctx, "ver/k"); !errors.Is(err, objectstore.ErrNotFound) {
		t.Errorf("Head after Delete: %v, want ErrNotFound", err)
	}
	ids, markers, _ = versionsOf("ver/k")
	if len(ids) != len(puts) || markers != 1 {
		t.Fatalf("after Delete: versions %v and %d delete markers, want the %d versions kept and 1 marker", ids, markers, len(puts))
	}
	if _, err := vr.HeadAt(ctx, "ver/k", objectstore.ReadOptions{Version: puts[0].Version}); err != nil {
		t.Errorf("an old version does not read after Delete (S3 keeps it): %v", err)
	}
	// DeleteVersion removes bytes for good, markers too; a second time is not an error.
	all, err := vl.ListVersions(ctx, "ver/k")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range all {
		if err := vl.DeleteVersion(ctx, v.Key, v.Version); err != nil {
			t.Fatalf("DeleteVersion(%s, %s): %v", v.Key, v.Version, err)
		}
	}
	if err := vl.DeleteVersion(ctx, "ver/k", puts[0].Version); err != nil {
		t.Errorf("DeleteVersion of a version already gone: %v, want nil", err)
	}
	if ids, markers, _ := versionsOf("ver/k"); len(ids)+markers != 0 {
		t.Errorf("after deleting every version: %v and %d markers remain", ids, markers)
	}
	if _, err := vr.HeadAt(ctx, "ver/k", objectstore.ReadOptions{Version: puts[0].Version}); !errors.Is(err, objectstore.ErrNotFound) {
		t.Errorf("a deleted version still reads: %v", err)
	}
	if err := vl.DeleteVersion(ctx, "ver/other", ""); err == nil {
		t.Error("DeleteVersion without a version id succeeded: it must refuse rather than delete the current object")
	}
}

// probeNotAVersionReader checks what a store that cannot read versions promises instead:
// objectstore.Pin refuses it, so nothing reads the wrong version of an object an event names.
func probeNotAVersionReader(t *testing.T, s objectstore.Store) {
	for _, at := range []objectstore.ReadOptions{{Version: "v1"}, {IfMatch: "etag"}} {
		if _, err := objectstore.Pin(s, "ver/k", at); err == nil {
			t.Errorf("Pin at %+v of a store that is not a VersionReader succeeded: it must refuse", at)
		}
	}
	t.Logf("this store is not an objectstore.VersionReader: Pin refuses it (checked), so events naming a version cannot be read from it")
}

func probeVersionsUndeclared(t *testing.T, s objectstore.Store, vr objectstore.VersionReader) {
	if vr == nil {
		probeNotAVersionReader(t, s)
		return
	}
	first := mustPut(t, s, "ver/probe", []byte("one"), objectstore.PutOptions{})
	mustPut(t, s, "ver/probe", []byte("two"), objectstore.PutOptions{})
	if first.Version != "" {
		rc, _, err := vr.GetAt(t.Context(), "ver/probe", objectstore.ReadOptions{Version: first.Version})
		if err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			if string(b) == "one" {
				t.Fatalf("the store keeps old versions but was run with Options.Versioning=false: set it to true so the suite tests versions")
			}
		}
	}
	t.Logf("these buckets keep no versions (checked: the first Put returned version id %q and no older version reads back); lineage and validate read the current object from them, pinned to its ETag", first.Version)
}
