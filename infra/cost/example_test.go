package cost_test

import (
	"fmt"

	"github.com/sluicelake/sluice/infra/cost"
)

// A month of the stack at 1,000 records a second of 400 bytes: start from the default scenario,
// change what differs, and price it with a region's list prices.
func Example() {
	s := cost.Default()
	s.RecordsPerSecond, s.RecordBytes = 1000, 400
	bill, err := cost.Estimate(s, cost.USEast1)
	if err != nil {
		panic(err)
	}
	for _, l := range bill.Lines {
		if l.Part == "Firehose" && l.Item[:9] == "ingestion" {
			fmt.Printf("%s %s: %s, $%.2f\n", l.Part, l.Item, l.Usage, l.USD)
		}
	}
	// The rules behind it: what one 400-byte record bills as.
	fmt.Println(cost.KinesisBilledBytes(400), cost.FirehoseBilledBytes(400), cost.LambdaKinesisRecordBytes(400, 36))
	// Output:
	// Firehose ingestion, 400 B records billed as 5 KB: 12,360 GB, $358.43
	// 1024 5120 1106
}
