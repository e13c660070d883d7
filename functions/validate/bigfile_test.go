package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/localstack/s3local/s3localtest"
	"github.com/sluicelake/sluice/shared/filedrop"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
)

// TestLargeFileBoundedMemory validates a JSON-lines file through the built binary with 128 MB
// of memory, against versitygw (objects on disk), and reports the process's peak RSS. The file
// is 32 MB unless SLUICE_VALIDATE_BIG_MB says otherwise (1024 for the 1 GB run).
func TestLargeFileBoundedMemory(t *testing.T) {
	sizeMB := 32
	if s := os.Getenv("SLUICE_VALIDATE_BIG_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("SLUICE_VALIDATE_BIG_MB=%q: %v", s, err)
		}
		sizeMB = n
	}
	exe := build(t) // before versitygw, which changes the working directory
	recs := records(t, "user_events", 10_000, 0)
	block := jsonLines(recs)
	blocks := (sizeMB<<20 + len(block) - 1) / len(block)
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "big.jsonl")
	writeFile(t, jsonl, func(w io.Writer) error {
		for range blocks {
			if _, err := w.Write(block); err != nil {
				return err
			}
		}
		return nil
	})
	// The same rows as Parquet, a row group per block, as a warehouse export would have them.
	pq := parquetOf(t, recs)
	pqFile, err := parquet.OpenFile(bytes.NewReader(pq), int64(len(pq)))
	if err != nil {
		t.Fatal(err)
	}
	parq := filepath.Join(dir, "big.parquet")
	writeFile(t, parq, func(w io.Writer) error {
		pw := parquet.NewWriter(w, pqFile.Schema())
		for range blocks {
			if _, err := parquet.CopyRows(pw, parquet.NewReader(bytes.NewReader(pq))); err != nil {
				return err
			}
			if err := pw.Flush(); err != nil {
				return err
			}
		}
		return pw.Close()
	})

	client, srv := s3localtest.Start(t)
	ctx := context.Background()
	for _, b := range []string{"raw", "cleansed", "quarantine"} {
		if err := srv.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	fn, err := runtimeapi.Start(ctx, runtimeapi.Config{
		Name: "validate", Binary: exe, MemorySize: 128, Timeout: 15 * time.Minute,
		Env: []string{"AWS_ENDPOINT_URL_S3=" + srv.Endpoint(), "AWS_ACCESS_KEY_ID=" + srv.AccessKey,
			"AWS_SECRET_ACCESS_KEY=" + srv.SecretKey, "AWS_REGION=" + srv.Region, "SLUICE_TRACING=off",
			"SLUICE_RAW_BUCKET=raw", "SLUICE_CLEANSED_BUCKET=cleansed", "SLUICE_QUARANTINE_BUCKET=quarantine"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	for _, path := range []string{jsonl, parq} {
		key := "landing/user_events/big/" + filepath.Base(path)
		validateBig(t, ctx, client, fn, exe, path, key, int64(blocks*10_000))
	}
}

func writeFile(t *testing.T, path string, write func(io.Writer) error) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := write(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// validateBig uploads a file, validates it through the running function and checks every row
// reached the cleansed zone within the function's memory.
func validateBig(t *testing.T, ctx context.Context, client *s3.Client, fn *runtimeapi.Function, exe, path, key string, want int64) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	fileSize := st.Size()
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("raw"), Key: aws.String(key), Body: f}); err != nil {
		t.Fatal(err)
	}
	event := `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"raw"},"object":{"key":"` + key + `"}}}]}`
	start := time.Now()
	res, err := fn.Invoke(ctx, []byte(event))
	if err != nil || res.FunctionError != nil {
		t.Fatalf("%v %v", err, res.FunctionError)
	}
	took := time.Since(start)
	rss, err := peakRSS(exe)
	if err != nil {
		t.Fatal(err)
	}
	var out Result
	if err := json.Unmarshal(res.Payload, &out); err != nil || len(out.Files) != 1 {
		t.Fatalf("%s %v", res.Payload, err)
	}
	if got := out.Files[0]; got.RowsIn != want || got.Valid != want {
		t.Fatalf("%+v, want %d rows valid", got, want)
	}
	var rep filedrop.Report
	if err := json.Unmarshal(s3test.Read(t, client, "cleansed", out.Files[0].Report), &rep); err != nil {
		t.Fatal(err)
	}
	var rows int64
	for _, k := range rep.CleansedObjects {
		pf, err := parquetfile.Footer(s3test.Read(t, client, "cleansed", k))
		if err != nil {
			t.Fatal(err)
		}
		rows += pf.NumRows()
	}
	if rows != want {
		t.Fatalf("%d rows in the cleansed zone, want %d", rows, want)
	}
	t.Logf("%s: %.0f MB, %d rows in %.1f s (%.1f MB/s, %.0f rows/s); peak RSS %.1f MB", filepath.Ext(path),
		float64(fileSize)/(1<<20), want, took.Seconds(), float64(fileSize)/(1<<20)/took.Seconds(), float64(want)/took.Seconds(), float64(rss)/(1<<20))
	if rss > 128<<20 {
		t.Fatalf("peak RSS %.1f MB is over the function's 128 MB", float64(rss)/(1<<20))
	}
}

// peakRSS is the high-water mark of resident memory of the running process of exe.
func peakRSS(exe string) (int64, error) {
	procs, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, p := range procs {
		if target, err := os.Readlink(p); err != nil || target != exe {
			continue
		}
		status, err := os.ReadFile(filepath.Join(filepath.Dir(p), "status"))
		if err != nil {
			return 0, err
		}
		for _, line := range strings.Split(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, os.ErrNotExist
}
