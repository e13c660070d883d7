// Package erasetest looks for the traces of a key in object storage, for tests of erasure: it
// reads every version of every object with its own S3 client and its own decoders, so that it
// does not share a blind spot with the code it checks.
package erasetest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/shared/parquetfile"
)

// Version is one object version in a bucket, read with the S3 client directly (not through
// the port erasure uses), with what it holds.
type Version struct {
	Bucket, Key, ID string
	Latest          bool
	Body            []byte
}

// AllVersions reads every version of every object in bucket.
func AllVersions(t *testing.T, client *s3.Client, bucket string) []Version {
	ctx := context.Background()
	var out []Version
	p := s3.NewListObjectVersionsPaginator(client, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Versions {
			o, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: v.Key, VersionId: v.VersionId})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(o.Body)
			o.Body.Close()
			out = append(out, Version{Bucket: bucket, Key: aws.ToString(v.Key), ID: aws.ToString(v.VersionId), Latest: aws.ToBool(v.IsLatest), Body: b})
		}
	}
	return out
}

// Traces says where in b any of needles appears: in its bytes, its gzip'd content, its Parquet
// rows (values decoded from compressed pages), or base64 strings of its JSON lines.
func Traces(b []byte, needles ...string) []string {
	var out []string
	for _, n := range needles {
		if bytes.Contains(b, []byte(n)) {
			out = append(out, "bytes")
		}
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
			if u, err := io.ReadAll(zr); err == nil {
				for _, w := range Traces(u, needles...) {
					out = append(out, "gzip:"+w)
				}
			}
		}
	}
	if bytes.HasPrefix(b, []byte("PAR1")) {
		rows, err := parquetfile.ReadBytes(b)
		if err != nil {
			return append(out, "unreadable parquet: "+err.Error())
		}
		for _, r := range rows {
			s := fmt.Sprint(r)
			for _, n := range needles {
				if strings.Contains(s, n) {
					out = append(out, "parquet row")
				}
			}
		}
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		var v any
		if json.Unmarshal(line, &v) == nil {
			for _, s := range stringsOf(v) {
				if d, err := base64.StdEncoding.DecodeString(s); err == nil && len(d) > 0 {
					for _, w := range Traces(d, needles...) {
						out = append(out, "base64:"+w)
					}
				}
			}
		}
	}
	return out
}

func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case map[string]any:
		var out []string
		for _, e := range x {
			out = append(out, stringsOf(e)...)
		}
		return out
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, stringsOf(e)...)
		}
		return out
	}
	return nil
}
