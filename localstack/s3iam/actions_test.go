package s3iam

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The actions each S3 operation is authorized against, as the S3 API reference lists them.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		method, target string
		header         map[string]string
		body           string
		want           string // action resource, ...
	}{
		{"GET", "/", nil, "", "s3:ListAllMyBuckets *"},
		{"GET", "/b/k/x.parquet", nil, "", "s3:GetObject arn:aws:s3:::b/k/x.parquet"},
		{"HEAD", "/b/k", nil, "", "s3:GetObject arn:aws:s3:::b/k"},
		{"GET", "/b/k?versionId=v1", nil, "", "s3:GetObjectVersion arn:aws:s3:::b/k"},
		{"GET", "/b/dt%3D1/a%20b", nil, "", "s3:GetObject arn:aws:s3:::b/dt=1/a b"},
		{"GET", "/b/k?attributes", nil, "", "s3:GetObject arn:aws:s3:::b/k, s3:GetObjectAttributes arn:aws:s3:::b/k"},
		{"GET", "/b/k?tagging", nil, "", "s3:GetObjectTagging arn:aws:s3:::b/k"},
		{"GET", "/b/k?uploadId=u", nil, "", "s3:ListMultipartUploadParts arn:aws:s3:::b/k"},
		{"GET", "/b?list-type=2&prefix=p/", nil, "", "s3:ListBucket arn:aws:s3:::b"},
		{"HEAD", "/b", nil, "", "s3:ListBucket arn:aws:s3:::b"},
		{"GET", "/b?versions", nil, "", "s3:ListBucketVersions arn:aws:s3:::b"},
		{"GET", "/b?uploads", nil, "", "s3:ListBucketMultipartUploads arn:aws:s3:::b"},
		{"GET", "/b?location", nil, "", "s3:GetBucketLocation arn:aws:s3:::b"},
		{"PUT", "/b?versioning", nil, "", "s3:PutBucketVersioning arn:aws:s3:::b"},
		{"PUT", "/b", nil, "", "s3:CreateBucket arn:aws:s3:::b"},
		{"PUT", "/b/k", nil, "", "s3:PutObject arn:aws:s3:::b/k"},
		{"PUT", "/b/k", map[string]string{"X-Amz-Tagging": "a=b"}, "", "s3:PutObject arn:aws:s3:::b/k, s3:PutObjectTagging arn:aws:s3:::b/k"},
		{"PUT", "/b/k?partNumber=1&uploadId=u", nil, "", "s3:PutObject arn:aws:s3:::b/k"},
		{"PUT", "/b/k", map[string]string{"X-Amz-Copy-Source": "src/a%2Fb?versionId=v2"}, "", "s3:PutObject arn:aws:s3:::b/k, s3:GetObjectVersion arn:aws:s3:::src/a/b"},
		{"PUT", "/b/k?partNumber=2&uploadId=u", map[string]string{"X-Amz-Copy-Source": "/src/a"}, "", "s3:PutObject arn:aws:s3:::b/k, s3:GetObject arn:aws:s3:::src/a"},
		{"POST", "/b/k?uploads", nil, "", "s3:PutObject arn:aws:s3:::b/k"},
		{"POST", "/b/k?uploadId=u", nil, "", "s3:PutObject arn:aws:s3:::b/k"},
		{"DELETE", "/b/k?uploadId=u", nil, "", "s3:AbortMultipartUpload arn:aws:s3:::b/k"},
		{"DELETE", "/b/k", nil, "", "s3:DeleteObject arn:aws:s3:::b/k"},
		{"DELETE", "/b/k?versionId=v", nil, "", "s3:DeleteObjectVersion arn:aws:s3:::b/k"},
		{"POST", "/b?delete", nil, `<Delete><Object><Key>x</Key></Object><Object><Key>y</Key><VersionId>v</VersionId></Object></Delete>`,
			"s3:DeleteObject arn:aws:s3:::b/x, s3:DeleteObjectVersion arn:aws:s3:::b/y"},
	} {
		r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		op, err := Classify(r, []byte(c.body))
		if err != nil {
			t.Errorf("%s %s: %v", c.method, c.target, err)
			continue
		}
		var got []string
		for _, ch := range op.Checks {
			got = append(got, ch.Action+" "+ch.Resource)
		}
		if g := strings.Join(got, ", "); g != c.want {
			t.Errorf("%s %s: %s, want %s", c.method, c.target, g, c.want)
		}
	}
	if _, err := Classify(httptest.NewRequest(http.MethodPatch, "/b/k", nil), nil); err == nil {
		t.Error("PATCH is not an S3 operation")
	}
}
