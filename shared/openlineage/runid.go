package openlineage

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// runIDNamespace is sluice's own UUID namespace for name-based run ids.
// Changing it changes every derived run id: never do.
var runIDNamespace = [16]byte{0xbc, 0x58, 0x86, 0x7d, 0x3f, 0x91, 0xa2, 0x2d, 0x6e, 0xa6, 0xf0, 0x6e, 0x65, 0xeb, 0xee, 0x91}

// NewRunID returns a name-based (version 5, RFC 4122) UUID derived from
// parts, so the same object always gets the same run id and a replayed
// event updates the run instead of creating another. Parts are joined with
// a NUL byte, so ("ab","c") and ("a","bc") differ.
func NewRunID(parts ...string) string {
	h := sha1.New()
	h.Write(runIDNamespace[:])
	h.Write([]byte(strings.Join(parts, "\x00")))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// IsUUID reports whether s is a UUID in its canonical 8-4-4-4-12 hex form,
// the form the spec's "uuid" format accepts.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
