package s3iam_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// BenchmarkFront puts and gets a 64 KiB object straight to the stand-in and through the front
// (authorization, re-signing, and the SSE-KMS ETag rewrite on "sealed"), to show what the
// front adds per request.
func BenchmarkFront(b *testing.B) {
	e := start(b)
	body := bytes.Repeat([]byte("x"), 64<<10)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		client *s3.Client
		bucket string
	}{
		{"direct", e.srv.Client(), "sealed"},
		{"front/plain", e.client("writer"), "plain"},
		{"front/sse-kms", e.client("writer"), "sealed"},
	} {
		key := "out/bench"
		b.Run(c.name+"/put", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := c.client.PutObject(ctx, &s3.PutObjectInput{Bucket: &c.bucket, Key: &key, Body: bytes.NewReader(body)}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/get", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				out, err := c.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &c.bucket, Key: aws.String(key)})
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, out.Body)
				out.Body.Close()
			}
		})
	}
}
