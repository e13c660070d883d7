// Package objectstore is the lake's one port to object storage: a bucket seen as keys and bytes.
//
// Every zone lives in its own bucket, so a Store is scoped to one bucket. The port is kept
// narrow on purpose: what the lake's functions need and nothing more, so that every adapter
// (S3 on AWS, the local stand-ins) can pass the one conformance suite in storetest.
package objectstore

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned (wrapped) when a key does not exist.
var ErrNotFound = errors.New("objectstore: no such key")

// ErrPreconditionFailed is returned (wrapped) when a conditional write loses: the key already
// exists for IfNoneMatch, or its ETag changed for IfMatch.
var ErrPreconditionFailed = errors.New("objectstore: precondition failed")

// PutOptions qualify a write.
type PutOptions struct {
	ContentType string
	// Metadata is stored with the object (x-amz-meta-*). Keys are lower-case.
	Metadata map[string]string
	// IfNoneMatch makes the write succeed only if the key does not exist yet.
	IfNoneMatch bool
	// IfMatch, when set, makes the write succeed only if the current object has this ETag.
	IfMatch string
}

// Info describes a stored object.
type Info struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
	// Version is the object's version id in a versioned bucket, empty otherwise (and from List).
	Version string
	// Metadata is filled by Head and Get, not by List.
	Metadata    map[string]string
	ContentType string
}

// Store is one bucket.
type Store interface {
	// Bucket names the bucket this store writes to (for lineage and logs).
	Bucket() string
	// Put writes body under key, replacing any object there unless opts say otherwise.
	Put(ctx context.Context, key string, body []byte, opts PutOptions) (Info, error)
	// Get streams an object. The caller closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// GetRange reads length bytes at offset (Parquet footers, row groups).
	GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error)
	// Head describes an object without reading it.
	Head(ctx context.Context, key string) (Info, error)
	// List returns every object whose key starts with prefix, in key order.
	List(ctx context.Context, prefix string) ([]Info, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// ConditionalDeleter is a store that can delete an object only while it still has a given ETag
// (S3 DeleteObject with If-Match): how a lock is released only by its holder. It is optional:
// callers check for it and fall back when a store lacks it.
type ConditionalDeleter interface {
	// DeleteIfMatch deletes key if its ETag is etag. It returns an error wrapping
	// ErrPreconditionFailed when the ETag differs, and nil when the key is gone.
	DeleteIfMatch(ctx context.Context, key, etag string) error
}
