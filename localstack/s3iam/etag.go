package s3iam

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// kmsETags gives the objects of an SSE-KMS bucket ETags that are not the MD5 of their body,
// as S3 does: the stand-in's MD5 encrypted with AES under a key derived from the bucket name.
// The mapping is stateless and reversible (conditional requests are translated back), and
// stable across runs over the same files.
type kmsETags struct{ block cipher.Block }

func newKMSETags(bucket string) kmsETags {
	key := sha256.Sum256([]byte("sluice-local SSE-KMS ETag " + bucket))
	block, _ := aes.NewCipher(key[:16]) // a 16-byte key never fails
	return kmsETags{block}
}

// seal maps a stand-in ETag ("<32 hex>" or "<32 hex>-<parts>", quoted or not) to the one
// clients see; open maps it back. Anything else is returned unchanged.
func (k kmsETags) seal(etag string) string { return k.apply(etag, k.block.Encrypt) }
func (k kmsETags) open(etag string) string { return k.apply(etag, k.block.Decrypt) }

func (k kmsETags) apply(etag string, f func(dst, src []byte)) string {
	quoted := strings.HasPrefix(etag, `"`) && strings.HasSuffix(etag, `"`) && len(etag) >= 2
	bare := strings.Trim(etag, `"`)
	sum, parts, _ := strings.Cut(bare, "-")
	b, err := hex.DecodeString(sum)
	if err != nil || len(b) != 16 {
		return etag
	}
	f(b, b)
	out := hex.EncodeToString(b)
	if parts != "" {
		out += "-" + parts
	}
	if quoted {
		out = `"` + out + `"`
	}
	return out
}

// list maps each ETag in a header list (If-Match: "a", "b"; or *).
func (k kmsETags) list(h string, f func(string) string) string {
	items := strings.Split(h, ",")
	for i, it := range items {
		items[i] = f(strings.TrimSpace(it))
	}
	return strings.Join(items, ", ")
}

// xmlETag finds ETag elements in S3's XML documents, quoted with &quot;, &#34; or plain quotes.
var xmlETag = regexp.MustCompile(`(<ETag>(?:&quot;|&#34;|")?)([0-9a-fA-F]{32})((?:-[0-9]+)?(?:&quot;|&#34;|")?</ETag>)`)

// xml maps every ETag element of an XML body.
func (k kmsETags) xml(body []byte, f func(string) string) []byte {
	return xmlETag.ReplaceAllFunc(body, func(m []byte) []byte {
		sub := xmlETag.FindSubmatch(m)
		return []byte(string(sub[1]) + f(string(sub[2])) + string(sub[3]))
	})
}
