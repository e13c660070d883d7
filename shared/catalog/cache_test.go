package catalog

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/quarantine"
)

// TestCacheBounded: however many objects a long-lived function reads, the cache stays near its
// byte bound (it starts again past it), and what it was just given is in it.
func TestCacheBounded(t *testing.T) {
	var c objectCache
	big := read{rows: 1, reasons: map[string]int64{"pattern_mismatch": 1},
		samples: []quarantine.Entry{{Reason: "pattern_mismatch", Preview: strings.Repeat("x", 256), Detail: strings.Repeat("d", 100)}}}
	for i := range 100_000 {
		k := "quarantine/customers/dt=2026-12-05/hr=08/" + strings.Repeat("k", 40) + strconv.Itoa(i)
		c.put(k, big)
		if c.bytes > maxCachedBytes+big.size(k) {
			t.Fatalf("after %d puts the cache holds %d bytes, over its bound %d", i+1, c.bytes, maxCachedBytes)
		}
		if _, ok := c.get(k); !ok {
			t.Fatalf("put %d is not in the cache", i)
		}
	}
	if len(c.m) == 100_000 {
		t.Error("the cache never started again")
	}
}
