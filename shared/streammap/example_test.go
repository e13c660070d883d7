package streammap_test

import (
	"fmt"

	"github.com/sluicelake/sluice/shared/streammap"
)

func Example() {
	m, err := streammap.Parse(`{"customers":"sluice-dev-customers","user_events":"sluice-dev-user-events"}`, "sluice-dev-events")
	if err != nil {
		panic(err)
	}
	fmt.Println(m.StreamFor("customers"), m.StreamFor("orders"))
	fmt.Println(m.DatasetOf("arn:aws:kinesis:us-east-1:123456789012:stream/sluice-dev-customers"))
	fmt.Println(m.DatasetOf("sluice-dev-events"))
	fmt.Println(m.Encode())
	// Output:
	// sluice-dev-customers sluice-dev-events
	// customers true
	//  false
	// {"customers":"sluice-dev-customers","user_events":"sluice-dev-user-events"}
}
