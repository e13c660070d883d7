package s3iam

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// resigner signs every forwarded request anew with the stand-in's credentials, at the last
// moment (after the reverse proxy has dropped hop-by-hop headers), so that what is signed is
// what is sent.
type resigner struct {
	creds  aws.Credentials
	region string
	signer *v4.Signer
	next   http.RoundTripper
}

// presignParams are the query parameters of a presigned URL, replaced by a header signature.
var presignParams = []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"}

func (s *resigner) RoundTrip(r *http.Request) (*http.Response, error) {
	q := r.URL.Query()
	if q.Has("X-Amz-Signature") {
		for _, p := range presignParams {
			q.Del(p)
		}
		r.URL.RawQuery = q.Encode()
	}
	r.Header.Del("Authorization")
	r.Header.Del("X-Amz-Security-Token")
	r.Header.Del("X-Amz-Date")
	hash := r.Header.Get("X-Amz-Content-Sha256")
	switch {
	case hash == "":
		hash = "UNSIGNED-PAYLOAD" // a presigned request: its body was never signed
		r.Header.Set("X-Amz-Content-Sha256", hash)
	case strings.HasPrefix(hash, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), strings.HasPrefix(hash, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"):
		// Each chunk's signature chains from the caller's seed signature, which is replaced:
		// send the payload decoded instead, with its checksum trailer as a header.
		var err error
		if hash, err = unchunk(r); err != nil {
			return nil, fmt.Errorf("s3iam: decode the aws-chunked body of %s %s: %w", r.Method, r.URL.Path, err)
		}
	}
	// STREAMING-UNSIGNED-PAYLOAD-TRAILER, UNSIGNED-PAYLOAD and a hex digest are signed as they
	// are: the stand-in checks the body against them exactly as it would have.
	if err := s.signer.SignHTTP(r.Context(), s.creds, r, hash, "s3", s.region, time.Now().UTC()); err != nil {
		return nil, fmt.Errorf("s3iam: sign the forwarded request: %w", err)
	}
	return s.next.RoundTrip(r)
}

// unchunk replaces a signed aws-chunked body by the payload it carries and returns the
// payload's SHA-256. Trailing checksum headers become request headers.
func unchunk(r *http.Request) (string, error) {
	br := bufio.NewReader(r.Body)
	var payload bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("chunk header: %w", err)
		}
		sizeHex, _, _ := strings.Cut(strings.TrimSpace(line), ";")
		size, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil {
			return "", fmt.Errorf("chunk size %q: %w", sizeHex, err)
		}
		if size == 0 {
			break
		}
		if _, err := io.CopyN(&payload, br, size); err != nil {
			return "", fmt.Errorf("chunk of %d bytes: %w", size, err)
		}
		if crlf, err := br.ReadString('\n'); err != nil || strings.TrimSpace(crlf) != "" {
			return "", fmt.Errorf("chunk not followed by CRLF")
		}
	}
	// Trailers, up to an empty line or the end.
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimSpace(line)
		if name, value, ok := strings.Cut(line, ":"); ok && !strings.EqualFold(name, "x-amz-trailer-signature") {
			r.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
		}
		if err != nil || line == "" {
			break
		}
	}
	r.Body.Close()
	body := payload.Bytes()
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Del("X-Amz-Decoded-Content-Length")
	r.Header.Del("X-Amz-Trailer")
	r.Header.Del("Content-Length")
	var enc []string
	for _, e := range strings.Split(r.Header.Get("Content-Encoding"), ",") {
		if e = strings.TrimSpace(e); e != "" && e != "aws-chunked" {
			enc = append(enc, e)
		}
	}
	if len(enc) == 0 {
		r.Header.Del("Content-Encoding")
	} else {
		r.Header.Set("Content-Encoding", strings.Join(enc, ","))
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	r.Header.Set("X-Amz-Content-Sha256", hash)
	return hash, nil
}
