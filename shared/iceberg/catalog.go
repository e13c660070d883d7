package iceberg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sluicelake/sluice/shared/objectstore"
)

// ErrNoTable is returned (wrapped) by Catalog.Load for a table the catalog does not hold.
var ErrNoTable = errors.New("iceberg: no such table")

// ErrConflict is returned (wrapped) by Catalog.Swap when the table is no longer at the version
// the commit was planned on: another commit won. The loser reloads, re-plans and retries.
var ErrConflict = errors.New("iceberg: concurrent commit")

// Pointer is where a catalog says a table's current metadata is, and the catalog's version of
// that statement (an ETag, a Glue table version): what a commit swaps on.
type Pointer struct {
	Location string
	Version  string
}

// Update is what a commit asks a catalog to record.
type Update struct {
	// Location is the new metadata file.
	Location string
	// Metadata is its content, for catalogs that also describe the table (Glue's columns).
	Metadata *Metadata
}

// Catalog is the port to whatever holds each table's current metadata location. It is one
// compare-and-swap register per table, and every adapter passes the conformance suite in
// catalogtest.
type Catalog interface {
	// Load returns the table's current pointer, or an error wrapping ErrNoTable.
	Load(ctx context.Context, table string) (Pointer, error)
	// Swap records u as the table's metadata if the table is still at expected. A zero
	// expected creates the table, which must not exist yet. On a lost race it returns an error
	// wrapping ErrConflict and changes nothing.
	Swap(ctx context.Context, table string, expected Pointer, u Update) (Pointer, error)
}

// StoreCatalog keeps each table's pointer as a small JSON object in a bucket, swapped with
// conditional writes (If-None-Match to create, If-Match on the ETag read to update): the
// local lake's catalog, and one that works on any S3 bucket.
type StoreCatalog struct {
	Store objectstore.Store
	// Prefix is put before "<table>/metadata/sluice-catalog.json"; empty puts the pointer
	// beside the table's own metadata.
	Prefix string
}

// PointerName is the object, in a table's metadata folder, that StoreCatalog keeps.
const PointerName = "sluice-catalog.json"

func (c *StoreCatalog) key(table string) string {
	return c.Prefix + table + "/metadata/" + PointerName
}

type pointerDoc struct {
	MetadataLocation string `json:"metadata-location"`
}

// Load reads the table's pointer object.
func (c *StoreCatalog) Load(ctx context.Context, table string) (Pointer, error) {
	rc, info, err := c.Store.Get(ctx, c.key(table))
	if errors.Is(err, objectstore.ErrNotFound) {
		return Pointer{}, fmt.Errorf("%w: %s (no %s/%s)", ErrNoTable, table, c.Store.Bucket(), c.key(table))
	}
	if err != nil {
		return Pointer{}, fmt.Errorf("iceberg: read catalog pointer %s/%s: %w", c.Store.Bucket(), c.key(table), err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return Pointer{}, fmt.Errorf("iceberg: read catalog pointer %s/%s: %w", c.Store.Bucket(), c.key(table), err)
	}
	var d pointerDoc
	if err := json.Unmarshal(b, &d); err != nil || d.MetadataLocation == "" {
		return Pointer{}, fmt.Errorf("iceberg: catalog pointer %s/%s is not {\"metadata-location\": ...}: restore it from the newest <table>/metadata/*.metadata.json", c.Store.Bucket(), c.key(table))
	}
	return Pointer{Location: d.MetadataLocation, Version: strings.Trim(info.ETag, `"`)}, nil
}

// Swap writes the pointer conditionally.
func (c *StoreCatalog) Swap(ctx context.Context, table string, expected Pointer, u Update) (Pointer, error) {
	b, _ := json.Marshal(pointerDoc{MetadataLocation: u.Location})
	opts := objectstore.PutOptions{ContentType: "application/json"}
	if expected == (Pointer{}) {
		opts.IfNoneMatch = true
	} else {
		opts.IfMatch = expected.Version
	}
	info, err := c.Store.Put(ctx, c.key(table), b, opts)
	if errors.Is(err, objectstore.ErrPreconditionFailed) {
		return Pointer{}, fmt.Errorf("%w: table %s moved past %s", ErrConflict, table, expected.Location)
	}
	if err != nil {
		return Pointer{}, fmt.Errorf("iceberg: write catalog pointer %s/%s: %w", c.Store.Bucket(), c.key(table), err)
	}
	return Pointer{Location: u.Location, Version: strings.Trim(info.ETag, `"`)}, nil
}

// Dataset is the curated table of a dataset: rooted at <dataset>/ in store, cataloged by cat,
// or, when cat is nil, by a StoreCatalog in the same bucket (the local lake's, and the default).
func Dataset(store objectstore.Store, cat Catalog, dataset string) *Table {
	if cat == nil {
		cat = &StoreCatalog{Store: store}
	}
	return &Table{Name: dataset, Store: store, Catalog: cat, Root: dataset}
}
