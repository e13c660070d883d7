// Package objectstore is the lake's one port to object storage: a bucket seen as keys and bytes.
//
// Every zone lives in its own bucket, so a Store is scoped to one bucket. The port is kept
// narrow on purpose: what the lake's functions need and nothing more, so that every adapter
// (S3 on AWS, the local stand-ins) can pass the one conformance suite in storetest.
package objectstore

import (
	"context"
	"errors"
	"fmt"
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
	// Latest and DeleteMarker are filled by ListVersions only: the key's current version, and
	// a version that is a delete marker (no bytes; it hides the versions before it).
	Latest       bool
	DeleteMarker bool
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

// VersionLister is a store over a versioned bucket that can list every version of its
// objects and delete one for good (S3 ListObjectVersions and DeleteObject with a VersionId).
// Erasure needs it: deleting or rewriting an object in a versioned bucket keeps the old bytes
// as a noncurrent version, readable until that version is deleted. It is optional, as
// ConditionalDeleter is.
type VersionLister interface {
	// ListVersions returns every version and delete marker of every key under prefix, in key
	// order and, within a key, newest first (the role needs s3:ListBucketVersions).
	ListVersions(ctx context.Context, prefix string) ([]Info, error)
	// DeleteVersion removes one version (or delete marker) of key permanently (the role needs
	// s3:DeleteObjectVersion). A version that is already gone is not an error.
	DeleteVersion(ctx context.Context, key, version string) error
}

// ErrForbidden is returned (wrapped) when the store refuses a request (S3 403 AccessDenied).
// It is never a kind of ErrNotFound: on S3 a role without s3:ListBucket is answered 403 for a
// key that does not exist, so "forbidden" can hide "gone", and only a grant tells them apart.
var ErrForbidden = errors.New("objectstore: access denied")

// ReadOptions pin a read to one version of an object: the one an event named.
type ReadOptions struct {
	// Version reads this version id of a versioned bucket (S3 VersionId; the role needs
	// s3:GetObjectVersion). A version that no longer exists reads as ErrNotFound.
	Version string
	// IfMatch, when set, fails the read with ErrPreconditionFailed unless the object read has
	// this ETag (quoted or not): how an unversioned bucket tells a rewritten object.
	IfMatch string
}

// VersionReader is a store that can read a given version of an object, or the current one
// only while it has a given ETag. It is optional, as ConditionalDeleter is: Pin says what to
// do without it.
type VersionReader interface {
	HeadAt(ctx context.Context, key string, at ReadOptions) (Info, error)
	GetAt(ctx context.Context, key string, at ReadOptions) (io.ReadCloser, Info, error)
	GetRangeAt(ctx context.Context, key string, at ReadOptions, offset, length int64) ([]byte, error)
}

// Pin returns a view of s in which every read of key (Head, Get, GetRange) reads what at
// names, so that code written against Store (a Parquet footer reader, a validator) reads the
// version an event is about rather than whatever is current. Other keys and all writes go to
// s unchanged. A zero at returns s itself. A store that is not a VersionReader cannot honour
// at, and Pin says so rather than read the wrong version.
func Pin(s Store, key string, at ReadOptions) (Store, error) {
	if at == (ReadOptions{}) {
		return s, nil
	}
	vr, ok := s.(VersionReader)
	if !ok {
		return nil, fmt.Errorf("objectstore: %s cannot read version %q / ETag %q of %s: the store is not a VersionReader", s.Bucket(), at.Version, at.IfMatch, key)
	}
	return pinned{Store: s, vr: vr, key: key, at: at}, nil
}

type pinned struct {
	Store
	vr  VersionReader
	key string
	at  ReadOptions
}

func (p pinned) Head(ctx context.Context, key string) (Info, error) {
	if key != p.key {
		return p.Store.Head(ctx, key)
	}
	return p.vr.HeadAt(ctx, key, p.at)
}

func (p pinned) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if key != p.key {
		return p.Store.Get(ctx, key)
	}
	return p.vr.GetAt(ctx, key, p.at)
}

func (p pinned) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	if key != p.key {
		return p.Store.GetRange(ctx, key, offset, length)
	}
	return p.vr.GetRangeAt(ctx, key, p.at, offset, length)
}
