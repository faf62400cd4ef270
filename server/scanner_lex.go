package server

// Lexical helpers of the stream scanner (scanner.go): XML 1.0 fifth
// edition names, characters and references, and start and end tags.

import (
	"bytes"
	"unicode/utf8"
)

// maxRef bounds a character reference's length (leading zeros included):
// "&#x10FFFF;" needs 10 bytes, and a reference always fits the smallest
// bufio.Reader (16 bytes).
const maxRef = 16

// Byte classes for text: 0 plain, 1 needs a look, 2 never allowed.
var textClass = func() (t [256]uint8) {
	for c := 0; c < 0x20; c++ {
		t[c] = 2
	}
	t['\t'], t['\n'], t['\r'] = 0, 0, 0
	t['<'], t['&'], t[']'], t['\''], t['"'] = 1, 1, 1, 1, 1
	for c := 0x80; c < 0x100; c++ {
		t[c] = 1
	}
	return t
}()

// nameASCII: 2 for an ASCII name start character, 1 for another name
// character.
var nameASCII = func() (t [256]uint8) {
	for c := 0; c < 0x80; c++ {
		switch {
		case isNameStart(rune(c)):
			t[c] = 2
		case isNameChar(rune(c)):
			t[c] = 1
		}
	}
	return t
}()

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isNameByte reports the ASCII bytes encoding/xml reads as part of a name;
// every non-ASCII byte is read too, then the name is checked as a whole.
func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-' || c >= 0x80
}

// nameEnd returns the end of the name-like run at i.
func nameEnd(b []byte, i int) int {
	for i < len(b) && isNameByte(b[i]) {
		i++
	}
	return i
}

func isNameStart(r rune) bool {
	switch {
	case r < 0x80:
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '_' || r == ':'
	case r <= 0x2FF:
		return r >= 0xC0 && r != 0xD7 && r != 0xF7
	}
	return r >= 0x370 && r <= 0x1FFF && r != 0x37E || r == 0x200C || r == 0x200D ||
		r >= 0x2070 && r <= 0x218F || r >= 0x2C00 && r <= 0x2FEF ||
		r >= 0x3001 && r <= 0xD7FF || r >= 0xF900 && r <= 0xFDCF ||
		r >= 0xFDF0 && r <= 0xFFFD || r >= 0x10000 && r <= 0xEFFFF
}

func isNameChar(r rune) bool {
	return isNameStart(r) || r == '-' || r == '.' || '0' <= r && r <= '9' || r == 0xB7 ||
		r >= 0x300 && r <= 0x36F || r == 0x203F || r == 0x2040
}

// validName checks a name (XML 1.0 fifth edition, section 2.3).
func validName(n []byte) bool {
	if len(n) > 0 && nameASCII[n[0]] == 2 {
		i := 1
		for i < len(n) && nameASCII[n[i]] != 0 {
			i++
		}
		if i == len(n) {
			return true
		}
	}
	for i := 0; i < len(n); {
		r, size := rune(n[i]), 1
		if r >= 0x80 {
			r, size = utf8.DecodeRune(n[i:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
		}
		if i == 0 && !isNameStart(r) || !isNameChar(r) {
			return false
		}
		i += size
	}
	return len(n) > 0
}

// isXMLChar is the Char production (XML 1.0 section 2.2).
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// checkName checks the name b[i:j] as a QName and returns the offset of
// its colon, or -1.
func (s *scanner) checkName(b []byte, i, j int) (int32, error) {
	n := b[i:j]
	if !validName(n) {
		strict := strictNone
		if !isASCII(n) {
			strict = strictName
		}
		return 0, s.nwf(strict, i, "bad name")
	}
	c := bytes.IndexByte(n, ':')
	if c < 0 {
		return -1, nil
	}
	if c == 0 || c == len(n)-1 || bytes.IndexByte(n[c+1:], ':') >= 0 {
		return 0, s.nwf(strictQName, i, "bad qualified name")
	}
	return int32(i + c), nil
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// Reference parse results.
const (
	refOK = iota
	refMore
	refBad
	refLong
	refSurrogate
)

func refStrict(st int) int {
	if st == refLong || st == refSurrogate {
		return strictRef
	}
	return strictNone
}

var predefined = [...]struct {
	name string
	r    rune
}{{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"apos", '\''}, {"quot", '"'}}

// parseRef parses the reference at b[0] == '&': the character and the
// reference's length.
func parseRef(b []byte, eof bool) (rune, int, int) {
	more := refMore
	if eof {
		more = refBad
	}
	if len(b) < 2 {
		return 0, 0, more
	}
	if b[1] != '#' {
		j := nameEnd(b, 1)
		if j > len("&quot") {
			return 0, 0, refBad // longer than any predefined entity
		}
		if j == len(b) {
			return 0, 0, more
		}
		if b[j] != ';' {
			return 0, 0, refBad
		}
		for _, p := range predefined {
			if string(b[1:j]) == p.name {
				return p.r, j + 1, refOK
			}
		}
		return 0, 0, refBad
	}
	return parseCharRef(b, more)
}

func parseCharRef(b []byte, more int) (rune, int, int) {
	i, base := 2, rune(10)
	if i < len(b) && b[i] == 'x' {
		i, base = 3, 16
	}
	start, v := i, rune(0)
	for ; i < len(b); i++ {
		c, d := b[i], rune(-1)
		switch {
		case '0' <= c && c <= '9':
			d = rune(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = rune(c-'A') + 10
		}
		if d < 0 {
			break
		}
		if i >= maxRef-1 { // no room left for the ';'
			return 0, 0, refLong
		}
		v = v*base + d
		if v > utf8.MaxRune {
			return 0, 0, refBad
		}
	}
	switch {
	case i == len(b):
		return 0, 0, more
	case b[i] != ';' || i == start:
		return 0, 0, refBad
	case v >= 0xD800 && v <= 0xDFFF:
		return 0, 0, refSurrogate
	case !isXMLChar(v):
		return 0, 0, refBad
	}
	return v, i + 1, refOK
}

// scanChars checks character data in b from i until a byte in stop (one
// of '<', '&', a quote, or ']' for "]]>") that needs the caller's look. It
// returns where it stopped, or an error offset with ok false.
func scanChars(b []byte, i int, eof bool) (int, bool) {
	for i < len(b) {
		c := b[i]
		switch textClass[c] {
		case 0:
			i++
			continue
		case 2:
			return i, false
		}
		if c < 0x80 {
			return i, true
		}
		if !eof && !utf8.FullRune(b[i:]) {
			return i, true
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 || !isXMLChar(r) {
			return i, false
		}
		i += size
	}
	return i, true
}
