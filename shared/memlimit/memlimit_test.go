package memlimit_test

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/sluicelake/sluice/shared/memlimit"
)

func TestApply(t *testing.T) {
	defer debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
	mb, share := 128.0, memlimit.Share
	if got, want := memlimit.Apply(), int64(mb*share*(1<<20)); got != want || debug.SetMemoryLimit(-1) != want {
		t.Fatalf("limit %d, want %d", got, want)
	}
	t.Setenv("GOMEMLIMIT", "200MiB")
	if memlimit.Apply() != 0 {
		t.Fatal("GOMEMLIMIT must win")
	}
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
	if memlimit.Apply() != 0 {
		t.Fatal("outside Lambda nothing is set")
	}
}
