// Package cdctest gives tests of other packages the change stream contract of shared/cdc's
// tests (testdata/customers_changes.avsc: Debezium's inventory.customers), so that they all
// fold the same stream.
package cdctest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sluicelake/sluice/shared/contract"
)

// Contract parses the test change stream's contract, failing t when it cannot.
func Contract(t testing.TB) *contract.Contract {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(here), "..", "testdata", "customers_changes.avsc")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("cdctest: %v", err)
	}
	c, err := contract.Parse("customers_changes.avsc", b)
	if err != nil {
		t.Fatalf("cdctest: %s: %v", path, err)
	}
	return c
}
