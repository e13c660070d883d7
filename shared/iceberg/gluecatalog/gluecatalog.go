// Package gluecatalog is the AWS Glue Data Catalog adapter of iceberg.Catalog: each table is a
// Glue table with table_type=ICEBERG and its current metadata file in the metadata_location
// parameter, which is how Athena (engine v3) finds and reads Iceberg tables.
//
// Optimistic concurrency is Glue's own: UpdateTable is sent with the VersionId the commit read,
// and Glue refuses it (ConcurrentModificationException) when another update came first.
//
// The three calls are made by hand on Glue's JSON API, signed with SigV4, rather than with the
// SDK's Glue module: that module adds 6 MB to a function binary for three operations.
package gluecatalog

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/iceberg"
)

// Catalog keeps tables in one Glue database.
type Catalog struct {
	Database string
	// Prefix goes before a table's name in Glue: curated_, so that the dataset's table is
	// curated_<dataset> beside raw_ and cleansed_, as the query compiler names it.
	Prefix string
	// Endpoint is Glue's URL, e.g. https://glue.eu-west-1.amazonaws.com.
	Endpoint string
	// Sign signs a request with its body (SigV4 for the glue service).
	Sign func(r *http.Request, body []byte) error
	// HTTP sends requests; nil means http.DefaultClient.
	HTTP aws.HTTPClient
}

// New is the catalog of database, reached as the SDK would be: AWS_ENDPOINT_URL_GLUE, else
// AWS_ENDPOINT_URL, else Glue's regional endpoint, with cfg's credentials and HTTP client.
func New(cfg aws.Config, database string, getenv func(string) string) *Catalog {
	endpoint := awsconfig.ServiceEndpoint(getenv, "GLUE", "glue", cfg.Region)
	return &Catalog{Database: database, Endpoint: strings.TrimRight(endpoint, "/"),
		Sign: awsconfig.Signer(cfg.Credentials, "glue", cfg.Region), HTTP: cfg.HTTPClient}
}

// Glue table parameters, as Athena and the Iceberg reference implementation name them.
const (
	ParamTableType        = "table_type"
	ParamMetadataLocation = "metadata_location"
	ParamPrevious         = "previous_metadata_location"
	TableTypeIceberg      = "ICEBERG"
)

// call makes one signed call of Glue's JSON API and decodes the answer into out; Glue's
// refusals are *awsconfig.APIError.
func (c *Catalog) call(ctx context.Context, action string, in, out any) error {
	api := awsconfig.JSONClient{Service: "Glue", Endpoint: c.Endpoint, TargetPrefix: "AWSGlue", Sign: c.Sign, HTTP: c.HTTP}
	return api.Call(ctx, action, in, out)
}

// Load reads the table's metadata_location and Glue version.
func (c *Catalog) Load(ctx context.Context, table string) (iceberg.Pointer, error) {
	table = c.Prefix + table
	var out struct {
		Table struct {
			Parameters map[string]string
			VersionId  string
		}
	}
	err := c.call(ctx, "GetTable", map[string]string{"DatabaseName": c.Database, "Name": table}, &out)
	if awsconfig.IsAPIError(err, "EntityNotFoundException") {
		return iceberg.Pointer{}, fmt.Errorf("%w: %s.%s is not in Glue", iceberg.ErrNoTable, c.Database, table)
	}
	if err != nil {
		return iceberg.Pointer{}, fmt.Errorf("gluecatalog: get table %s.%s (the role needs glue:GetTable): %w", c.Database, table, err)
	}
	t := out.Table
	if !strings.EqualFold(t.Parameters[ParamTableType], TableTypeIceberg) || t.Parameters[ParamMetadataLocation] == "" {
		return iceberg.Pointer{}, fmt.Errorf("gluecatalog: %s.%s is not an Iceberg table (table_type %q): drop it or give the dataset another database", c.Database, table, t.Parameters[ParamTableType])
	}
	return iceberg.Pointer{Location: t.Parameters[ParamMetadataLocation], Version: t.VersionId}, nil
}

// Swap creates the table, or updates it at the Glue version expected names.
func (c *Catalog) Swap(ctx context.Context, table string, expected iceberg.Pointer, u iceberg.Update) (iceberg.Pointer, error) {
	reload := table
	table = c.Prefix + table
	in := tableInput(table, u)
	if expected == (iceberg.Pointer{}) {
		err := c.call(ctx, "CreateTable", map[string]any{"DatabaseName": c.Database, "TableInput": in}, nil)
		if awsconfig.IsAPIError(err, "AlreadyExistsException") {
			return iceberg.Pointer{}, fmt.Errorf("%w: %s.%s was created by another writer", iceberg.ErrConflict, c.Database, table)
		}
		if err != nil {
			return iceberg.Pointer{}, fmt.Errorf("gluecatalog: create table %s.%s (the role needs glue:CreateTable): %w", c.Database, table, err)
		}
		return c.Load(ctx, reload)
	}
	in.Parameters[ParamPrevious] = expected.Location
	err := c.call(ctx, "UpdateTable", map[string]any{"DatabaseName": c.Database, "TableInput": in, "VersionId": expected.Version, "SkipArchive": false}, nil)
	if awsconfig.IsAPIError(err, "ConcurrentModificationException") {
		return iceberg.Pointer{}, fmt.Errorf("%w: %s.%s moved past version %s", iceberg.ErrConflict, c.Database, table, expected.Version)
	}
	if err != nil {
		return iceberg.Pointer{}, fmt.Errorf("gluecatalog: update table %s.%s (the role needs glue:UpdateTable): %w", c.Database, table, err)
	}
	// The version after the update is read back; a commit only ever uses a pointer it has just
	// loaded, so another update landing in between is caught by the next Swap, not missed.
	return c.Load(ctx, reload)
}

type column struct {
	Name    string
	Type    string
	Comment string `json:",omitempty"`
}

type storageDescriptor struct {
	Location string
	Columns  []column
}

type tableInputJSON struct {
	Name              string
	TableType         string
	Parameters        map[string]string
	StorageDescriptor *storageDescriptor `json:",omitempty"`
}

// tableInput describes the table to Glue: the Iceberg parameters, the location, and the
// current schema's columns (Athena reads the schema from the metadata; the columns are for
// people browsing the catalog).
func tableInput(table string, u iceberg.Update) *tableInputJSON {
	in := &tableInputJSON{Name: table, TableType: "EXTERNAL_TABLE",
		Parameters: map[string]string{ParamTableType: TableTypeIceberg, ParamMetadataLocation: u.Location}}
	if m := u.Metadata; m != nil {
		sd := &storageDescriptor{Location: m.Location}
		if s := m.CurrentSchema(); s != nil {
			for _, f := range s.Fields {
				sd.Columns = append(sd.Columns, column{Name: f.Name, Type: glueType(f.Type), Comment: f.Doc})
			}
		}
		in.StorageDescriptor = sd
	}
	return in
}

// glueType is the Hive type Glue shows for an Iceberg type.
func glueType(t any) string {
	switch v := t.(type) {
	case *iceberg.MapType:
		return "map<" + v.Key + "," + v.Value + ">"
	case string:
		switch v {
		case "long":
			return "bigint"
		case "timestamptz":
			return "timestamp"
		}
		return v
	}
	return fmt.Sprint(t)
}

// Curated is the catalog of the lake's curated tables in database: curated_<dataset>.
func Curated(cfg aws.Config, database string, getenv func(string) string) *Catalog {
	c := New(cfg, database, getenv)
	c.Prefix = "curated_"
	return c
}
