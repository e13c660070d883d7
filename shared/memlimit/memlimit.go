// Package memlimit sizes the Go heap to the function it runs in.
//
// Go's collector lets the heap grow to twice what is live before it runs, which is right for a
// server with memory to spare and wrong for a function with a fixed memory size: a 6 MB batch
// peaks near 100 MB RSS by default, and about 68 MB with a soft limit of 48 MB, at no measurable
// cost in time (go test -bench Binary6MB ./functions/ingest, with BENCH_GOMEMLIMIT varied).
package memlimit

import (
	"os"
	"runtime/debug"
	"strconv"
)

// Share is the part of the function's memory given to the Go heap; the rest holds the binary's
// text, stacks, and what the runtime keeps outside the heap.
const Share = 0.4

// Apply sets the heap's soft limit from AWS_LAMBDA_FUNCTION_MEMORY_SIZE (MB), unless GOMEMLIMIT
// says otherwise. It returns the limit in bytes, or 0 when none was set.
func Apply() int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0 // an operator's explicit choice wins
	}
	mb, err := strconv.Atoi(os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if err != nil || mb <= 0 {
		return 0
	}
	limit := int64(float64(mb) * Share * (1 << 20))
	debug.SetMemoryLimit(limit)
	return limit
}
