// Package s3iam is an S3 endpoint as strict as AWS in front of the local S3 stand-in: it tells
// the caller by the access key id of its SigV4 credential (Authorization header or presigned
// query), authorizes every request against that caller's IAM identity policies
// (localstack/iampolicy) with the actions S3 documents per operation, answers AccessDenied in
// S3's XML shape when they do not allow it, and forwards what they allow re-signed with the
// stand-in's own credentials.
//
// It also behaves as S3 does where the stand-in does not:
//   - a GET or HEAD of a missing key answers 404 only to a caller allowed s3:ListBucket on the
//     bucket, and 403 AccessDenied to anyone else;
//   - objects of buckets encrypted with SSE-KMS have ETags that are not the MD5 of their body,
//     in every response; conditional headers (If-Match, If-None-Match, x-amz-copy-source-if-*)
//     and the part list of CompleteMultipartUpload are translated back.
//
// Not enforced: bucket policies, ACLs, KMS key policies (a function needs no kms:* grant to
// read an SSE-KMS object locally), and the caller's signature itself (the front trusts the
// access key id; the stand-in checks the front's own signature).
package s3iam

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/sluicelake/sluice/localstack/iampolicy"
)

// Identity is a caller: a function's role, or the host's administrator.
type Identity struct {
	// Name says who it is in denials and logs (the function's name).
	Name string
	// Principal is the ARN error messages name (an assumed-role session ARN for a function).
	Principal string
	// Policies are the identity policies of its role.
	Policies []iampolicy.Policy
	// Admin skips authorization: the host's own calls (seeding, tests, the event tap's Head).
	Admin bool
}

// Config of a front.
type Config struct {
	// Target is the stand-in's endpoint (http://127.0.0.1:port).
	Target string
	// AccessKey and SecretKey are the stand-in's credentials, which forwarded requests are
	// signed with.
	AccessKey, SecretKey string
	Region               string // default us-east-1
	// Identities maps an access key id to its caller.
	Identities map[string]Identity
	// KMSBuckets are the buckets whose objects get non-MD5 ETags.
	KMSBuckets []string
	Logger     *slog.Logger
}

// Denial records one request refused for lack of permission.
type Denial struct {
	Function  string // the caller's identity name
	Principal string
	Action    string
	Resource  string
	Decision  iampolicy.Decision
	Method    string
	Path      string
	// Unevaluated lists the conditions that could not be evaluated, if any.
	Unevaluated []string
	// MissingKey marks a read of a key that does not exist by a caller without s3:ListBucket
	// on the bucket: allowed, but answered 403 AccessDenied instead of 404, as S3 does.
	MissingKey bool
	At         time.Time
}

func (d Denial) String() string {
	if d.MissingKey {
		return fmt.Sprintf("%s: %s on %s (missing key, and no s3:ListBucket on the bucket to be told so)", d.Function, d.Action, d.Resource)
	}
	return fmt.Sprintf("%s: %s on %s (%s)", d.Function, d.Action, d.Resource, d.Decision)
}

// Front is a running enforcing endpoint. Endpoint is what clients use.
type Front struct {
	Endpoint string
	cfg      Config
	target   *url.URL
	srv      *http.Server
	kms      map[string]kmsETags

	mu      sync.Mutex
	denials []Denial
}

// S3 condition keys the front supplies, besides iampolicy.DefaultSupported.
var supported = append(slices.Clone(iampolicy.DefaultSupported),
	"s3:prefix", "s3:delimiter", "s3:max-keys", "s3:versionid", "s3:x-amz-server-side-encryption",
	"s3:x-amz-server-side-encryption-aws-kms-key-id", "s3:authtype", "s3:signatureversion")

// Start listens on 127.0.0.1 and forwards to cfg.Target.
func Start(cfg Config) (*Front, error) {
	u, err := url.Parse(cfg.Target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("s3iam: target %q is not an http://host:port URL", cfg.Target)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("s3iam: the stand-in's AccessKey and SecretKey are needed to sign forwarded requests")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &Front{Endpoint: "http://" + ln.Addr().String(), cfg: cfg, target: u, kms: map[string]kmsETags{}}
	for _, b := range cfg.KMSBuckets {
		f.kms[b] = newKMSETags(b)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = u.Host
		},
		Transport: &resigner{
			creds:  aws.Credentials{AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey, Source: "s3iam"},
			region: cfg.Region, next: http.DefaultTransport,
			// S3 signs the path as sent, not escaped a second time as other services do.
			signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		},
		ModifyResponse: f.modifyResponse,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			cfg.Logger.Error("s3iam: forwarding failed", "method", r.Method, "path", r.URL.Path, "error", err)
			writeError(w, r, http.StatusBadGateway, "InternalError", "the local S3 stand-in did not answer: "+err.Error())
		},
	}
	f.srv = &http.Server{Handler: f.handler(rp), ReadHeaderTimeout: 30 * time.Second}
	go f.srv.Serve(ln)
	return f, nil
}

// Close stops the front.
func (f *Front) Close() error { return f.srv.Close() }

// Denials returns the requests refused so far, oldest first.
func (f *Front) Denials() []Denial {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.denials)
}

type ctxKey struct{}

// reqState carries what the response side needs to know about a request.
type reqState struct {
	op      Operation
	canList bool
	id      Identity
}

var credential = regexp.MustCompile(`Credential=([^/,\s]+)/`)

// accessKey finds the access key id of a SigV4 request ("" for an anonymous one).
func accessKey(r *http.Request) string {
	if m := credential.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[1]
	}
	if c := r.URL.Query().Get("X-Amz-Credential"); c != "" {
		ak, _, _ := strings.Cut(c, "/")
		return ak
	}
	return ""
}

func (f *Front) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ak := accessKey(r)
		if ak == "" {
			writeError(w, r, http.StatusForbidden, "AccessDenied", "Anonymous requests are denied: sign them with a function's credentials.")
			return
		}
		id, ok := f.cfg.Identities[ak]
		if !ok && ak == f.cfg.AccessKey {
			id, ok = Identity{Name: "admin", Admin: true}, true
		}
		if !ok {
			writeError(w, r, http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.",
				"AWSAccessKeyId", ak)
			return
		}
		var body []byte
		if r.Method == http.MethodPost && r.URL.Query().Has("delete") || f.kmsBucket(r) && r.Method == http.MethodPost && r.URL.Query().Has("uploadId") {
			// DeleteObjects is authorized key by key; CompleteMultipartUpload's part list is
			// translated back. Both are small XML documents.
			b, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
			if err != nil {
				writeError(w, r, http.StatusBadRequest, "IncompleteBody", "the request body could not be read: "+err.Error())
				return
			}
			r.Body.Close()
			body = b
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		op, err := Classify(r, body)
		if err != nil && !id.Admin {
			// Refused rather than guessed: an operation this front cannot name is one it
			// cannot authorize. The host's own calls pass, for the stand-in to judge.
			writeError(w, r, http.StatusNotImplemented, "NotImplemented", err.Error())
			return
		}
		st := &reqState{op: op, id: id, canList: true}
		if !id.Admin {
			for _, c := range op.Checks {
				if res := f.evaluate(id, c, r); !res.Allowed() {
					f.deny(w, r, id, c, res)
					return
				}
			}
			if op.ReadsObject {
				st.canList = f.evaluate(id, Check{Action: "s3:ListBucket", Resource: bucketARN(op.Bucket)}, r).Allowed()
			}
		}
		f.translateRequest(r, op, body)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, st)))
	})
}

func (f *Front) evaluate(id Identity, c Check, r *http.Request) iampolicy.Result {
	ctx := map[string][]string{
		// The functions reach S3 over TLS in AWS; locally it is plain HTTP on loopback, which
		// a policy denying insecure transport must not count against them.
		"aws:SecureTransport":     {"true"},
		"aws:RequestedRegion":     {f.cfg.Region},
		"aws:PrincipalArn":        {id.Principal},
		"s3:signatureversion":     {"AWS4-HMAC-SHA256"},
		"s3:authType":             {map[bool]string{true: "REST-QUERY-STRING", false: "REST-HEADER"}[r.URL.Query().Has("X-Amz-Signature")]},
		"aws:PrincipalType":       {"AssumedRole"},
		"aws:PrincipalAccount":    {"000000000000"},
		"s3:x-amz-content-sha256": {r.Header.Get("X-Amz-Content-Sha256")},
	}
	for k, v := range c.Context {
		ctx[k] = v
	}
	res := iampolicy.Evaluate(id.Policies, iampolicy.Request{Action: c.Action, Resource: c.Resource, Context: ctx, Supported: supported})
	if len(res.Unevaluated) > 0 {
		f.cfg.Logger.Warn("s3iam: statements with conditions not evaluated locally (Allow not applied, Deny applied)",
			"function", id.Name, "action", c.Action, "resource", c.Resource, "statements", res.Unevaluated)
	}
	return res
}

// deny records a refusal and answers it as S3 does, naming the principal, action and resource
// in the message the way S3 does for callers in the bucket owner's account.
func (f *Front) deny(w http.ResponseWriter, r *http.Request, id Identity, c Check, res iampolicy.Result) {
	d := Denial{Function: id.Name, Principal: id.Principal, Action: c.Action, Resource: c.Resource, Decision: res.Decision,
		Method: r.Method, Path: r.URL.Path, Unevaluated: res.Unevaluated, At: time.Now()}
	f.record(d)
	why := "because no identity-based policy allows the " + c.Action + " action"
	if res.Decision == iampolicy.ExplicitDeny {
		why = "with an explicit deny in an identity-based policy"
	}
	f.cfg.Logger.Warn("s3iam: AccessDenied", "function", id.Name, "action", c.Action, "resource", c.Resource, "decision", res.Decision.String())
	writeError(w, r, http.StatusForbidden, "AccessDenied",
		fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %q %s", id.Principal, c.Action, c.Resource, why))
}

func (f *Front) record(d Denial) {
	f.mu.Lock()
	f.denials = append(f.denials, d)
	f.mu.Unlock()
	if d.MissingKey {
		f.cfg.Logger.Warn("s3iam: AccessDenied for a missing key (no s3:ListBucket)", "function", d.Function, "action", d.Action, "resource", d.Resource)
	}
}

func (f *Front) kmsBucket(r *http.Request) bool {
	bucket, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	_, ok := f.kms[bucket]
	return ok
}

// translateRequest maps the ETags a client sends for SSE-KMS objects back to the stand-in's.
func (f *Front) translateRequest(r *http.Request, op Operation, body []byte) {
	if k, ok := f.kms[op.Bucket]; ok {
		for _, h := range []string{"If-Match", "If-None-Match"} {
			if v := r.Header.Get(h); v != "" {
				r.Header.Set(h, k.list(v, k.open))
			}
		}
		if body != nil && r.URL.Query().Has("uploadId") {
			body = k.xml(body, k.open)
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			if hash := r.Header.Get("X-Amz-Content-Sha256"); len(hash) == 64 {
				sum := sha256.Sum256(body)
				r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
			}
			r.Header.Del("Content-MD5")
		}
	}
	if k, ok := f.kms[op.CopySourceBucket]; ok {
		for _, h := range []string{"X-Amz-Copy-Source-If-Match", "X-Amz-Copy-Source-If-None-Match"} {
			if v := r.Header.Get(h); v != "" {
				r.Header.Set(h, k.list(v, k.open))
			}
		}
	}
}

// modifyResponse turns a 404 of a missing key into 403 for callers without s3:ListBucket and
// gives SSE-KMS objects their non-MD5 ETags.
func (f *Front) modifyResponse(resp *http.Response) error {
	st, _ := resp.Request.Context().Value(ctxKey{}).(*reqState)
	if st == nil {
		return nil
	}
	if st.op.ReadsObject && resp.StatusCode == http.StatusNotFound && !st.canList {
		c := st.op.Checks[0]
		f.record(Denial{Function: st.id.Name, Principal: st.id.Principal, Action: c.Action, Resource: c.Resource,
			Method: resp.Request.Method, Path: resp.Request.URL.Path, MissingKey: true, At: time.Now()})
		resp.Body.Close()
		msg := "Access Denied"
		body := errorXML("AccessDenied", msg, resp.Request.URL.Path)
		resp.StatusCode, resp.Status = http.StatusForbidden, "403 Forbidden"
		resp.Header = http.Header{"Content-Type": {"application/xml"}, "X-Amz-Request-Id": {requestID()}}
		if resp.Request.Method == http.MethodHead {
			body = nil
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	k, ok := f.kms[st.op.Bucket]
	if !ok {
		return nil
	}
	if e := resp.Header.Get("ETag"); e != "" {
		resp.Header.Set("ETag", k.seal(e))
	}
	if st.op.GetObject || resp.Request.Method == http.MethodHead || !strings.Contains(resp.Header.Get("Content-Type"), "xml") {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	body = k.xml(body, k.seal)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// writeError answers in S3's error shape; HEAD responses carry no body, as S3's do.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string, extra ...string) {
	body := errorXML(code, msg, r.URL.Path, extra...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("X-Amz-Request-Id", requestID())
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func errorXML(code, msg, resource string, extra ...string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error><Code>")
	xml.EscapeText(&b, []byte(code))
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(msg))
	b.WriteString("</Message>")
	for i := 0; i+1 < len(extra); i += 2 {
		fmt.Fprintf(&b, "<%s>", extra[i])
		xml.EscapeText(&b, []byte(extra[i+1]))
		fmt.Fprintf(&b, "</%s>", extra[i])
	}
	b.WriteString("<Resource>")
	xml.EscapeText(&b, []byte(resource))
	fmt.Fprintf(&b, "</Resource><RequestId>%s</RequestId><HostId>local</HostId></Error>", requestID())
	return b.Bytes()
}

var reqSeq struct {
	sync.Mutex
	n int64
}

func requestID() string {
	reqSeq.Lock()
	defer reqSeq.Unlock()
	reqSeq.n++
	return fmt.Sprintf("LOCAL%011X", reqSeq.n)
}
