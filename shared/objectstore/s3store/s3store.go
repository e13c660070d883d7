// Package s3store is the objectstore.Store adapter for Amazon S3 and S3-protocol servers.
package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/sluicelake/sluice/shared/objectstore"
)

// Store is one S3 bucket.
type Store struct {
	client *s3.Client
	bucket string
}

var (
	_ objectstore.Store              = (*Store)(nil)
	_ objectstore.ConditionalDeleter = (*Store)(nil)
	_ objectstore.VersionReader      = (*Store)(nil)
	_ objectstore.VersionLister      = (*Store)(nil)
)

// New returns a Store for bucket. The client decides where requests go (AWS or a stand-in);
// build it with awsconfig.NewS3Client so custom endpoints get path-style addressing.
func New(client *s3.Client, bucket string) *Store {
	return &Store{client: client, bucket: bucket}
}

// Bucket names the bucket this store writes to.
func (s *Store) Bucket() string { return s.bucket }

// Put writes body in one PutObject call.
func (s *Store) Put(ctx context.Context, key string, body []byte, opts objectstore.PutOptions) (objectstore.Info, error) {
	in := &s3.PutObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
		// A bytes.Reader can be rewound, which the SDK needs to sign and checksum the body
		// (and to retry) over plain HTTP, as stand-ins on 127.0.0.1 are reached.
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
	}
	if opts.ContentType != "" {
		in.ContentType = aws.String(opts.ContentType)
	}
	if len(opts.Metadata) > 0 {
		in.Metadata = opts.Metadata
	}
	if opts.IfNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	if opts.IfMatch != "" {
		in.IfMatch = aws.String(opts.IfMatch)
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		return objectstore.Info{}, s.wrap("put", "s3:PutObject", key, err)
	}
	return objectstore.Info{
		Key:         key,
		Size:        int64(len(body)),
		ETag:        normalizeETag(aws.ToString(out.ETag)),
		Version:     aws.ToString(out.VersionId),
		Metadata:    opts.Metadata,
		ContentType: opts.ContentType,
	}, nil
}

// Get streams an object; the caller closes the reader.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, objectstore.Info, error) {
	return s.GetAt(ctx, key, objectstore.ReadOptions{})
}

// GetAt streams the version of an object at names (objectstore.VersionReader).
func (s *Store) GetAt(ctx context.Context, key string, at objectstore.ReadOptions) (io.ReadCloser, objectstore.Info, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key),
		VersionId: optional(at.Version)})
	if err != nil {
		return nil, objectstore.Info{}, s.wrap("get", readPermission(at), key, err)
	}
	info := objectstore.Info{
		Key:          key,
		Size:         aws.ToInt64(out.ContentLength),
		ETag:         normalizeETag(aws.ToString(out.ETag)),
		LastModified: aws.ToTime(out.LastModified),
		Version:      aws.ToString(out.VersionId),
		Metadata:     out.Metadata,
		ContentType:  aws.ToString(out.ContentType),
	}
	if err := s.checkETag(key, at, info.ETag); err != nil {
		out.Body.Close()
		return nil, objectstore.Info{}, err
	}
	return out.Body, info, nil
}

// GetRange reads length bytes starting at offset with a Range request. A range that runs
// past the end of the object returns the bytes up to the end, as S3 does.
func (s *Store) GetRange(ctx context.Context, key string, offset, length int64) ([]byte, error) {
	return s.GetRangeAt(ctx, key, objectstore.ReadOptions{}, offset, length)
}

// GetRangeAt reads a range of the version of an object at names (objectstore.VersionReader).
func (s *Store) GetRangeAt(ctx context.Context, key string, at objectstore.ReadOptions, offset, length int64) ([]byte, error) {
	if offset < 0 || length < 0 {
		return nil, fmt.Errorf("s3store: get range of s3://%s/%s: offset %d and length %d must not be negative", s.bucket, key, offset, length)
	}
	if length == 0 {
		return []byte{}, nil
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket:    aws.String(s.bucket),
		Key:       aws.String(key),
		Range:     aws.String(fmt.Sprintf("bytes=%d-%d", offset, offset+length-1)),
		VersionId: optional(at.Version),
	})
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("get range [%d,+%d) of", offset, length), readPermission(at), key, err)
	}
	defer out.Body.Close()
	if err := s.checkETag(key, at, normalizeETag(aws.ToString(out.ETag))); err != nil {
		return nil, err
	}
	// Guard against a server that ignores Range and sends the whole object.
	b, err := io.ReadAll(io.LimitReader(out.Body, length))
	if err != nil {
		return nil, fmt.Errorf("s3store: read range [%d,+%d) of s3://%s/%s: %w", offset, length, s.bucket, key, err)
	}
	if out.ContentRange == nil && offset > 0 {
		return nil, fmt.Errorf("s3store: get range of s3://%s/%s: the server ignored the Range header; use an S3 server that supports ranged GETs", s.bucket, key)
	}
	return b, nil
}

// Head describes an object without reading it.
func (s *Store) Head(ctx context.Context, key string) (objectstore.Info, error) {
	return s.HeadAt(ctx, key, objectstore.ReadOptions{})
}

// HeadAt describes the version of an object at names (objectstore.VersionReader).
func (s *Store) HeadAt(ctx context.Context, key string, at objectstore.ReadOptions) (objectstore.Info, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key),
		VersionId: optional(at.Version)})
	if err != nil {
		return objectstore.Info{}, s.wrap("head", readPermission(at), key, err)
	}
	info := objectstore.Info{
		Key:          key,
		Size:         aws.ToInt64(out.ContentLength),
		ETag:         normalizeETag(aws.ToString(out.ETag)),
		LastModified: aws.ToTime(out.LastModified),
		Version:      aws.ToString(out.VersionId),
		Metadata:     out.Metadata,
		ContentType:  aws.ToString(out.ContentType),
	}
	return info, s.checkETag(key, at, info.ETag)
}

// checkETag enforces at.IfMatch on the answer, whose ETag describes the very bytes returned,
// rather than with an If-Match header: that is as exact, works on servers that ignore If-Match
// on reads, and on a proxy that rewrites ETags (as SSE-KMS buckets have them) compares the
// ETags the caller was shown, never one the server behind it has not.
func (s *Store) checkETag(key string, at objectstore.ReadOptions, got string) error {
	if at.IfMatch == "" || normalizeETag(at.IfMatch) == got {
		return nil
	}
	return fmt.Errorf("s3store: read s3://%s/%s: %w: the object's ETag is %s, not %s (it was rewritten since)", s.bucket, key, objectstore.ErrPreconditionFailed, got, normalizeETag(at.IfMatch))
}

// readPermission is the IAM action a read needs.
func readPermission(at objectstore.ReadOptions) string {
	if at.Version != "" {
		return "s3:GetObjectVersion"
	}
	return "s3:GetObject"
}

func optional(v string) *string {
	if v == "" {
		return nil
	}
	return aws.String(v)
}

// List pages through ListObjectsV2 and returns every key under prefix in key order.
func (s *Store) List(ctx context.Context, prefix string) ([]objectstore.Info, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	var out []objectstore.Info
	p := s3.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("list", "s3:ListBucket", prefix+"*", err)
		}
		for _, o := range page.Contents {
			out = append(out, objectstore.Info{
				Key:          aws.ToString(o.Key),
				Size:         aws.ToInt64(o.Size),
				ETag:         normalizeETag(aws.ToString(o.ETag)),
				LastModified: aws.ToTime(o.LastModified),
			})
		}
	}
	// S3 lists in UTF-8 byte order; not every stand-in does, and callers rely on the order.
	slices.SortFunc(out, func(a, b objectstore.Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// ListVersions pages through ListObjectVersions (objectstore.VersionLister): every version and
// delete marker under prefix, in key order, newest first within a key as far as their
// times tell.
func (s *Store) ListVersions(ctx context.Context, prefix string) ([]objectstore.Info, error) {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(s.bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	var out []objectstore.Info
	p := s3.NewListObjectVersionsPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("list versions of", "s3:ListBucketVersions", prefix+"*", err)
		}
		for _, v := range page.Versions {
			out = append(out, objectstore.Info{Key: aws.ToString(v.Key), Size: aws.ToInt64(v.Size), ETag: normalizeETag(aws.ToString(v.ETag)),
				LastModified: aws.ToTime(v.LastModified), Version: aws.ToString(v.VersionId), Latest: aws.ToBool(v.IsLatest)})
		}
		for _, m := range page.DeleteMarkers {
			out = append(out, objectstore.Info{Key: aws.ToString(m.Key), LastModified: aws.ToTime(m.LastModified),
				Version: aws.ToString(m.VersionId), Latest: aws.ToBool(m.IsLatest), DeleteMarker: true})
		}
	}
	// A page lists versions and delete markers apart; callers want each key's history in one run.
	slices.SortStableFunc(out, func(a, b objectstore.Info) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return b.LastModified.Compare(a.LastModified)
	})
	return out, nil
}

// DeleteVersion removes one version of key for good (objectstore.VersionLister).
func (s *Store) DeleteVersion(ctx context.Context, key, version string) error {
	if version == "" {
		return fmt.Errorf("s3store: delete a version of s3://%s/%s: no version id given (Delete removes the current object)", s.bucket, key)
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key), VersionId: aws.String(version)})
	if err != nil {
		if isNotFound(err) && !isNoSuchBucket(err) {
			return nil
		}
		return s.wrap("delete version "+version+" of", "s3:DeleteObjectVersion", key, err)
	}
	return nil
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		if isNotFound(err) && !isNoSuchBucket(err) {
			return nil
		}
		return s.wrap("delete", "s3:DeleteObject", key, err)
	}
	return nil
}

// DeleteIfMatch removes key only while its ETag is etag (objectstore.ConditionalDeleter).
func (s *Store) DeleteIfMatch(ctx context.Context, key, etag string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key), IfMatch: aws.String(normalizeETag(etag))})
	if err != nil {
		if isNotFound(err) && !isNoSuchBucket(err) {
			return nil
		}
		return s.wrap("delete (if-match)", "s3:DeleteObject", key, err)
	}
	return nil
}

// normalizeETag gives every ETag the quoted form S3 sends in headers, so that an ETag from
// List, Head or Put compares equal and can be passed back as IfMatch.
func normalizeETag(etag string) string {
	if etag == "" || strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, `W/"`) {
		return etag
	}
	return `"` + etag + `"`
}

// wrap says what failed and what to do about it; permission is the IAM action op needs.
func (s *Store) wrap(op, permission, key string, err error) error {
	where := fmt.Sprintf("s3store: %s s3://%s/%s", op, s.bucket, key)
	switch {
	case isForbidden(err):
		// Checked before not-found: a 403 is never taken for a missing key, though S3 answers
		// a missing key with 403 when the caller lacks s3:ListBucket.
		return fmt.Errorf("%s: %w: grant the function's role %s on arn:aws:s3:::%s/* (and s3:ListBucket on the bucket, "+
			"without which S3 answers 403 rather than 404 for a key that does not exist; with SSE-KMS, kms:Decrypt or kms:GenerateDataKey on the key too): %w",
			where, objectstore.ErrForbidden, permission, s.bucket, err)
	case isNoSuchBucket(err):
		return fmt.Errorf("%s: bucket %q does not exist; create it or fix the bucket name in the configuration: %w", where, s.bucket, err)
	case isNotFound(err):
		return fmt.Errorf("%s: %w (check the key, or that the object was written first): %w", where, objectstore.ErrNotFound, err)
	case isPreconditionFailed(err):
		return fmt.Errorf("%s: %w (another writer got there first; re-read the object and retry if that is intended): %w", where, objectstore.ErrPreconditionFailed, err)
	}
	return fmt.Errorf("%s: %w", where, err)
}

func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func isNoSuchBucket(err error) bool { return errorCode(err) == "NoSuchBucket" }

func isForbidden(err error) bool {
	switch errorCode(err) {
	case "AccessDenied", "Forbidden", "AllAccessDisabled":
		return true
	}
	// HEAD responses have no body: a 403 there carries no code.
	return httpStatus(err) == http.StatusForbidden
}

func isNotFound(err error) bool {
	switch errorCode(err) {
	case "NoSuchKey", "NotFound", "NoSuchVersion":
		return true
	}
	// HEAD responses have no body, so some servers' 404s carry no code at all.
	return httpStatus(err) == http.StatusNotFound
}

func isPreconditionFailed(err error) bool {
	switch errorCode(err) {
	case "PreconditionFailed", "ConditionalRequestConflict":
		return true
	}
	return httpStatus(err) == http.StatusPreconditionFailed
}
