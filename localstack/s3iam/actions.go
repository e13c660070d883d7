package s3iam

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Check is one permission a request needs: an IAM action on a resource ARN, with the S3
// condition keys the request carries.
type Check struct {
	Action   string
	Resource string
	Context  map[string][]string
}

// Operation is what the front understood of a request.
type Operation struct {
	Bucket, Key string
	// Checks are every permission the request needs; all must be allowed.
	Checks []Check
	// ReadsObject marks GetObject, HeadObject and GetObjectAttributes: a missing key answers
	// 404 only to a caller allowed s3:ListBucket on the bucket, 403 to anyone else.
	ReadsObject bool
	// GetObject marks a plain GetObject, whose body is the object's and never rewritten.
	GetObject bool
	// CopySourceBucket is the source of a CopyObject or UploadPartCopy.
	CopySourceBucket string
}

// bucketARN and objectARN build S3 resource ARNs in the aws partition (the local one).
func bucketARN(bucket string) string      { return "arn:aws:s3:::" + bucket }
func objectARN(bucket, key string) string { return "arn:aws:s3:::" + bucket + "/" + key }

// has tells whether a query has a sub-resource parameter (with or without a value).
func has(q url.Values, name string) bool { _, ok := q[name]; return ok }

// bucketSub maps a bucket sub-resource to its (read, write, delete) actions.
var bucketSub = map[string][3]string{
	"versioning":        {"s3:GetBucketVersioning", "s3:PutBucketVersioning", ""},
	"tagging":           {"s3:GetBucketTagging", "s3:PutBucketTagging", "s3:PutBucketTagging"},
	"policy":            {"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"},
	"acl":               {"s3:GetBucketAcl", "s3:PutBucketAcl", ""},
	"encryption":        {"s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration", "s3:PutEncryptionConfiguration"},
	"notification":      {"s3:GetBucketNotification", "s3:PutBucketNotification", ""},
	"lifecycle":         {"s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:PutLifecycleConfiguration"},
	"cors":              {"s3:GetBucketCORS", "s3:PutBucketCORS", "s3:PutBucketCORS"},
	"object-lock":       {"s3:GetBucketObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration", ""},
	"ownershipControls": {"s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls", "s3:PutBucketOwnershipControls"},
	"publicAccessBlock": {"s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"},
	"location":          {"s3:GetBucketLocation", "", ""},
	"uploads":           {"s3:ListBucketMultipartUploads", "", ""},
	"versions":          {"s3:ListBucketVersions", "", ""},
}

// Classify maps a path-style S3 request to the IAM actions S3 authorizes it against, as the
// S3 API reference lists them per operation. body is the request body of DeleteObjects (nil
// otherwise), whose keys are authorized one by one.
func Classify(r *http.Request, body []byte) (Operation, error) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(path, "/")
	op := Operation{Bucket: bucket, Key: key}
	q := r.URL.Query()
	add := func(action, resource string, ctx map[string][]string) {
		op.Checks = append(op.Checks, Check{Action: action, Resource: resource, Context: ctx})
	}
	versioned := func(plain, version string) (string, map[string][]string) {
		if v := q.Get("versionId"); v != "" {
			return version, map[string][]string{"s3:versionid": {v}}
		}
		return plain, nil
	}

	switch {
	case bucket == "":
		add("s3:ListAllMyBuckets", "*", nil)
	case key == "":
		for sub, acts := range bucketSub {
			if !has(q, sub) {
				continue
			}
			a := acts[0]
			switch r.Method {
			case http.MethodPut:
				a = acts[1]
			case http.MethodDelete:
				a = acts[2]
			}
			if a == "" {
				return op, fmt.Errorf("%s ?%s on a bucket is not an S3 operation the local front knows", r.Method, sub)
			}
			add(a, bucketARN(bucket), nil)
			return op, nil
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			// ListObjects(V2) and HeadBucket are both authorized as s3:ListBucket.
			ctx := map[string][]string{}
			for _, k := range []string{"prefix", "delimiter", "max-keys"} {
				if has(q, k) {
					ctx["s3:"+k] = []string{q.Get(k)}
				}
			}
			add("s3:ListBucket", bucketARN(bucket), ctx)
		case http.MethodPut:
			add("s3:CreateBucket", bucketARN(bucket), nil)
		case http.MethodDelete:
			add("s3:DeleteBucket", bucketARN(bucket), nil)
		case http.MethodPost:
			if !has(q, "delete") {
				return op, fmt.Errorf("POST on a bucket without ?delete is not an S3 operation the local front knows")
			}
			// DeleteObjects: each key needs s3:DeleteObject (s3:DeleteObjectVersion with a version).
			var req struct {
				Object []struct {
					Key       string
					VersionId string
				}
			}
			if err := xml.Unmarshal(body, &req); err != nil {
				return op, fmt.Errorf("DeleteObjects body is not a Delete document: %w", err)
			}
			for _, o := range req.Object {
				if o.VersionId != "" {
					add("s3:DeleteObjectVersion", objectARN(bucket, o.Key), map[string][]string{"s3:versionid": {o.VersionId}})
				} else {
					add("s3:DeleteObject", objectARN(bucket, o.Key), nil)
				}
			}
		default:
			return op, fmt.Errorf("%s on a bucket is not an S3 operation the local front knows", r.Method)
		}
	default:
		obj := objectARN(bucket, key)
		addV := func(plain, version string) {
			a, ctx := versioned(plain, version)
			add(a, obj, ctx)
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			switch {
			case has(q, "tagging"):
				addV("s3:GetObjectTagging", "s3:GetObjectVersionTagging")
			case has(q, "acl"):
				addV("s3:GetObjectAcl", "s3:GetObjectVersionAcl")
			case has(q, "retention"):
				add("s3:GetObjectRetention", obj, nil)
			case has(q, "legal-hold"):
				add("s3:GetObjectLegalHold", obj, nil)
			case has(q, "uploadId"):
				add("s3:ListMultipartUploadParts", obj, nil)
			case has(q, "attributes"):
				op.ReadsObject = true
				addV("s3:GetObject", "s3:GetObjectVersion")
				addV("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes")
			default:
				op.ReadsObject, op.GetObject = true, r.Method == http.MethodGet
				addV("s3:GetObject", "s3:GetObjectVersion")
			}
		case http.MethodPut:
			switch {
			case has(q, "tagging"):
				addV("s3:PutObjectTagging", "s3:PutObjectVersionTagging")
			case has(q, "acl"):
				addV("s3:PutObjectAcl", "s3:PutObjectVersionAcl")
			case has(q, "retention"):
				add("s3:PutObjectRetention", obj, nil)
			case has(q, "legal-hold"):
				add("s3:PutObjectLegalHold", obj, nil)
			default:
				// PutObject, UploadPart, CopyObject and UploadPartCopy all write with
				// s3:PutObject; a copy also reads its source, and tags set on the way in need
				// s3:PutObjectTagging too.
				ctx := map[string][]string{}
				for _, h := range []string{"x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"} {
					if v := r.Header.Get(h); v != "" {
						ctx["s3:"+h] = []string{v}
					}
				}
				add("s3:PutObject", obj, ctx)
				if r.Header.Get("x-amz-tagging") != "" {
					add("s3:PutObjectTagging", obj, nil)
				}
				if src := r.Header.Get("x-amz-copy-source"); src != "" {
					sb, sk, sv, err := copySource(src)
					if err != nil {
						return op, err
					}
					op.CopySourceBucket = sb
					if sv != "" {
						add("s3:GetObjectVersion", objectARN(sb, sk), map[string][]string{"s3:versionid": {sv}})
					} else {
						add("s3:GetObject", objectARN(sb, sk), nil)
					}
				}
			}
		case http.MethodPost:
			switch {
			case has(q, "uploads"), has(q, "uploadId"):
				add("s3:PutObject", obj, nil) // CreateMultipartUpload, CompleteMultipartUpload
			case has(q, "restore"):
				add("s3:RestoreObject", obj, nil)
			case has(q, "select"):
				add("s3:GetObject", obj, nil)
			default:
				return op, fmt.Errorf("POST on an object without ?uploads, ?uploadId, ?restore or ?select is not an S3 operation the local front knows")
			}
		case http.MethodDelete:
			switch {
			case has(q, "uploadId"):
				add("s3:AbortMultipartUpload", obj, nil)
			case has(q, "tagging"):
				addV("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging")
			default:
				addV("s3:DeleteObject", "s3:DeleteObjectVersion")
			}
		default:
			return op, fmt.Errorf("%s on an object is not an S3 operation the local front knows", r.Method)
		}
	}
	return op, nil
}

// copySource splits an x-amz-copy-source header: [/]bucket/key[?versionId=v], URL-encoded.
func copySource(h string) (bucket, key, version string, err error) {
	h = strings.TrimPrefix(h, "/")
	path, query, _ := strings.Cut(h, "?")
	if path, err = url.PathUnescape(path); err != nil {
		return "", "", "", fmt.Errorf("x-amz-copy-source %q is not URL-encoded bucket/key: %w", h, err)
	}
	bucket, key, ok := strings.Cut(path, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", "", fmt.Errorf("x-amz-copy-source %q is not bucket/key", h)
	}
	if q, err := url.ParseQuery(query); err == nil {
		version = q.Get("versionId")
	}
	return bucket, key, version, nil
}
