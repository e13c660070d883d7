package iceberg

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluicelake/sluice/shared/objectstore"
)

// DirStore is a bucket kept as a directory, one file per key (the local S3 stand-in's
// layout), used directly: how the local query engine reads a curated table without going
// through S3, and how tests of it write one. Its ETag is the MD5 of the bytes, and its
// conditional writes hold within one process only: the lake itself writes through S3.
type DirStore struct {
	// Dir is the bucket's directory; Name the bucket's name, which table locations carry.
	Dir, Name string
}

var dirMu sync.Mutex

func (d DirStore) path(key string) (string, error) {
	p := filepath.Join(d.Dir, filepath.FromSlash(key))
	if !strings.HasPrefix(p, filepath.Clean(d.Dir)+string(filepath.Separator)) {
		return "", fmt.Errorf("iceberg: key %q leaves bucket directory %s", key, d.Dir)
	}
	return p, nil
}

func (d DirStore) Bucket() string { return d.Name }

func (d DirStore) Put(ctx context.Context, key string, body []byte, opts objectstore.PutOptions) (objectstore.Info, error) {
	p, err := d.path(key)
	if err != nil {
		return objectstore.Info{}, err
	}
	dirMu.Lock()
	defer dirMu.Unlock()
	old, err := os.ReadFile(p)
	exists := err == nil
	switch {
	case opts.IfNoneMatch && exists:
		return objectstore.Info{}, fmt.Errorf("%w: %s/%s exists", objectstore.ErrPreconditionFailed, d.Name, key)
	case opts.IfMatch != "" && (!exists || etag(old) != strings.Trim(opts.IfMatch, `"`)):
		return objectstore.Info{}, fmt.Errorf("%w: %s/%s changed", objectstore.ErrPreconditionFailed, d.Name, key)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return objectstore.Info{}, err
	}
	// Through a rename, so that a reader sees the old bytes or the new, never half of them.
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return objectstore.Info{}, err
	}
	_, err = tmp.Write(body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return objectstore.Info{}, err
	}
	return objectstore.Info{Key: key, Size: int64(len(body)), ETag: etag(body)}, nil
}

func (d DirStore) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func etag(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

func (d DirStore) Get(ctx context.Context, key string) (io.ReadCloser, objectstore.Info, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, objectstore.Info{}, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, objectstore.Info{}, fmt.Errorf("%w: %s/%s", objectstore.ErrNotFound, d.Name, key)
	}
	if err != nil {
		return nil, objectstore.Info{}, err
	}
	// The ETag of the very bytes returned, so a compare-and-swap on it is about them.
	return io.NopCloser(bytes.NewReader(b)), objectstore.Info{Key: key, Size: int64(len(b)), ETag: etag(b)}, nil
}

func (d DirStore) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	rc, _, err := d.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	if offset > int64(len(b)) {
		return nil, fmt.Errorf("iceberg: range %d+%d beyond %s/%s", offset, length, d.Name, key)
	}
	return b[offset:min(int64(len(b)), offset+length)], nil
}

func (d DirStore) Head(_ context.Context, key string) (objectstore.Info, error) {
	p, err := d.path(key)
	if err != nil {
		return objectstore.Info{}, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return objectstore.Info{}, fmt.Errorf("%w: %s/%s", objectstore.ErrNotFound, d.Name, key)
	}
	if err != nil {
		return objectstore.Info{}, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return objectstore.Info{}, err
	}
	return objectstore.Info{Key: key, Size: fi.Size(), LastModified: fi.ModTime(), ETag: etag(b)}, nil
}

func (d DirStore) List(_ context.Context, prefix string) ([]objectstore.Info, error) {
	var out []objectstore.Info
	err := filepath.WalkDir(d.Dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if strings.HasPrefix(e.Name(), ".put-") {
			return nil // a write in progress
		}
		rel, _ := filepath.Rel(d.Dir, p)
		key := filepath.ToSlash(rel)
		if strings.HasPrefix(key, prefix) {
			fi, err := e.Info()
			if err != nil {
				return err
			}
			out = append(out, objectstore.Info{Key: key, Size: fi.Size(), LastModified: fi.ModTime()})
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, err
}

// At names a state of a table for time travel: a snapshot id, or the snapshot current at a
// time; the zero At is the current snapshot.
type At struct {
	SnapshotID int64
	Time       time.Time
}

// FilesAt returns the snapshot at names and its live data files (nil, nil for a table with no
// snapshot yet, when at is zero).
func (t *Table) FilesAt(ctx context.Context, at At) (*Snapshot, []DataFile, error) {
	st, err := t.Load(ctx)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case at.SnapshotID != 0:
		snap := st.Meta.Snapshot(at.SnapshotID)
		if snap == nil {
			return nil, nil, fmt.Errorf("iceberg: table %s has no snapshot %d (expired, or never made): list its history for the ones it has", t.Name, at.SnapshotID)
		}
		files, err := st.Files(ctx, snap.SnapshotID)
		return snap, files, err
	case !at.Time.IsZero():
		return st.FilesAsOf(ctx, at.Time)
	}
	cur := st.Meta.Current()
	if cur == nil {
		return nil, nil, nil
	}
	files, err := st.Files(ctx, cur.SnapshotID)
	return cur, files, err
}
