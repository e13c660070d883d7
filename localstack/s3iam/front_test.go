package s3iam_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/sluicelake/sluice/localstack/iampolicy"
	"github.com/sluicelake/sluice/localstack/s3iam"
	"github.com/sluicelake/sluice/localstack/s3local"
)

func policies(t testing.TB, docs ...string) []iampolicy.Policy {
	t.Helper()
	var out []iampolicy.Policy
	for _, d := range docs {
		var p iampolicy.Policy
		if err := json.Unmarshal([]byte(d), &p); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		out = append(out, p)
	}
	return out
}

type env struct {
	srv   *s3local.Server
	front *s3iam.Front
}

// start runs versitygw with buckets "plain" and "sealed" (SSE-KMS) behind a front.
func start(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	srv, err := s3local.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for _, b := range []string{"plain", "sealed"} {
		if err := srv.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	front, err := s3iam.Start(s3iam.Config{
		Target: srv.Endpoint(), AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Region: srv.Region,
		KMSBuckets: []string{"sealed"},
		Identities: map[string]s3iam.Identity{
			"reader": {Name: "reader", Principal: "arn:aws:sts::000000000000:assumed-role/ReaderRole/reader", Policies: policies(t,
				`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws:s3:::plain/*","arn:aws:s3:::sealed/*"]}]}`,
				`{"Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::plain/secret/*"}]}`)},
			"lister": {Name: "lister", Principal: "arn:aws:sts::000000000000:assumed-role/ListerRole/lister", Policies: policies(t,
				`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::plain/*"},{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::plain"}]}`)},
			"writer": {Name: "writer", Principal: "arn:aws:sts::000000000000:assumed-role/WriterRole/writer", Policies: policies(t,
				`{"Statement":[{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":["arn:aws:s3:::plain/out/*","arn:aws:s3:::sealed/*"]},{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::plain/*"}]}`)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { front.Close() })
	return &env{srv: srv, front: front}
}

func (e *env) client(ak string) *s3.Client {
	secret := "unused"
	if ak == e.srv.AccessKey {
		secret = e.srv.SecretKey
	}
	return s3.NewFromConfig(aws.Config{Region: e.srv.Region, Credentials: credentials.NewStaticCredentialsProvider(ak, secret, ""),
		HTTPClient: awshttp.NewBuildableClient()}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(e.front.Endpoint)
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

func put(t *testing.T, c *s3.Client, bucket, key, body string) *s3.PutObjectOutput {
	t.Helper()
	out, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: strings.NewReader(body)})
	if err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
	return out
}

// status is the HTTP status and error code of an SDK error (0, "" for none).
func status(err error) (int, string) {
	if err == nil {
		return 0, ""
	}
	code := ""
	var api smithy.APIError
	if errors.As(err, &api) {
		code = api.ErrorCode()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode(), code
	}
	return -1, code
}

func TestAllowedAndDenied(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	admin, writer, reader := e.client(e.srv.AccessKey), e.client("writer"), e.client("reader")
	put(t, admin, "plain", "in/a", "seeded")

	// A key with characters that are escaped in the path (=, space): the forwarded request's
	// signature must escape it as S3 does.
	put(t, writer, "plain", "out/dt=2026-12-04/x y.txt", "written")
	got, err := reader.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("plain"), Key: aws.String("out/dt=2026-12-04/x y.txt")})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(got.Body)
	if string(b) != "written" {
		t.Fatalf("read back %q", b)
	}

	_, err = writer.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String("in/b"), Body: strings.NewReader("no")})
	if st, code := status(err); st != 403 || code != "AccessDenied" {
		t.Fatalf("writer put outside out/: %d %s (%v), want 403 AccessDenied", st, code, err)
	}
	if !strings.Contains(err.Error(), "assumed-role/WriterRole/writer is not authorized to perform: s3:PutObject") {
		t.Errorf("the message does not name the principal and action: %v", err)
	}
	if _, err := e.srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("plain"), Key: aws.String("in/b")}); err == nil {
		t.Error("a denied write reached the stand-in")
	}
	_, err = reader.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("plain"), Key: aws.String("secret/s")})
	if st, code := status(err); st != 403 || code != "AccessDenied" {
		t.Fatalf("reader under an explicit deny: %d %s", st, code)
	}
	_, err = reader.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("plain"), Key: aws.String("in/a")})
	if st, _ := status(err); st != 403 {
		t.Fatalf("reader delete: %v, want 403", err)
	}
	_, err = reader.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("plain")})
	if st, _ := status(err); st != 403 {
		t.Fatalf("reader list without s3:ListBucket: %v, want 403", err)
	}

	want := []s3iam.Denial{
		{Function: "writer", Action: "s3:PutObject", Resource: "arn:aws:s3:::plain/in/b", Decision: iampolicy.ImplicitDeny},
		{Function: "reader", Action: "s3:GetObject", Resource: "arn:aws:s3:::plain/secret/s", Decision: iampolicy.ExplicitDeny},
		{Function: "reader", Action: "s3:DeleteObject", Resource: "arn:aws:s3:::plain/in/a", Decision: iampolicy.ImplicitDeny},
		{Function: "reader", Action: "s3:ListBucket", Resource: "arn:aws:s3:::plain", Decision: iampolicy.ImplicitDeny},
	}
	d := e.front.Denials()
	if len(d) != len(want) {
		t.Fatalf("denials %v, want %d", d, len(want))
	}
	for i, w := range want {
		if d[i].Function != w.Function || d[i].Action != w.Action || d[i].Resource != w.Resource || d[i].Decision != w.Decision {
			t.Errorf("denial %d: %s, want %s", i, d[i], w)
		}
	}

	_, err = e.client("nobody").GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("plain"), Key: aws.String("in/a")})
	if st, code := status(err); st != 403 || code != "InvalidAccessKeyId" {
		t.Fatalf("unknown key: %d %s", st, code)
	}

	// A presigned URL is authorized as its signer.
	ps := s3.NewPresignClient(reader)
	req, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("plain"), Key: aws.String("in/a")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "seeded" {
		t.Fatalf("presigned get: %d %s", resp.StatusCode, b)
	}
	req, _ = ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("plain"), Key: aws.String("secret/s")})
	resp, err = http.Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !bytes.Contains(b, []byte("<Code>AccessDenied</Code>")) {
		t.Fatalf("presigned get under a deny: %d %s", resp.StatusCode, b)
	}
}

// S3 answers a missing key with 404 only to callers who could list the bucket anyway.
func TestMissingKeyIs403WithoutListBucket(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	for _, c := range []struct {
		who    string
		status int
	}{{"reader", 403}, {"lister", 404}} {
		cl := e.client(c.who)
		_, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("plain"), Key: aws.String("missing")})
		st, code := status(err)
		if st != c.status {
			t.Errorf("%s GET missing: %d %s, want %d", c.who, st, code, c.status)
		}
		if c.status == 403 && code != "AccessDenied" || c.status == 404 && code != "NoSuchKey" {
			t.Errorf("%s GET missing: code %s", c.who, code)
		}
		_, err = cl.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("plain"), Key: aws.String("missing")})
		if st, _ := status(err); st != c.status {
			t.Errorf("%s HEAD missing: %d, want %d", c.who, st, c.status)
		}
	}
	// Both of the reader's answers are counted as denials (the caller saw AccessDenied), marked
	// as such; the lister's 404s are not.
	d := e.front.Denials()
	if len(d) != 2 || !d[0].MissingKey || d[0].Function != "reader" || d[0].Resource != "arn:aws:s3:::plain/missing" || d[0].Action != "s3:GetObject" {
		t.Errorf("denials %v, want the reader's GET and HEAD of the missing key", d)
	}
}

var hex32 = regexp.MustCompile(`^"[0-9a-f]{32}"$`)

func TestSSEKMSETags(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	w := e.client("writer")
	body := "an object under SSE-KMS"
	sum := md5.Sum([]byte(body))
	md5ETag := `"` + hex.EncodeToString(sum[:]) + `"`

	out := put(t, w, "sealed", "k", body)
	etag := aws.ToString(out.ETag)
	if !hex32.MatchString(etag) || etag == md5ETag {
		t.Fatalf("PUT ETag %s: want 32 hex digits other than the MD5 %s", etag, md5ETag)
	}
	if p := put(t, w, "plain", "out/k", body); aws.ToString(p.ETag) != md5ETag {
		t.Errorf("a bucket without SSE-KMS keeps the MD5: %s", aws.ToString(p.ETag))
	}
	head, err := w.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("sealed"), Key: aws.String("k")})
	if err != nil || aws.ToString(head.ETag) != etag {
		t.Fatalf("HEAD ETag %s (%v), want %s", aws.ToString(head.ETag), err, etag)
	}
	list, err := e.client(e.srv.AccessKey).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("sealed")})
	if err != nil || len(list.Contents) != 1 || aws.ToString(list.Contents[0].ETag) != etag {
		t.Fatalf("listed ETag: %+v (%v), want %s", list, err, etag)
	}

	// Conditional requests work with the ETags clients see, and not with the MD5.
	if _, err := w.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sealed"), Key: aws.String("k"), IfMatch: &etag}); err != nil {
		t.Fatalf("GET If-Match the seen ETag: %v", err)
	}
	_, err = w.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("sealed"), Key: aws.String("k"), IfMatch: &md5ETag, Body: strings.NewReader("v2")})
	if st, _ := status(err); st != 412 {
		t.Fatalf("PUT If-Match the MD5: %v, want 412", err)
	}
	v2, err := w.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("sealed"), Key: aws.String("k"), IfMatch: &etag, Body: strings.NewReader("v2")})
	if err != nil {
		t.Fatalf("PUT If-Match the seen ETag: %v", err)
	}
	if aws.ToString(v2.ETag) == etag {
		t.Fatal("a new body kept its ETag")
	}
	cp, err := e.client(e.srv.AccessKey).CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("sealed"), Key: aws.String("copy"),
		CopySource: aws.String("sealed/k"), CopySourceIfMatch: v2.ETag})
	if err != nil {
		t.Fatalf("copy If-Match the seen ETag: %v", err)
	}
	if aws.ToString(cp.CopyObjectResult.ETag) != aws.ToString(v2.ETag) {
		t.Errorf("copy ETag %s, want the source's %s", aws.ToString(cp.CopyObjectResult.ETag), aws.ToString(v2.ETag))
	}
}

// A signed aws-chunked body cannot be forwarded as it is (its chunk signatures chain from the
// caller's signature): the front forwards the payload decoded.
func TestSignedChunkedUpload(t *testing.T) {
	putChunked(t, "out/chunked", "5;chunk-signature=0000\r\nhello\r\n6;chunk-signature=1111\r\n world\r\n0;chunk-signature=2222\r\n\r\n",
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", nil)
}

// putChunked PUTs body, an aws-chunked encoding of "hello world", as the writer to plain/key
// with the given payload hash and extra headers, and checks the stand-in stored "hello world".
func putChunked(t *testing.T, key, body, payload string, extra map[string]string) {
	t.Helper()
	e := start(t)
	req, _ := http.NewRequest(http.MethodPut, e.front.Endpoint+"/plain/"+key, strings.NewReader(body))
	now := time.Now().UTC()
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=writer/"+now.Format("20060102")+"/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
	req.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
	req.Header.Set("X-Amz-Content-Sha256", payload)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", "11")
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s put: %d %s", payload, resp.StatusCode, msg)
	}
	got, err := e.srv.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("plain"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(got.Body)
	if string(b) != "hello world" {
		t.Fatalf("stored %q", b)
	}
}

// Parts of an SSE-KMS multipart upload get non-MD5 ETags too; CompleteMultipartUpload sends
// them back and the front maps them to the stand-in's.
func TestSSEKMSMultipart(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	w := e.client("writer")
	up, err := w.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("sealed"), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	parts := [][]byte{bytes.Repeat([]byte("a"), 5<<20), []byte("tail")}
	var done []types.CompletedPart
	for i, p := range parts {
		n := int32(i + 1)
		out, err := w.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("sealed"), Key: aws.String("mp"), UploadId: up.UploadId,
			PartNumber: &n, Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatalf("part %d: %v", n, err)
		}
		sum := md5.Sum(p)
		if etag := aws.ToString(out.ETag); !hex32.MatchString(etag) || etag == `"`+hex.EncodeToString(sum[:])+`"` {
			t.Errorf("part %d ETag %s: want 32 hex digits other than the part's MD5", n, etag)
		}
		done = append(done, types.CompletedPart{ETag: out.ETag, PartNumber: &n})
	}
	out, err := w.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("sealed"), Key: aws.String("mp"),
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
	if err != nil {
		t.Fatalf("complete with the ETags the parts were given: %v", err)
	}
	raw, err := e.srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("sealed"), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	seen := aws.ToString(out.ETag)
	if !strings.HasSuffix(strings.Trim(seen, `"`), "-2") || seen == aws.ToString(raw.ETag) {
		t.Errorf("multipart ETag %s (stand-in's %s): want another <32 hex>-2", seen, aws.ToString(raw.ETag))
	}
}

// An unsigned aws-chunked body with a checksum trailer (what SDKs send over TLS) is forwarded
// as it is: only its headers are signed, and the stand-in decodes the chunks.
func TestUnsignedTrailerUpload(t *testing.T) {
	crc := crc32.ChecksumIEEE([]byte("hello world"))
	sum := base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	putChunked(t, "out/trailer", "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:"+sum+"\r\n\r\n",
		"STREAMING-UNSIGNED-PAYLOAD-TRAILER", map[string]string{"X-Amz-Trailer": "x-amz-checksum-crc32"})
}

// A request the front cannot map to IAM actions is refused to a function (it cannot be
// authorized) and left to the stand-in for the host's own calls.
func TestUnknownOperation(t *testing.T) {
	e := start(t)
	ask := func(ak string) (int, string) {
		req, _ := http.NewRequest(http.MethodDelete, e.front.Endpoint+"/plain?versioning", nil)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+ak+"/20261204/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if st, body := ask("writer"); st != 501 || !strings.Contains(body, "not an S3 operation the local front knows") {
		t.Errorf("a function's unknown operation: %d %s", st, body)
	}
	if _, body := ask(e.srv.AccessKey); strings.Contains(body, "the local front knows") {
		t.Errorf("the host's unknown operation was refused by the front: %s", body)
	}
}
