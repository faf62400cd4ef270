package server

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The scanner is checked against the encoding/xml reader: for any input,
// fed split at arbitrary points through buffers of several sizes, both
// must read the same header and elements (raw bytes, names, namespaces,
// attributes) and fail in the same class. Where they differ, the scanner's
// error names one of the documented strictness reasons (see the strict*
// constants) and the test checks the input really is what that reason
// says; nothing else may differ.

const diffLimit = 4096

var bufSizes = []int{16, 128, 4096}

// scansionStanzas returns the stanzas of Prosody's conformance transcripts.
func scansionStanzas() []string {
	files, _ := filepath.Glob("/work/shared/conformance/scansion/*.scs")
	vars := regexp.MustCompile(`\$\{[^}]*\}`)
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var cur []string
		flush := func() {
			if len(cur) > 0 {
				out = append(out, vars.ReplaceAllString(strings.Join(cur, "\n"), "juliet@localhost/r"))
			}
			cur = nil
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "\t") && strings.HasPrefix(strings.TrimSpace(line), "<") || len(cur) > 0 && strings.HasPrefix(line, "\t") {
				cur = append(cur, strings.TrimPrefix(line, "\t"))
				continue
			}
			flush()
		}
		flush()
	}
	return out
}

var trickySeeds = []string{
	benchMsg,
	"<presence/>\n \t<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq></stream:stream>",
	"<message><x:y xmlns:x='urn:x' x:a='1'>t&amp;&lt;</x:y></message></stream:stream>",
	"<message><body>unclosed</message>",
	"<!DOCTYPE x [<!ENTITY a 'b'>]><message/>",
	"<message><body>&xxe;</body></message>",
	"<message xml:lang='en' to='x@y/z'><![CDATA[<raw>]]></message>",
	"<message a='1' a='2'/>", "<message a='1'b='2'/>", "<message><q:x/></message>",
	"<xmlns:a/>", "<a: b='1'/>", "<message xmlns:p=''/>", "<é/>", "<a\u0300/>",
	"&#32;<a/>&#x20;\u00a0<b/>", "<![CDATA[ ]]><a/>", "<a>&#xD800;</a>",
	"<a>&#x0000000000000000000000000000000000000000000000000000000000000041;</a>",
	"<?xml version='1.0'?><a/>", "<!-- c --><a/>", "<a>]]></a>", "<a b='&#13;\r\n'/>",
	"<message xmlns='jabber:server' to='a@b'><body>x</body></message>",
	"<stream:features/><stream:stream/>", "</stream:stream >", "</stream>",
}

func FuzzScannerDiff(f *testing.F) {
	for _, s := range append(trickySeeds, scansionStanzas()...) {
		f.Add([]byte(s), []byte{3, 7, 1}, byte(0))
	}
	f.Add([]byte("<?xml version='1.0'?>\n<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'/>"), []byte{1}, byte(1))
	f.Add([]byte("<stream xmlns='jabber:client'><a/></stream>"), []byte{5}, byte(5))
	f.Fuzz(func(t *testing.T, body, sizes []byte, mode byte) {
		data := body
		if mode&1 == 0 {
			data = append([]byte(fuzzHeader), body...)
		}
		size := bufSizes[int(mode>>1)%len(bufSizes)]
		old := readOld(bytes.NewReader(data), diffLimit)
		nw := readNew(bytes.NewReader(data), 4096, diffLimit)
		split := readNew(&chunkReader{data: data, sizes: sizes}, size, diffLimit)
		if split.String() != nw.String() {
			t.Fatalf("split read (buffer %d) differs:\n%v\n%v", size, split, nw)
		}
		if why := diffExplained(data, old, nw); why != "" {
			t.Fatalf("%s\ninput %q\nold %s %v\n%q\nnew %s %v\n%q", why, data, old.class, old.err, old.els, nw.class, nw.err, nw.els)
		}
	})
}

// diffExplained returns "" when the two results agree or differ only as
// documented.
func diffExplained(data []byte, old, nw readResult) string {
	if old.hdr.Name.Local != "" && nw.hdr.Name.Local != "" && fmt.Sprint(old.hdr) != fmt.Sprint(nw.hdr) {
		return "header differs"
	}
	if old.class == nw.class && fmt.Sprint(old.els) == fmt.Sprint(nw.els) {
		return ""
	}
	// encoding/xml refuses a non-ASCII name the fifth edition allows.
	var se *xml.SyntaxError
	if errors.As(old.err, &se) && strings.HasPrefix(se.Msg, "invalid XML name: ") {
		name := strings.TrimPrefix(se.Msg, "invalid XML name: ")
		if !isASCII([]byte(name)) && validName([]byte(name)) && isPrefix(old.els, nw.els) {
			return ""
		}
	}
	var e *scanError
	if !errors.As(nw.err, &e) {
		return "results differ and the scanner names no reason"
	}
	if !isPrefix(nw.els, old.els) {
		return "the scanner lost or changed elements"
	}
	if bothBad(data, old, nw) {
		return ""
	}
	if e.strict == strictNone {
		return "results differ and the scanner names no reason"
	}
	if e.off < 0 || e.off >= int64(len(data)) {
		return fmt.Sprintf("error offset %d out of the input", e.off)
	}
	if ok, why := strictHolds(data, int(e.off), e.strict, old, nw); !ok {
		return fmt.Sprintf("strictness %d does not hold: %s", e.strict, why)
	}
	return ""
}

func isPrefix(a, b []string) bool {
	return len(a) <= len(b) && fmt.Sprint(a) == fmt.Sprint(b[:len(a)])
}

// bothBad: an element both too big and malformed may be reported as either.
func bothBad(data []byte, old, nw readResult) bool {
	bad := map[string]bool{"too-big": true, "not-well-formed": true, "restricted": true}
	return (old.class == "too-big" || nw.class == "too-big") && bad[old.class] && bad[nw.class] && len(data) > diffLimit
}

func nameAt(data []byte, off int) string { return string(data[off:nameEnd(data, off)]) }

// strictHolds checks, on the input itself, the reason the scanner gave.
func strictHolds(data []byte, off, strict int, old, nw readResult) (bool, string) {
	rest := data[off:]
	name := nameAt(data, off)
	switch strict {
	case strictDupAttr:
		return dupAttrAt(data, off), "no duplicate attribute"
	case strictUndeclared:
		pfx, _, _ := strings.Cut(name, ":")
		return pfx != "xml" && !declaredFor(data, off, pfx), "prefix " + pfx + " is declared"
	case strictQName:
		return strings.HasPrefix(name, ":") || strings.HasSuffix(name, ":") || strings.Count(name, ":") > 1, name
	case strictXmlnsElem, strictBadDecl:
		return strings.HasPrefix(name, "xmlns:"), name
	case strictNoSpace:
		return off > 0 && (data[off-1] == '\'' || data[off-1] == '"'), "a space precedes"
	case strictName:
		_, err := xml.NewDecoder(strings.NewReader("<" + name + "/>")).RawToken()
		return !isASCII([]byte(name)) && err == nil, name
	case strictTopText:
		r, _ := utf8.DecodeRune(rest)
		if rest[0] == '&' {
			r, _, _ = parseRef(rest, true)
		}
		// encoding/xml skips what unicode.IsSpace calls space; RFC 6120
		// and XML's S allow only space, tab, CR and LF.
		return unicode.IsSpace(r) && (r > ' ' || !isSpace(byte(r))), "not a Unicode space"
	case strictRef:
		return bytes.HasPrefix(rest, []byte("&#")), "not a character reference"
	case strictEarly:
		// encoding/xml reads to the end of the construct first: it
		// fails there too, as not-well-formed (EOF, bad XML declaration).
		early := bytes.HasPrefix(rest, []byte("<!")) || bytes.HasPrefix(rest, []byte("<?"))
		return early && old.class == "not-well-formed" && len(old.els) == len(nw.els), "not a comment, PI or DTD, or the old reader did not fail there"
	}
	return false, "unknown"
}

// dupAttrAt reports whether the start tag holding off repeats an attribute.
func dupAttrAt(data []byte, off int) bool {
	start := bytes.LastIndexByte(data[:off], '<')
	if start < 0 {
		return false
	}
	d := xml.NewDecoder(bytes.NewReader(data[start:]))
	d.Strict = false
	tok, err := d.RawToken()
	se, ok := tok.(xml.StartElement)
	if err != nil || !ok {
		return false
	}
	seen := map[xml.Name]bool{}
	for _, a := range se.Attr {
		if seen[a.Name] {
			return true
		}
		seen[a.Name] = true
	}
	return false
}

var _ = io.EOF
var _ = bufio.NewReader

func (r readResult) String() string {
	return fmt.Sprintf("%v %q %s", r.hdr, r.els, r.err)
}

// declaredFor reports whether encoding/xml, which tracks namespace scopes
// but leaves an unknown prefix untranslated, resolved pfx in the start tag
// holding off.
func declaredFor(data []byte, off int, pfx string) bool {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return true // cannot tell: do not excuse the difference
		}
		if d.InputOffset() <= int64(off) {
			continue
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			return true
		}
		if se.Name.Space == pfx {
			return false
		}
		for _, a := range se.Attr {
			if a.Name.Space == pfx {
				return false
			}
		}
		return true
	}
}
