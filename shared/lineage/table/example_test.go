package table_test

import (
	"fmt"
	"time"

	"github.com/sluicelake/sluice/shared/lineage/table"
)

// A lineage object lives in the lineage bucket under the hour its output was created in.
func ExampleKey() {
	created := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	fmt.Println(table.Key(created, "cleansed-9f2c"))
	// Output: lineage/dt=2026-11-23/hr=09/cleansed-9f2c.json.gz
}
