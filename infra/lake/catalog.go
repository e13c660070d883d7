package lake

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsathena"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/summary"
	"github.com/sluicelake/sluice/shared/zone"
)

// Catalog is the Glue database with a table per contract and zone, and the Athena workgroup
// that queries them.
type Catalog struct {
	Database awsglue.CfnDatabase
	Tables   map[string]awsglue.CfnTable // by table name, e.g. "curated_user_events"
	// Contracts are each table's columns, by table name.
	Contracts map[string]*contract.Contract
	WorkGroup awsathena.CfnWorkGroup
	Name      string // the Glue database name
}

// TableZones are the zones with tables, and the key prefix a dataset's data sits under in each.
//
// Curated is not among them: each dataset's curated table is an Iceberg table that promote
// creates in the same database (curated_<dataset>, table_type=ICEBERG) at its first commit and
// moves forward with every snapshot, which a template cannot describe.
var TableZones = []struct{ Zone, Prefix string }{
	{"raw", "archive/"}, // the Firehose archive; landing/ holds file drops in their own formats
	{"cleansed", ""},
}

// TableName is the Glue table of a dataset in a zone.
func TableName(zone, dataset string) string { return zone + "_" + dataset }

func newCatalog(stack awscdk.Stack, s Settings, st *Storage, key awskms.IKey, contracts []*contract.Contract, sums []*summary.Summary) *Catalog {
	c := &Catalog{Name: s.GlueDatabase(), Tables: map[string]awsglue.CfnTable{}, Contracts: map[string]*contract.Contract{}}
	c.Database = awsglue.NewCfnDatabase(stack, jsii.String("GlueDatabase"), &awsglue.CfnDatabaseProps{
		CatalogId: stack.Account(),
		DatabaseInput: &awsglue.CfnDatabase_DatabaseInputProperty{
			Name:        jsii.String(c.Name),
			Description: jsii.String("sluice lake, stage " + s.Stage + ": one table per dataset contract and zone"),
		},
	})
	buckets := map[string]awss3.Bucket{"raw": st.Raw, "cleansed": st.Cleansed, "curated": st.Curated}
	for _, ct := range contracts {
		for _, z := range TableZones {
			t := newTable(stack, s, c, ct, z.Zone, buckets[z.Zone], z.Prefix, parquetTable)
			c.Tables[TableName(z.Zone, ct.Name)] = t
		}
	}
	// The lineage function's records: gzip'd JSON lines, which it can write without a Parquet
	// library (its binary stays small).
	lin := table.Contract()
	c.Tables[TableName(string(table.Zone), lin.Name)] = newTable(stack, s, c, lin, string(table.Zone), st.Lineage, "", jsonTable)
	// The same rows compacted to Parquet by the lineagecompact function; readers of the lineage
	// dataset read both (table.From).
	// The query API's audit trail, gzip'd JSON lines like the lineage function's.
	aud := audit.Contract()
	c.Tables[TableName(string(audit.Zone), aud.Name)] = newTable(stack, s, c, aud, string(audit.Zone), st.Audit, "", jsonTable)
	for _, sum := range sums {
		c.Tables[TableName(string(zone.Consumption), sum.Name)] = newSummaryTable(stack, s, c, sum, st.Consumption)
	}
	comp := table.CompactedContract()
	c.Tables[TableName(string(table.Zone), comp.Name)] = newTable(stack, s, c, comp, string(table.Zone), st.Lineage, "", parquetTable)

	c.WorkGroup = awsathena.NewCfnWorkGroup(stack, jsii.String("AthenaWorkGroup"), &awsathena.CfnWorkGroupProps{
		Name:        jsii.String("sluice-" + s.Stage),
		Description: jsii.String("sluice queries: results encrypted, bytes scanned capped per query"),
		State:       jsii.String("ENABLED"),
		// Deleting the stack must not fail on saved queries or query history.
		RecursiveDeleteOption: jsii.Bool(true),
		WorkGroupConfiguration: &awsathena.CfnWorkGroup_WorkGroupConfigurationProperty{
			EnforceWorkGroupConfiguration:   jsii.Bool(true),
			PublishCloudWatchMetricsEnabled: jsii.Bool(true),
			BytesScannedCutoffPerQuery:      jsii.Number(float64(s.BytesScannedCutoff)),
			EngineVersion: &awsathena.CfnWorkGroup_EngineVersionProperty{
				SelectedEngineVersion: jsii.String("Athena engine version 3"),
			},
			ResultConfiguration: &awsathena.CfnWorkGroup_ResultConfigurationProperty{
				OutputLocation: jsii.String(fmt.Sprintf("s3://%s/results/", *st.Results.BucketName())),
				EncryptionConfiguration: &awsathena.CfnWorkGroup_EncryptionConfigurationProperty{
					EncryptionOption: jsii.String("SSE_KMS"),
					KmsKey:           key.KeyArn(),
				},
			},
		},
	})
	return c
}

// tableFormat is how a table's files are stored.
type tableFormat struct {
	classification, input, output, serde string
	serdeParams                          map[string]interface{}
}

var (
	parquetTable = tableFormat{"parquet", "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
		"org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat", "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
		map[string]interface{}{"serialization.format": "1"}}
	// Athena reads .gz text files decompressed; the OpenX SerDe takes timestamps written as
	// "yyyy-MM-dd HH:mm:ss.SSS", which is how the lineage table writes them.
	jsonTable = tableFormat{"json", "org.apache.hadoop.mapred.TextInputFormat",
		"org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat", "org.openx.data.jsonserde.JsonSerDe",
		map[string]interface{}{"ignore.malformed.json": "FALSE", "case.insensitive": "TRUE"}}
)

// newTable defines one dataset's table in one zone, partitioned by dt and hr with partition
// projection, so neither a crawler nor partition registration is ever needed.
func newTable(stack awscdk.Stack, s Settings, c *Catalog, ct *contract.Contract, zone string, bucket awss3.Bucket, prefix string, format tableFormat) awsglue.CfnTable {
	cols := columns(ct, "")
	base := fmt.Sprintf("s3://%s/%s%s/", *bucket.BucketName(), prefix, ct.Name)
	name := TableName(zone, ct.Name)
	c.Contracts[name] = ct
	t := awsglue.NewCfnTable(stack, jsii.String("Table-"+name), &awsglue.CfnTableProps{
		CatalogId:    stack.Account(),
		DatabaseName: jsii.String(c.Name),
		TableInput: &awsglue.CfnTable_TableInputProperty{
			Name:        jsii.String(name),
			Description: jsii.String(truncate(fmt.Sprintf("%s zone of %s (contract %s): %s", zone, ct.Name, ct.Version, ct.Doc), 2048)),
			TableType:   jsii.String("EXTERNAL_TABLE"),
			Parameters: &map[string]interface{}{
				"classification":              format.classification,
				"sluice.contract.version":     ct.Version,
				"projection.enabled":          "true",
				"projection.dt.type":          "date",
				"projection.dt.range":         ProjectionRange(s.ProjectionStart),
				"projection.dt.format":        "yyyy-MM-dd",
				"projection.dt.interval":      "1",
				"projection.dt.interval.unit": "DAYS",
				"projection.hr.type":          "integer",
				"projection.hr.range":         "0,23",
				"projection.hr.digits":        "2",
				"storage.location.template":   base + "dt=${dt}/hr=${hr}/",
			},
			PartitionKeys: &[]interface{}{
				&awsglue.CfnTable_ColumnProperty{Name: jsii.String("dt"), Type: jsii.String("date"), Comment: jsii.String("UTC date of the event time")},
				&awsglue.CfnTable_ColumnProperty{Name: jsii.String("hr"), Type: jsii.String("int"), Comment: jsii.String("UTC hour of the event time")},
			},
			StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
				Columns:      &cols,
				Location:     jsii.String(base),
				InputFormat:  jsii.String(format.input),
				OutputFormat: jsii.String(format.output),
				Compressed:   jsii.Bool(true),
				SerdeInfo: &awsglue.CfnTable_SerdeInfoProperty{
					SerializationLibrary: jsii.String(format.serde),
					Parameters:           &format.serdeParams,
				},
			},
		},
	})
	t.Node().AddDependency(c.Database)
	return t
}

// columns are a contract's Glue columns, less the one named skip (a partition key).
func columns(ct *contract.Contract, skip string) []interface{} {
	var cols []interface{}
	for i := range ct.Fields {
		f := &ct.Fields[i]
		if f.Name == skip {
			continue
		}
		col := &awsglue.CfnTable_ColumnProperty{Name: jsii.String(f.Name), Type: jsii.String(f.GlueType())}
		if f.Doc != "" {
			col.Comment = jsii.String(truncate(f.Doc, 255))
		}
		cols = append(cols, col)
	}
	return cols
}

// newSummaryTable defines a summary's table in the consumption zone: Parquet under
// <summary>/, partitioned by day (dt, projected) when its grain is day, from its generated
// contract.
func newSummaryTable(stack awscdk.Stack, s Settings, c *Catalog, sum *summary.Summary, bucket awss3.Bucket) awsglue.CfnTable {
	ct := sum.Contract
	name := TableName(string(zone.Consumption), ct.Name)
	c.Contracts[name] = ct
	base := fmt.Sprintf("s3://%s/%s/", *bucket.BucketName(), ct.Name)
	params := map[string]interface{}{"classification": "parquet", "sluice.contract.version": ct.Version, "sluice.summary": sum.Path}
	var parts []interface{}
	if sum.Grain == summary.Day {
		for k, v := range map[string]string{"projection.enabled": "true", "projection.dt.type": "date", "projection.dt.range": ProjectionRange(s.ProjectionStart),
			"projection.dt.format": "yyyy-MM-dd", "projection.dt.interval": "1", "projection.dt.interval.unit": "DAYS", "storage.location.template": base + "dt=${dt}/"} {
			params[k] = v
		}
		parts = append(parts, &awsglue.CfnTable_ColumnProperty{Name: jsii.String(summary.DayColumn), Type: jsii.String("date"), Comment: jsii.String("UTC day of the event time")})
	}
	cols := columns(ct, summary.DayColumn)
	f := parquetTable
	t := awsglue.NewCfnTable(stack, jsii.String("Table-"+name), &awsglue.CfnTableProps{
		CatalogId:    stack.Account(),
		DatabaseName: jsii.String(c.Name),
		TableInput: &awsglue.CfnTable_TableInputProperty{
			Name:          jsii.String(name),
			Description:   jsii.String(truncate(fmt.Sprintf("consumption zone: summary %s (%s), kept by the summarize function: %s", ct.Name, sum.Path, ct.Doc), 2048)),
			TableType:     jsii.String("EXTERNAL_TABLE"),
			Parameters:    &params,
			PartitionKeys: &parts,
			StorageDescriptor: &awsglue.CfnTable_StorageDescriptorProperty{
				Columns: &cols, Location: jsii.String(base), InputFormat: jsii.String(f.input), OutputFormat: jsii.String(f.output), Compressed: jsii.Bool(true),
				SerdeInfo: &awsglue.CfnTable_SerdeInfoProperty{SerializationLibrary: jsii.String(f.serde), Parameters: &f.serdeParams},
			},
		},
	})
	t.Node().AddDependency(c.Database)
	return t
}

// ProjectionRange is the dt range Athena's partition projection covers. Athena makes up every
// partition of the range a query's filters leave open (24 per day with hr) and looks each up in
// S3, so the range starts at the oldest data (projectionStart), not years before it. It ends a
// day past NOW: events may carry a time up to an hour ahead of the clock, and after 23:00 UTC
// that is tomorrow's date, which a range ending at NOW would not show.
func ProjectionRange(start string) string { return start + ",NOW+1DAYS" }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
