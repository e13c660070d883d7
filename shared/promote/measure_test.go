package promote_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestMeasureLargePartition promotes one large clickstream partition and logs its size, time
// and peak heap (sampled; the in-process S3 stand-in's own copy of the objects is included, so
// this overstates promote's memory: TestMeasureBinaryMemory in functions/promote measures the
// built function alone).
// It runs only when SLUICE_PROMOTE_MEASURE_FILES is set: files of 10,000 rows each, e.g.
//
//	SLUICE_PROMOTE_MEASURE_FILES=100 GOMEMLIMIT=400MiB go test -run MeasureLarge -v ./shared/promote
func TestMeasureLargePartition(t *testing.T) {
	files, _ := strconv.Atoi(os.Getenv("SLUICE_PROMOTE_MEASURE_FILES"))
	if files <= 0 {
		t.Skip("set SLUICE_PROMOTE_MEASURE_FILES to the number of 10,000-row cleansed files to promote")
	}
	p, cleansed, _ := lakeB(t)
	pt, size := benchPartitionT(t, cleansed, files, 10000)
	runtime.GC()
	var peak uint64
	stop, stopped := make(chan bool), make(chan bool)
	go func() {
		defer close(stopped)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
		}
	}()
	start := time.Now()
	res, err := p.Promote(context.Background(), "user_events", pt)
	el := time.Since(start)
	close(stop)
	<-stopped
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsIn != int64(files)*10000 || res.RowsOut != res.RowsIn {
		t.Fatalf("rows in %d, out %d: want %d of each (all distinct)", res.RowsIn, res.RowsOut, files*10000)
	}
	t.Logf("in: %d files, %d rows, %.1f MB; out: %d files, %.1f MB; %v (%.1f MB/s of input); peak heap in use %d MB",
		res.FilesIn, res.RowsIn, float64(size)/1e6, len(res.Files), float64(res.BytesOut)/1e6, el.Round(time.Millisecond), float64(size)/el.Seconds()/1e6, peak>>20)
}
