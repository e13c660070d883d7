package s3local_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/localstack/s3local"
)

func start(t testing.TB) *s3local.Server {
	t.Helper()
	srv, err := s3local.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return srv
}

func TestObjectsArePlainFiles(t *testing.T) {
	srv := start(t)
	ctx := t.Context()
	if !strings.HasPrefix(srv.Endpoint(), "http://127.0.0.1:") {
		t.Fatalf("endpoint %q is not on 127.0.0.1", srv.Endpoint())
	}
	if err := srv.CreateBucket(ctx, "cleansed"); err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateBucket(ctx, "cleansed"); err != nil {
		t.Fatalf("creating an existing bucket again: %v", err)
	}
	key := "user_events/dt=2026-11-23/hr=07/part-0001.parquet"
	body := []byte("PAR1\x00\x01\x02PAR1")
	client := srv.Client()
	_, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:   aws.String("cleansed"),
		Key:      aws.String(key),
		Body:     bytes.NewReader(body),
		Metadata: map[string]string{"dataset": "user_events"},
	})
	if err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(filepath.Join(srv.Dir, "cleansed", key))
	if err != nil {
		t.Fatalf("the object is not a file under Dir: %v", err)
	}
	if !bytes.Equal(onDisk, body) {
		t.Fatalf("file holds %q, want %q", onDisk, body)
	}
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("cleansed"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	if head.Metadata["dataset"] != "user_events" {
		t.Fatalf("metadata lost: %v", head.Metadata)
	}
}

func TestSignaturesAreChecked(t *testing.T) {
	srv := start(t)
	if err := srv.CreateBucket(t.Context(), "raw"); err != nil {
		t.Fatal(err)
	}
	orig := srv.SecretKey
	srv.SecretKey = "not-the-secret"
	client := srv.Client()
	srv.SecretKey = orig
	_, err := client.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String("raw")})
	if err == nil {
		t.Fatal("a request signed with the wrong secret was accepted")
	}
}

func TestOneServerPerProcessAndWorkingDirectoryRestored(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	first, err := s3local.Start(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3local.Start(context.Background(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "already running") {
		first.Close()
		t.Fatalf("a second Start while one runs: err = %v, want an 'already running' error", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if now, _ := os.Getwd(); now != wd {
		t.Fatalf("working directory is %s after Close, want %s", now, wd)
	}
	if c, err := net.Dial("tcp", first.Addr()); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after Close", first.Addr())
	}

	// And after Close a new one can start.
	second := start(t)
	if err := second.CreateBucket(t.Context(), "curated"); err != nil {
		t.Fatal(err)
	}
}

func TestCancelledContextStopsServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := s3local.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := srv.Close(); err != nil {
		t.Fatalf("Close after the context ended: %v", err)
	}
	if c, err := net.Dial("tcp", srv.Addr()); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after its context ended", srv.Addr())
	}
}

// BenchmarkStart measures how long Start takes to return a ready server (Close is timed
// separately, as close-ms).
func BenchmarkStart(b *testing.B) {
	var closing time.Duration
	for b.Loop() {
		srv, err := s3local.Start(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		t0 := time.Now()
		if err := srv.Close(); err != nil {
			b.Fatal(err)
		}
		closing += time.Since(t0)
		b.StartTimer()
	}
	b.ReportMetric(float64(closing.Milliseconds())/float64(b.N), "close-ms/op")
}

func Example() {
	dir, _ := os.MkdirTemp("", "lake")
	defer os.RemoveAll(dir)

	ctx := context.Background()
	srv, err := s3local.Start(ctx, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	// Point the functions at it with AWS_ENDPOINT_URL_S3=srv.Endpoint() and the server's
	// keys; here we use its own client.
	_ = srv.CreateBucket(ctx, "raw")
	_, err = srv.Client().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("raw"),
		Key:    aws.String("landing/batch-1.jsonl"),
		Body:   bytes.NewReader([]byte(`{"user_id":"u1"}` + "\n")),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := os.ReadFile(filepath.Join(srv.Dir, "raw", "landing", "batch-1.jsonl"))
	fmt.Print(string(b))
	// Output: {"user_id":"u1"}
}

// The curated bucket is versioned on AWS, and lineage reads the version an event names: the
// local server keeps old versions too, while the current one stays a plain file.
func TestEnableVersioningKeepsOldVersions(t *testing.T) {
	srv := start(t)
	ctx := t.Context()
	if err := srv.CreateBucket(ctx, "curated"); err != nil {
		t.Fatal(err)
	}
	if err := srv.EnableVersioning(ctx, "curated"); err != nil {
		t.Fatal(err)
	}
	client := srv.Client()
	key := "customers/dt=2026-11-23/hr=07/part-0001.parquet"
	var versions []string
	for _, body := range []string{"first", "second"} {
		out, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("curated"), Key: aws.String(key), Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.VersionId) == "" {
			t.Fatalf("Put into a versioned bucket returned no version id")
		}
		versions = append(versions, aws.ToString(out.VersionId))
	}
	old, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("curated"), Key: aws.String(key), VersionId: aws.String(versions[0])})
	if err != nil {
		t.Fatalf("read the first version: %v", err)
	}
	defer old.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(old.Body)
	if b.String() != "first" {
		t.Fatalf("first version reads %q", b.String())
	}
	onDisk, err := os.ReadFile(filepath.Join(srv.Dir, "curated", key))
	if err != nil || string(onDisk) != "second" {
		t.Fatalf("the current version's file holds %q (%v), want \"second\"", onDisk, err)
	}
}
