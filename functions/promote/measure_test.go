package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	sluiceevents "github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

// TestMeasureBinaryMemory promotes one large clickstream partition with the built binary and
// logs its peak RSS (VmHWM: the function's own memory, the S3 stand-in runs in the test).
// Opt-in, as it takes a while:
//
//	SLUICE_PROMOTE_MEASURE_FILES=100 go test -run MeasureBinaryMemory -v -timeout 30m ./functions/promote
//
// SLUICE_PROMOTE_MEASURE_FILES is the number of 10,000-row cleansed files; optional
// SLUICE_PROMOTE_MEASURE_MB is the function's memory size (default 512), and
// SLUICE_PROMOTE_MEASURE_BINARY another bootstrap to measure (an earlier build);
// SLUICE_PROMOTE_TARGET_BYTES, SLUICE_PROMOTE_STEP_BYTES and GOMEMLIMIT pass through.
func TestMeasureBinaryMemory(t *testing.T) {
	files, _ := strconv.Atoi(os.Getenv("SLUICE_PROMOTE_MEASURE_FILES"))
	if files <= 0 {
		t.Skip("set SLUICE_PROMOTE_MEASURE_FILES to the number of 10,000-row cleansed files to promote")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read the function's peak RSS")
	}
	mb, _ := strconv.Atoi(os.Getenv("SLUICE_PROMOTE_MEASURE_MB"))
	if mb <= 0 {
		mb = 512
	}
	exe := os.Getenv("SLUICE_PROMOTE_MEASURE_BINARY")
	if exe == "" {
		exe = build(t)
	}
	client, endpoint := s3test.StartGofakes3(t)
	ctx := context.Background()
	for _, b := range []string{"cleansed", "curated"} {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	reg, _ := sluiceevents.Registry()
	now := time.Date(2026, 11, 23, 9, 59, 0, 0, time.UTC)
	g, err := fake.New(reg["user_events"], fake.Options{Seed: 1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	pt := zone.PartitionOf(now.UnixMilli())
	var size int64
	var last string
	for f := range files {
		b := record.NewBatch(reg, record.Options{DefaultDataset: "user_events", Now: func() time.Time { return now }})
		for i := range 10000 {
			b.Add(g.Next().Data, i)
		}
		var buf bytes.Buffer
		if err := parquetfile.WriteTable(&buf, b.Tables()[0], parquetfile.Options{}); err != nil {
			t.Fatal(err)
		}
		size += int64(buf.Len())
		last = zone.Key("user_events", pt, fmt.Sprintf("f%04d.parquet", f))
		put(t, client, "cleansed", last, buf.Bytes())
	}

	var stderr lockedBuffer
	var extra []string
	for _, k := range []string{"SLUICE_PROMOTE_TARGET_BYTES", "SLUICE_PROMOTE_STEP_BYTES", "GOMEMLIMIT", "GOGC", "GODEBUG"} {
		if v := os.Getenv(k); v != "" {
			extra = append(extra, k+"="+v)
		}
	}
	fn, err := runtimeapi.Start(ctx, runtimeapi.Config{Name: "promote", Binary: exe, MemorySize: mb, Timeout: 15 * time.Minute, Stderr: &stderr,
		Env: append(extra, "AWS_ENDPOINT_URL_S3="+endpoint, "AWS_ACCESS_KEY_ID="+s3test.AccessKey,
			"AWS_SECRET_ACCESS_KEY="+s3test.SecretKey, "AWS_REGION=us-east-1", "SLUICE_TRACING=off",
			"SLUICE_CLEANSED_BUCKET=cleansed", "SLUICE_CURATED_BUCKET=curated", "SLUICE_PII_KEY=00112233445566778899aabbccddeeff")})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	pid := childRunning(t, exe)
	start := time.Now()
	res, err := fn.Invoke(ctx, []byte(fmt.Sprintf(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"cleansed"},"object":{"key":%q}}}]}`, last)))
	el := time.Since(start)
	if err != nil || res.FunctionError != nil {
		t.Fatalf("%v %v", err, res.FunctionError)
	}
	var out Result
	json.Unmarshal(res.Payload, &out)
	if len(out.Partitions) != 1 || out.Partitions[0].RowsOut != int64(files)*10000 {
		t.Fatalf("result %s: want %d rows out", res.Payload, files*10000)
	}
	s := out.Partitions[0]
	t.Logf("%d files, %d rows, %.1f MB cleansed -> %d curated files; %v; function memory %d MB, peak RSS %s%s",
		s.FilesIn, s.RowsIn, float64(size)/1e6, len(s.Files), el.Round(time.Millisecond), mb, peakRSS(t, pid), maxLive(stderr.String()))
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// maxLive reads the largest live heap after a collection from gctrace lines
// ("gc 7 @0.1s 1%: ..., 12->14->9 MB, 16 MB goal, ...").
func maxLive(log string) string {
	best, n := 0, 0
	for _, l := range strings.Split(log, "\n") {
		if !strings.HasPrefix(l, "gc ") {
			continue
		}
		for _, f := range strings.Fields(l) {
			if parts := strings.Split(f, "->"); len(parts) == 3 {
				if v, err := strconv.Atoi(parts[2]); err == nil {
					best, n = max(best, v), n+1
				}
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", largest live heap after %d collections %d MB", n, best)
}

// childRunning finds the process of this test running exe.
func childRunning(t *testing.T, exe string) int {
	t.Helper()
	want, _ := filepath.EvalSymlinks(exe)
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		if got, err := os.Readlink(d + "/exe"); err == nil && got == want {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	t.Fatalf("no child process runs %s", exe)
	return 0
}

func peakRSS(t *testing.T, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "unknown"
}
