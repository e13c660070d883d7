package record

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner walks one JSON text. It validates as it goes (grammar, UTF-8, depth) and never
// allocates for the common case: values are reported as spans of the input.
type scanner struct {
	d        []byte
	pos      int
	maxDepth int
}

// member is one key/value pair of the top-level object.
type member struct {
	key      []byte // unescaped
	start    int    // value span in the scanned text
	end      int
	kind     byte // '"' string, 'n' null, 't'/'f' boolean, '0' number, '{' object, '[' array
	escaped  bool // a string value holds escapes
	integral bool // a number without fraction or exponent
}

// wsTable marks JSON white space.
var wsTable = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// plainString marks bytes that need no attention inside a string.
var plainString = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *scanner) ws() {
	for s.pos < len(s.d) && wsTable[s.d[s.pos]] {
		s.pos++
	}
}

func (s *scanner) malformed(format string, a ...any) *Reject {
	return reject(Malformed, "", "at byte %d: "+format, append([]any{s.pos}, a...)...)
}

// topObject parses the whole text as one object and returns its members.
func (s *scanner) topObject(members []member) ([]member, *Reject) {
	s.ws()
	if s.pos == len(s.d) {
		return nil, reject(Empty, "", "the record holds only white space")
	}
	if s.d[s.pos] != '{' {
		if r := s.skipValue(1); r != nil {
			return nil, r
		}
		return nil, reject(NotObject, "", "the record is JSON but not an object (a record is one JSON object)")
	}
	s.pos++
	s.ws()
	if s.pos < len(s.d) && s.d[s.pos] == '}' {
		s.pos++
	} else {
		for {
			s.ws()
			if s.pos >= len(s.d) || s.d[s.pos] != '"' {
				return nil, s.malformed("expected a quoted key")
			}
			ks, ke, esc, r := s.str()
			if r != nil {
				return nil, r
			}
			key := s.d[ks:ke]
			if esc {
				if key, r = unescape(nil, key); r != nil {
					return nil, r
				}
			}
			s.ws()
			if s.pos >= len(s.d) || s.d[s.pos] != ':' {
				return nil, s.malformed("expected ':' after key %q", key)
			}
			s.pos++
			s.ws()
			m := member{key: key, start: s.pos}
			if s.pos < len(s.d) {
				m.kind = s.d[s.pos]
			}
			switch m.kind {
			case '"':
				vs, ve, esc, r := s.str()
				if r != nil {
					r.Field = string(key)
					return nil, r
				}
				m.start, m.end, m.escaped = vs, ve, esc
			case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
				m.kind = '0'
				integral, r := s.number()
				if r != nil {
					r.Field = string(key)
					return nil, r
				}
				m.integral = integral
				m.end = s.pos
			default:
				if r := s.skipValue(1); r != nil {
					if r.Field == "" {
						r.Field = string(key)
					}
					return nil, r
				}
				m.end = s.pos
			}
			for i := range members {
				if bytes.Equal(members[i].key, key) {
					return nil, reject(DuplicateKey, string(key), "the key appears more than once")
				}
			}
			members = append(members, m)
			s.ws()
			if s.pos >= len(s.d) {
				return nil, s.malformed("the object is not closed")
			}
			if s.d[s.pos] == ',' {
				s.pos++
				continue
			}
			if s.d[s.pos] == '}' {
				s.pos++
				break
			}
			return nil, s.malformed("expected ',' or '}'")
		}
	}
	s.ws()
	if s.pos != len(s.d) {
		return nil, reject(TrailingData, "", "%d bytes follow the object at byte %d (one record is one object)", len(s.d)-s.pos, s.pos)
	}
	return members, nil
}

// str scans a string at s.pos and returns the span of its contents.
func (s *scanner) str() (start, end int, escaped bool, r *Reject) {
	d := s.d
	i := s.pos + 1
	start = i
	ascii := true
	for i < len(d) {
		c := d[i]
		if plainString[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			if !ascii && !utf8.Valid(d[start:i]) {
				return 0, 0, false, reject(InvalidUTF8, "", "a string at byte %d is not valid UTF-8", start)
			}
			s.pos = i + 1
			return start, i, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(d) {
				s.pos = i
				return 0, 0, false, s.malformed("the string is not closed")
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex4(d[i+2:i+6]) {
					s.pos = i
					return 0, 0, false, s.malformed(`\u must be followed by four hex digits`)
				}
				i += 6
			default:
				s.pos = i
				return 0, 0, false, s.malformed("invalid escape \\%c", d[i+1])
			}
		case c < 0x20:
			s.pos = i
			return 0, 0, false, s.malformed("control character 0x%02x inside a string (it must be escaped)", c)
		default:
			ascii = false
			i++
		}
	}
	s.pos = i
	return 0, 0, false, s.malformed("the string is not closed")
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// number scans a JSON number at s.pos.
func (s *scanner) number() (integral bool, r *Reject) {
	d := s.d
	i := s.pos
	if d[i] == '-' {
		i++
		if i < len(d) && d[i] == 'I' {
			s.pos = i
			return false, s.literal()
		}
	}
	digits := func() int {
		n := 0
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(d) && d[i] == '0' {
		i++
		if i < len(d) && d[i] >= '0' && d[i] <= '9' {
			s.pos = i
			return false, s.malformed("numbers may not have leading zeros")
		}
	} else if digits() == 0 {
		s.pos = i
		return false, s.malformed("invalid number")
	}
	integral = true
	if i < len(d) && d[i] == '.' {
		i++
		integral = false
		if digits() == 0 {
			s.pos = i
			return false, s.malformed("a decimal point must be followed by digits")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		integral = false
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if digits() == 0 {
			s.pos = i
			return false, s.malformed("an exponent must have digits")
		}
	}
	s.pos = i
	return integral, nil
}

// literal scans true, false or null; it names NaN and Infinity, which JSON does not allow.
func (s *scanner) literal() *Reject {
	rest := s.d[s.pos:]
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(rest) >= len(lit) && string(rest[:len(lit)]) == lit {
			s.pos += len(lit)
			return nil
		}
	}
	for _, nf := range [...]string{"NaN", "Infinity", "inf", "nan"} {
		if len(rest) >= len(nf) && string(rest[:len(nf)]) == nf {
			return reject(NonFinite, "", "%s is not a JSON number: send null or a finite number", nf)
		}
	}
	return s.malformed("unexpected character %q", rest[0])
}

// skipValue validates and skips any value at s.pos.
func (s *scanner) skipValue(depth int) *Reject {
	if depth > s.maxDepth {
		return reject(TooDeep, "", "nesting deeper than %d levels", s.maxDepth)
	}
	s.ws()
	if s.pos >= len(s.d) {
		return s.malformed("a value is missing")
	}
	switch c := s.d[s.pos]; {
	case c == '"':
		_, _, _, r := s.str()
		return r
	case c == '-' || c >= '0' && c <= '9':
		_, r := s.number()
		return r
	case c == '{' || c == '[':
		close := byte('}')
		if c == '[' {
			close = ']'
		}
		s.pos++
		s.ws()
		if s.pos < len(s.d) && s.d[s.pos] == close {
			s.pos++
			return nil
		}
		for {
			s.ws()
			if c == '{' {
				if s.pos >= len(s.d) || s.d[s.pos] != '"' {
					return s.malformed("expected a quoted key")
				}
				if _, _, _, r := s.str(); r != nil {
					return r
				}
				s.ws()
				if s.pos >= len(s.d) || s.d[s.pos] != ':' {
					return s.malformed("expected ':'")
				}
				s.pos++
			}
			if r := s.skipValue(depth + 1); r != nil {
				return r
			}
			s.ws()
			if s.pos >= len(s.d) {
				return s.malformed("%c is not closed", c)
			}
			if s.d[s.pos] == ',' {
				s.pos++
				continue
			}
			if s.d[s.pos] == close {
				s.pos++
				return nil
			}
			return s.malformed("expected ',' or '%c'", close)
		}
	default:
		return s.literal()
	}
}

// unescape appends the decoded form of a string's contents (known to be well formed) to dst.
func unescape(dst, src []byte) ([]byte, *Reject) {
	for i := 0; i < len(src); {
		c := src[i]
		if c != '\\' {
			j := bytes.IndexByte(src[i:], '\\')
			if j < 0 {
				return append(dst, src[i:]...), nil
			}
			dst = append(dst, src[i:i+j]...)
			i += j
			continue
		}
		switch src[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(src[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(src) && src[i] == '\\' && src[i+1] == 'u' {
					if pair := utf16.DecodeRune(r, hex4(src[i+2:])); pair != utf8.RuneError {
						dst = utf8.AppendRune(dst, pair)
						i += 6
						continue
					}
				}
				return nil, reject(InvalidUTF8, "", `a \u escape holds a lone UTF-16 surrogate, which is not a character`)
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // " \ /
			dst = append(dst, src[i+1])
		}
		i += 2
	}
	return dst, nil
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}
