package filedrop_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/filedrop"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
)

// A CSV file dropped under landing/customers/ is validated against the customers contract: the
// valid rows go to the cleansed zone as Parquet, the rest to quarantine with their reasons.
func Example() {
	srv := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	defer srv.Close()
	client := s3test.NewClient(srv.URL, s3test.AccessKey, s3test.SecretKey)
	ctx := context.Background()
	store := map[string]objectstore.Store{}
	for _, b := range []string{"raw", "cleansed", "quarantine"} {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &b}); err != nil {
			panic(err)
		}
		store[b] = s3store.New(client, b)
	}
	contracts, _ := events.Registry()
	v := &filedrop.Validator{Contracts: contracts, Raw: store["raw"], Cleansed: store["cleansed"], Quarantine: store["quarantine"]}

	csv := "uuid,event_date,status,name,last_name,email,phone\n" +
		"0f8fad5b-d9cb-469f-a165-70867728950e,2026-01-02T03:04:05Z,Active,Ann,Lee,ann@example.com,\n" +
		"7c9e6679-7425-40de-944b-e07fc1f90ae7,2026-01-02T03:30:00Z,Gone,Bob,Ray,bob@example.com,555-1234\n"
	key := "landing/customers/2026-01-02/export.csv"
	store["raw"].Put(ctx, key, []byte(csv), objectstore.PutOptions{})

	rep, err := v.Validate(ctx, key, "")
	if err != nil {
		panic(err) // a store failure: retry
	}
	fmt.Println(rep.RowsIn, "rows:", rep.Valid, "valid,", rep.Quarantined, "quarantined", rep.Rules)
	fmt.Println(rep.CleansedObjects[0][:len("customers/dt=2026-01-02/hr=03/")])
	fmt.Println(rep.Columns["phone"].Nulls, "null phone")
	// Output:
	// 2 rows: 1 valid, 1 quarantined map[unknown_enum_value:status:1]
	// customers/dt=2026-01-02/hr=03/
	// 1 null phone
}
