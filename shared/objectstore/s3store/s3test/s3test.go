// Package s3test starts real S3-protocol servers on 127.0.0.1 for integration tests and
// hands back clients for them. Every server stops by itself through t.Cleanup.
//
//   - StartGofakes3: in memory, in process, instant; no bucket notifications.
//   - StartMoto: the moto_server Python tool in a child process (~1 s to start); the one
//     with per-bucket S3 → SQS notifications, Glue and more on the same endpoint.
//
// versitygw, whose objects are files on disk, starts from localstack/s3local/s3localtest:
// shared packages never depend on localstack/.
package s3test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"

	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/tooltest"
)

// Region, AccessKey and SecretKey are what the clients built here sign with.
const (
	Region    = "us-east-1"
	AccessKey = "sluice-test"
	SecretKey = "sluice-test-secret"
)

// NewClient returns a path-style S3 client for endpoint signed with the given keys. It
// ignores the AWS_* environment, so a developer's profile or endpoint never leaks into tests.
func NewClient(endpoint, accessKey, secretKey string) *s3.Client {
	cfg := aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		HTTPClient:  awshttp.NewBuildableClient(),
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true // stand-ins send no checksums
	})
}

// StartGofakes3 serves an in-memory S3 (rclone/gofakes3, s3mem backend) on 127.0.0.1.
func StartGofakes3(t testing.TB) (*s3.Client, string) {
	t.Helper()
	faker := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	return NewClient(srv.URL, AccessKey, SecretKey), srv.URL
}

// StartAtomicGofakes3 is StartGofakes3 with atomic conditional writes, as S3's are: gofakes3
// checks If-None-Match / If-Match before calling the backend, and s3mem does not check again as
// it writes, so two racing conditional writes could both succeed. Tests of compare-and-swap
// (locks, manifests, table commits) need this one.
func StartAtomicGofakes3(t testing.TB) (*s3.Client, string) {
	t.Helper()
	return StartAtomicGofakes3Clock(t, gofakes3.DefaultTimeSource())
}

// StartAtomicGofakes3Clock is StartAtomicGofakes3 whose objects are stamped (LastModified) by
// clock: tests of what happens to objects days old. Requests are still signed and checked
// against the real time.
func StartAtomicGofakes3Clock(t testing.TB, clock gofakes3.TimeSource) (*s3.Client, string) {
	t.Helper()
	faker := gofakes3.New(&atomicBackend{Backend: s3mem.New(s3mem.WithTimeSource(clock))}, gofakes3.WithLogger(gofakes3.DiscardLog()))
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	return NewClient(srv.URL, AccessKey, SecretKey), srv.URL
}

type atomicBackend struct {
	gofakes3.Backend
	mu sync.Mutex
}

func (b *atomicBackend) PutObject(ctx context.Context, bucket, key string, meta map[string]string, input io.Reader, size int64) (gofakes3.PutObjectResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gofakes3.HasWriteConditions(ctx) {
		exists, etag := false, ""
		if obj, err := b.Backend.HeadObject(ctx, bucket, key); err == nil {
			exists, etag = true, hex.EncodeToString(obj.Hash)
		}
		if err := gofakes3.CheckWriteConditions(ctx, exists, etag); err != nil {
			return gofakes3.PutObjectResult{}, err
		}
	}
	return b.Backend.PutObject(ctx, bucket, key, meta, input, size)
}

func (b *atomicBackend) DeleteObject(ctx context.Context, bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Backend.DeleteObject(ctx, bucket, key)
}

// StartMoto runs moto_server on a free 127.0.0.1 port until the test ends. When moto_server
// is not installed the test fails under CI=true and is skipped otherwise (see tooltest).
func StartMoto(t testing.TB) (*s3.Client, string) {
	t.Helper()
	return startMotoWith(t)
}

// StartMotoIAM runs moto_server enforcing IAM as AWS does: the first freeActions requests
// are let through unsigned-for (to create buckets, users and their policies with any key),
// and every later request is authorised against the policies of the IAM user whose access
// key signed it (moto's INITIAL_NO_AUTH_ACTION_COUNT).
func StartMotoIAM(t testing.TB, freeActions int) (*s3.Client, string) {
	t.Helper()
	return startMotoWith(t, "INITIAL_NO_AUTH_ACTION_COUNT="+strconv.Itoa(freeActions))
}

func startMotoWith(t testing.TB, env ...string) (*s3.Client, string) {
	t.Helper()
	bin := tooltest.Path(t, "moto_server")
	var lastErr error
	for range 3 {
		endpoint, err := startMoto(t, bin, env...)
		if err == nil {
			return NewClient(endpoint, AccessKey, SecretKey), endpoint
		}
		lastErr = err
	}
	t.Fatalf("s3test: start moto_server: %v", lastErr)
	return nil, ""
}

func startMoto(t testing.TB, bin string, env ...string) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	var out strings.Builder
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.Env = append(append(os.Environ(), "PYTHONUNBUFFERED=1"), env...)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	// moto answers its dashboard API once its HTTP server runs.
	ready := endpoint + "/moto-api/"
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			return "", fmt.Errorf("moto_server exited before it was ready (%v): %s", err, out.String())
		default:
		}
		resp, err := http.Get(ready)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("moto_server not ready on %s within 30s: %v: %s", endpoint, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(stop)
	return endpoint, nil
}

var bucketSeq atomic.Int64

// CreateBucket creates a bucket with a unique, valid name derived from prefix and returns
// the name. The bucket is left in place: the server it lives on is per test.
func CreateBucket(t testing.TB, client *s3.Client, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d-%d", strings.ToLower(prefix), os.Getpid()%100000, bucketSeq.Add(1))
	if len(name) > 63 {
		name = name[len(name)-63:]
	}
	_, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)})
	if err != nil {
		var owned interface{ ErrorCode() string }
		if !errors.As(err, &owned) || owned.ErrorCode() != "BucketAlreadyOwnedByYou" {
			t.Fatalf("s3test: create bucket %q: %v", name, err)
		}
	}
	return name
}

// CreateVersionedBucket creates a bucket as CreateBucket does and turns S3 versioning on.
func CreateVersionedBucket(t testing.TB, client *s3.Client, prefix string) string {
	t.Helper()
	name := CreateBucket(t, client, prefix)
	_, err := client.PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{Bucket: aws.String(name),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	if err != nil {
		t.Fatalf("s3test: enable versioning of bucket %q: %v", name, err)
	}
	return name
}

// Keys lists the keys under prefix in bucket (up to 1,000: enough for a test).
func Keys(tb testing.TB, client *s3.Client, bucket, prefix string) []string {
	tb.Helper()
	out, err := client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	if err != nil {
		tb.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, *o.Key)
	}
	return keys
}

// Read returns an object's bytes.
func Read(tb testing.TB, client *s3.Client, bucket, key string) []byte {
	tb.Helper()
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// iamCall makes one IAM query API call on moto (there is no IAM client in this module) and
// returns the response body.
func iamCall(t testing.TB, endpoint string, params url.Values) []byte {
	t.Helper()
	params.Set("Version", "2010-05-08")
	body := []byte(params.Encode())
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, endpoint+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sign := awsconfig.Signer(credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""), "iam", Region)
	if err := sign(req, body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("s3test: IAM %s: %v", params.Get("Action"), err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("s3test: IAM %s: %s: %s", params.Get("Action"), resp.Status, out)
	}
	return out
}

// IAMUser creates an IAM user with one inline policy on a moto started by StartMotoIAM and
// returns an S3 client signed with the user's new access key. It makes three requests, each
// one of the server's free actions. Requests signed with such a key fail moto's signature
// check when the object key holds '=' (it escapes the path differently from the SDK): tests
// that use one must name objects without it.
func IAMUser(t testing.TB, endpoint, name, policy string) *s3.Client {
	t.Helper()
	iamCall(t, endpoint, url.Values{"Action": {"CreateUser"}, "UserName": {name}})
	iamCall(t, endpoint, url.Values{"Action": {"PutUserPolicy"}, "UserName": {name}, "PolicyName": {name + "-policy"}, "PolicyDocument": {policy}})
	var key struct {
		ID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
		Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
	}
	if err := xml.Unmarshal(iamCall(t, endpoint, url.Values{"Action": {"CreateAccessKey"}, "UserName": {name}}), &key); err != nil || key.ID == "" {
		t.Fatalf("s3test: CreateAccessKey answer: %v (%+v)", err, key)
	}
	return NewClient(endpoint, key.ID, key.Secret)
}
