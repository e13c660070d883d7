package promote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/zone"
)

// ManifestPrefix is where a partition's promotion manifest lives in the curated bucket: outside
// every dataset's prefix (and starting with '_', which Athena and Hive skip), so no table reads it.
const ManifestPrefix = "_manifests/"

// AbsorbedPrefix is where promote records cleansed files whose every row was a duplicate (see
// provenance.Marker), in the curated bucket.
const AbsorbedPrefix = "_absorbed/"

// ManifestKey is the key of a partition's manifest in the curated bucket.
func ManifestKey(dataset string, p zone.Partition) string {
	return ManifestPrefix + zone.Key(dataset, p, "promote.json")
}

// manifest records what a curated partition is made of, so that the next promotion converts
// only cleansed files not yet promoted. It is written last, under the lock; a promotion that
// finds the partition different from it (a crash between writes, a file removed or replaced by
// hand) recomputes the partition from every cleansed file instead.
type manifest struct {
	Version int `json:"version"`
	// Inputs are the cleansed objects whose rows the partition holds (or held, until a later
	// row with the same key won).
	Inputs []entry `json:"inputs"`
	// Files are the curated objects of the partition, in part-number order.
	Files []entry `json:"files"`
}

type entry struct {
	Key  string `json:"key"`
	ETag string `json:"etag"`
	Rows int64  `json:"rows"`
	Size int64  `json:"size,omitempty"`
}

const manifestVersion = 1

// readManifest returns nil (and no error) when the partition has none.
func readManifest(ctx context.Context, s objectstore.Store, key string) (*manifest, string, error) {
	rc, info, err := s.Get(ctx, key)
	if errors.Is(err, objectstore.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("promote: read manifest %s/%s: %w", s.Bucket(), key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, "", fmt.Errorf("promote: read manifest %s/%s: %w", s.Bucket(), key, err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Version != manifestVersion {
		// Unreadable or from another version: the partition is recomputed and the manifest
		// rewritten, which is always safe.
		return nil, info.ETag, nil
	}
	return &m, info.ETag, nil
}

// writeManifest replaces the manifest only if it is still the one this promotion read (etag;
// empty when there was none), as a second guard beside the lock.
func writeManifest(ctx context.Context, s objectstore.Store, key string, m *manifest, etag string) error {
	m.Version = manifestVersion
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	opts := objectstore.PutOptions{ContentType: "application/json"}
	if etag == "" {
		opts.IfNoneMatch = true
	} else {
		opts.IfMatch = etag
	}
	if _, err := s.Put(ctx, key, b, opts); err != nil {
		if errors.Is(err, objectstore.ErrPreconditionFailed) {
			return fmt.Errorf("promote: manifest %s/%s changed while promoting (another promotion without the lock?); the trigger will be retried: %w", s.Bucket(), key, err)
		}
		return fmt.Errorf("promote: write manifest %s/%s: %w", s.Bucket(), key, err)
	}
	return nil
}

func trimETag(e string) string { return strings.Trim(e, `"`) }
