// Command query is the query API's Lambda behind the API Gateway HTTP API: structured queries
// (and, where switched on, raw SELECTs) compiled with every value a parameter, run on Athena,
// started at once and then polled and paged.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	sdkathena "github.com/aws/aws-sdk-go-v2/service/athena"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/audit"
	"github.com/sluicelake/sluice/shared/catalog"
	"github.com/sluicelake/sluice/shared/erase"
	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/iceberg/gluecatalog"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/piikey"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/query/api"
	"github.com/sluicelake/sluice/shared/query/athena"
	"github.com/sluicelake/sluice/shared/startup"
	"github.com/sluicelake/sluice/shared/summary"
	"github.com/sluicelake/sluice/shared/tracing"
	"github.com/sluicelake/sluice/shared/zone"
)

func main() {
	env := startup.Start("query", tracing.InstrumentAWS)
	settings, err := readSettings(env.Getenv)
	if err != nil {
		env.Fatal("configuration", err)
	}
	eng, err := athena.New(sdkathena.NewFromConfig(env.AWS), settings.athena)
	if err != nil {
		env.Fatal("configuration", err)
	}
	policy, err := events.Access()
	if err != nil {
		env.Fatal("access rules", err)
	}
	sums, err := summary.Shipped()
	if err != nil {
		env.Fatal("summary definitions", err)
	}
	probe := newZoneProbe(env.S3(), settings.curatedBucket)
	svc := &api.Service{
		Compiler: &query.Compiler{Contracts: env.Contracts, Summaries: summary.Contracts(sums), RawSQL: settings.rawSQL, HasData: probe.hasData, Access: policy},
		Engine:   eng,
		Log:      env.Log,
	}
	glue := gluecatalog.Curated(env.AWS, settings.athena.Database, env.Getenv)
	if settings.curatedBucket != "" {
		// History and rollback of the curated Iceberg tables, cataloged in Glue as promote
		// commits them.
		curated := s3store.New(env.S3(), settings.curatedBucket)
		svc.Tables = func(dataset string) *iceberg.Table { return iceberg.Dataset(curated, glue, dataset) }
	}
	// Every request is recorded before it is answered.
	svc.Audit = audit.Store{Objects: s3store.New(env.S3(), settings.auditBucket)}
	if len(settings.zoneBuckets) > 0 {
		stores := map[zone.Zone]objectstore.Store{}
		for z, b := range settings.zoneBuckets {
			stores[z] = s3store.New(env.S3(), b)
		}
		// The catalog's curated counts read the same Glue-cataloged tables.
		svc.Catalog = &catalog.Catalog{Contracts: env.Contracts, Stores: stores, Tables: svc.Tables, Lineage: api.LineageNeighbours(eng, svc.Compiler)}
		// POST /erase, with every zone's bucket and promote's PII key.
		key, err := piikey.Read(context.Background(), env.AWS, env.Getenv)
		if err != nil {
			env.Fatal("PII key", err)
		}
		svc.Erase = &erase.Eraser{Contracts: env.Contracts, Stores: stores, Catalog: glue, PIIKey: key, Grace: settings.eraseGrace}
	}
	lambda.Start(newHandler(svc).handle)
}
