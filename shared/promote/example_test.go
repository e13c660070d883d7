package promote_test

import (
	"fmt"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/promote"
)

// The PII policy of the customers contract, as the curated zone applies it.
func Example_piiPolicy() {
	reg, _ := events.Registry()
	c := reg["customers"]
	for _, f := range c.Fields {
		fmt.Printf("%-10s %s\n", f.Name, f.PII)
	}
	fmt.Println(promote.Mask("Lovelace"))
	fmt.Println(promote.HashHex([]byte("key from the secret"), []byte("ada@example.com"))[:16], "…")
	fmt.Println(promote.CuratedSchema(c).Columns())
	// Output:
	// uuid       keep
	// event_date keep
	// status     keep
	// name       keep
	// last_name  mask
	// email      hash
	// phone      drop
	// ****lace
	// 4b77b6ddcb63b07f …
	// [[email] [event_date] [last_name] [name] [status] [uuid]]
}
