// Package gluecatalog is the AWS Glue Data Catalog adapter of iceberg.Catalog: each table is a
// Glue table with table_type=ICEBERG and its current metadata file in the metadata_location
// parameter, which is how Athena (engine v3) finds and reads Iceberg tables.
//
// Optimistic concurrency is Glue's own: UpdateTable is sent with the VersionId the commit read,
// and Glue refuses it (ConcurrentModificationException) when another update came first.
package gluecatalog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"

	"github.com/sluicelake/sluice/shared/iceberg"
)

// API is the part of the Glue client the catalog uses.
type API interface {
	GetTable(ctx context.Context, in *glue.GetTableInput, optFns ...func(*glue.Options)) (*glue.GetTableOutput, error)
	CreateTable(ctx context.Context, in *glue.CreateTableInput, optFns ...func(*glue.Options)) (*glue.CreateTableOutput, error)
	UpdateTable(ctx context.Context, in *glue.UpdateTableInput, optFns ...func(*glue.Options)) (*glue.UpdateTableOutput, error)
}

// Catalog keeps tables in one Glue database.
type Catalog struct {
	Client   API
	Database string
}

// Glue table parameters, as Athena and the Iceberg reference implementation name them.
const (
	ParamTableType        = "table_type"
	ParamMetadataLocation = "metadata_location"
	ParamPrevious         = "previous_metadata_location"
	TableTypeIceberg      = "ICEBERG"
)

// Load reads the table's metadata_location and Glue version.
func (c *Catalog) Load(ctx context.Context, table string) (iceberg.Pointer, error) {
	out, err := c.Client.GetTable(ctx, &glue.GetTableInput{DatabaseName: aws.String(c.Database), Name: aws.String(table)})
	var nf *types.EntityNotFoundException
	if errors.As(err, &nf) {
		return iceberg.Pointer{}, fmt.Errorf("%w: %s.%s is not in Glue", iceberg.ErrNoTable, c.Database, table)
	}
	if err != nil {
		return iceberg.Pointer{}, fmt.Errorf("gluecatalog: get table %s.%s: %w", c.Database, table, err)
	}
	t := out.Table
	if !strings.EqualFold(t.Parameters[ParamTableType], TableTypeIceberg) || t.Parameters[ParamMetadataLocation] == "" {
		return iceberg.Pointer{}, fmt.Errorf("gluecatalog: %s.%s is not an Iceberg table (table_type %q): drop it or give the dataset another database", c.Database, table, t.Parameters[ParamTableType])
	}
	return iceberg.Pointer{Location: t.Parameters[ParamMetadataLocation], Version: aws.ToString(t.VersionId)}, nil
}

// Swap creates the table, or updates it at the Glue version expected names.
func (c *Catalog) Swap(ctx context.Context, table string, expected iceberg.Pointer, u iceberg.Update) (iceberg.Pointer, error) {
	in := tableInput(table, u)
	if expected == (iceberg.Pointer{}) {
		_, err := c.Client.CreateTable(ctx, &glue.CreateTableInput{DatabaseName: aws.String(c.Database), TableInput: in})
		var exists *types.AlreadyExistsException
		if errors.As(err, &exists) {
			return iceberg.Pointer{}, fmt.Errorf("%w: %s.%s was created by another writer", iceberg.ErrConflict, c.Database, table)
		}
		if err != nil {
			return iceberg.Pointer{}, fmt.Errorf("gluecatalog: create table %s.%s: %w", c.Database, table, err)
		}
		return c.Load(ctx, table)
	}
	in.Parameters[ParamPrevious] = expected.Location
	_, err := c.Client.UpdateTable(ctx, &glue.UpdateTableInput{DatabaseName: aws.String(c.Database), TableInput: in,
		VersionId: aws.String(expected.Version), SkipArchive: aws.Bool(false)})
	var cm *types.ConcurrentModificationException
	if errors.As(err, &cm) {
		return iceberg.Pointer{}, fmt.Errorf("%w: %s.%s moved past version %s", iceberg.ErrConflict, c.Database, table, expected.Version)
	}
	if err != nil {
		return iceberg.Pointer{}, fmt.Errorf("gluecatalog: update table %s.%s: %w", c.Database, table, err)
	}
	// The version after the update is read back; a commit only ever uses a pointer it has just
	// loaded, so another update landing in between is caught by the next Swap, not missed.
	return c.Load(ctx, table)
}

// tableInput describes the table to Glue: the Iceberg parameters, the location, and the
// current schema's columns (Athena reads the schema from the metadata; the columns are for
// people browsing the catalog).
func tableInput(table string, u iceberg.Update) *types.TableInput {
	in := &types.TableInput{
		Name:       aws.String(table),
		TableType:  aws.String("EXTERNAL_TABLE"),
		Parameters: map[string]string{ParamTableType: TableTypeIceberg, ParamMetadataLocation: u.Location},
	}
	if m := u.Metadata; m != nil {
		sd := &types.StorageDescriptor{Location: aws.String(m.Location)}
		if s := m.CurrentSchema(); s != nil {
			for _, f := range s.Fields {
				sd.Columns = append(sd.Columns, types.Column{Name: aws.String(f.Name), Type: aws.String(glueType(f.Type)), Comment: optional(f.Doc)})
			}
		}
		in.StorageDescriptor = sd
	}
	return in
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
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
