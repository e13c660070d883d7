// Command maintain is the Lambda a schedule (EventBridge, daily by default) invokes to maintain
// the curated Iceberg tables: compaction of small files, snapshot expiry and orphan removal,
// each table's run recorded (shared/maintain).
//
// SLUICE_CURATED_BUCKET and SLUICE_ICEBERG_GLUE_DATABASE name the tables (unset database: the
// pointers in the bucket, as locally); SLUICE_MAINTAIN_KEEP_DAYS, SLUICE_MAINTAIN_KEEP_SNAPSHOTS,
// SLUICE_MAINTAIN_ORPHAN_AGE_HOURS, SLUICE_MAINTAIN_KEEP_METADATA_FILES,
// SLUICE_MAINTAIN_COMPACT_PARTITIONS and SLUICE_MAINTAIN_CDC_DELETE_RETENTION_DAYS set what a
// run keeps (unset: shared/maintain's defaults);
// SLUICE_PROMOTE_TARGET_BYTES the size compaction merges files up to.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/iceberg/gluecatalog"
	"github.com/sluicelake/sluice/shared/maintain"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/startup"
)

func main() {
	env := startup.Start("maintain")
	p := &promote.Promoter{Contracts: env.Contracts, Curated: env.Bucket(envvar.CuratedBucket),
		TargetBytes: int64(env.Int(envvar.PromoteTargetBytes)), Log: env.Log}
	if db := env.Getenv(envvar.IcebergGlueDatabase); db != "" {
		p.Catalog = gluecatalog.Curated(env.AWS, db, env.Getenv)
	}
	m := &maintain.Maintainer{Promoter: p, Log: env.Log, Settings: maintain.Settings{
		KeepDays:               env.Int(envvar.MaintainKeepDays),
		KeepSnapshots:          env.Int(envvar.MaintainKeepSnapshots),
		OrphanAge:              time.Duration(env.Int(envvar.MaintainOrphanAgeHours)) * time.Hour,
		KeepMetadataFiles:      env.Int(envvar.MaintainKeepMetadataFiles),
		CompactPartitions:      env.Int(envvar.MaintainCompactPartitions),
		CDCDeleteRetentionDays: env.Int(envvar.MaintainCDCDeleteRetentionDays),
	}}
	lambda.Start(newHandler(m, env.Log, os.Stdout).handle)
}
