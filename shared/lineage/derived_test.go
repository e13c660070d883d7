package lineage_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/sluicelake/sluice/shared/lineage"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/openlineage/oltest"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/zone"
)

// A summary refresh's object names, per output column, the input columns and what was done
// to them: its event's column lineage says so, against the curated tables it read.
func TestSummaryRefreshHasColumnLineageOfItsAggregates(t *testing.T) {
	l := newLake(t, nil)
	client, _ := s3test.StartGofakes3(t)
	cons := s3store.New(client, s3test.CreateBucket(t, client, "consumption"))
	l.rec.Zones[cons.Bucket()] = lineage.Zone{Zone: zone.Consumption, Store: cons}
	rec := &provenance.Record{Job: "summarize", Dataset: "daily_revenue", Kind: provenance.Data, Rows: 3,
		Inputs: []provenance.Input{{Bucket: l.curated.Bucket(), Key: "user_events/"}},
		Columns: map[string][]provenance.ColumnInput{
			"revenue": {{Dataset: "user_events", Field: "amount", Type: "DIRECT", Subtype: "AGGREGATION", Description: "sum(amount)"}},
			"country": {{Dataset: "user_events", Field: "country", Type: "DIRECT", Subtype: "IDENTITY", Description: "group by country"}},
		}}
	put(t, cons, "daily_revenue/dt=2026-11-23/part-0.parquet", rec)
	res, err := l.rec.Record(context.Background(), cons.Bucket(), "daily_revenue/dt=2026-11-23/part-0.parquet", objectstore.ReadOptions{})
	if err != nil || res.Outcome != lineage.Recorded {
		t.Fatalf("%v %v", res.Outcome, err)
	}
	oltest.Validate(t, res.Event)
	var ev struct {
		Outputs []struct {
			Facets struct {
				ColumnLineage struct {
					Fields map[string]struct {
						InputFields []struct {
							Namespace, Name, Field string
							Transformations        []struct{ Type, Subtype, Description string }
						}
					}
				} `json:"columnLineage"`
			}
		}
	}
	if err := json.Unmarshal(res.Event, &ev); err != nil {
		t.Fatal(err)
	}
	rev := ev.Outputs[0].Facets.ColumnLineage.Fields["revenue"].InputFields
	if len(rev) != 1 || rev[0].Namespace != "s3://"+l.curated.Bucket() || rev[0].Name != "user_events/" || rev[0].Field != "amount" ||
		rev[0].Transformations[0].Subtype != "AGGREGATION" || rev[0].Transformations[0].Description != "sum(amount)" {
		t.Errorf("revenue's column lineage: %+v", rev)
	}
	if rows := readRows(t, l.lineage, res.Key); rows[0].OutputZone != "consumption" || rows[0].InputDataset != "user_events" {
		t.Errorf("lineage row: zone %s, input dataset %s", rows[0].OutputZone, rows[0].InputDataset)
	}
}
