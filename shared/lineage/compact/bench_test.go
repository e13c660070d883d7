package compact_test

import (
	"fmt"
	"github.com/sluicelake/sluice/localstack/s3local/s3localtest"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/lineage/compact"
	"github.com/sluicelake/sluice/shared/lineage/graph/graphtest"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
)

// BenchmarkCompactHour compacts an hour of 2,000 lineage objects (one promote event of two
// edges each) on versitygw: listing, 2,000 GETs 16 at a time, one Parquet PUT.
// go test -run XXX -bench CompactHour -benchtime 3x ./shared/lineage/compact
func BenchmarkCompactHour(b *testing.B) {
	const objects = 2000
	client, _ := s3localtest.Start(b)
	store := s3store.New(client, s3test.CreateBucket(b, client, "lineage"))
	base := time.Now().Truncate(time.Hour).Add(-24 * time.Hour)
	promote := graphtest.Events()["promote-1"]
	var bytes int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		hour := base.Add(time.Duration(-i) * time.Hour)
		for j := range objects {
			rows := make([]table.Row, len(promote))
			copy(rows, promote)
			for k := range rows {
				rows[k].EventTime, rows[k].OutputName = hour.Add(time.Duration(j)*time.Millisecond), fmt.Sprintf("user_events/part-%d.parquet", j)
			}
			data, err := table.Encode(rows)
			if err != nil {
				b.Fatal(err)
			}
			bytes += int64(len(data))
			if _, err := store.Put(b.Context(), table.Key(rows[0].EventTime, fmt.Sprint(j)), data, objectstore.PutOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		rep, err := compact.Run(b.Context(), store, compact.Options{Lookback: 1, Now: func() time.Time { return hour.Add(time.Hour + 20*time.Minute) }})
		if err != nil || len(rep.Hours) != 1 || rep.Hours[0].Objects != objects {
			b.Fatalf("%v %+v", err, rep)
		}
	}
	b.ReportMetric(float64(objects*b.N)/b.Elapsed().Seconds(), "objects/s")
}
