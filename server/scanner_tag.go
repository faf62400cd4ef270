package server

// Start tags of the stream scanner (scanner.go): attributes, namespace
// declarations and, for a top-level element, its xml.StartElement.

import (
	"bytes"
	"encoding/xml"
)

// startTag parses the start tag at b[i]; end is 0 if it is incomplete.
func (s *scanner) startTag(b []byte, i int, eof bool) (int, error) {
	if s.hint > i && !s.findTagEnd(b, i) {
		return s.needMore(eof, len(b))
	}
	end, err := s.parseTag(b, i, eof)
	if err != nil || end == 0 {
		if err == nil && len(b)-i > longTag {
			s.findTagEnd(b, i) // from now on, look for its end first
		}
		return 0, err
	}
	s.hint, s.hintQ = 0, 0
	return end, s.tagNames(b)
}

// findTagEnd looks for the '>' that ends the tag at b[i], outside quotes,
// from where the last look stopped.
func (s *scanner) findTagEnd(b []byte, i int) bool {
	from, q := max(s.hint, i+1), s.hintQ
	for from < len(b) {
		if q != 0 {
			k := bytes.IndexByte(b[from:], q)
			if k < 0 {
				break
			}
			from, q = from+k+1, 0
			continue
		}
		k := bytes.IndexAny(b[from:], "'\">")
		if k < 0 {
			break
		}
		if c := b[from+k]; c != '>' {
			from, q = from+k+1, c
			continue
		}
		return true
	}
	s.hint, s.hintQ = len(b), q
	return false
}

func (s *scanner) parseTag(b []byte, i int, eof bool) (int, error) {
	s.attrs = s.attrs[:0]
	j := nameEnd(b, i+1)
	if j == len(b) {
		return s.needMore(eof, j)
	}
	colon, err := s.checkName(b, i+1, j)
	if err != nil {
		return 0, err
	}
	s.tag = attrSpan{name: span{int32(i + 1), int32(j)}, colon: colon}
	k := j
	for {
		sp := k
		for k < len(b) && isSpace(b[k]) {
			k++
		}
		if k == len(b) {
			return s.needMore(eof, k)
		}
		switch b[k] {
		case '>':
			s.selfClose = false
			return k + 1, nil
		case '/':
			if k+1 == len(b) {
				return s.needMore(eof, k+1)
			}
			if b[k+1] != '>' {
				return 0, s.nwf(0, k, "expected />")
			}
			s.selfClose = true
			return k + 2, nil
		}
		a, next, err := s.attr(b, k, eof)
		if err != nil || next == 0 {
			return 0, err
		}
		if sp == k {
			return 0, s.nwf(strictNoSpace, k, "no space before attribute")
		}
		s.attrs = append(s.attrs, a)
		k = next
	}
}

// attr parses the attribute at b[k]; next is 0 if it is incomplete.
func (s *scanner) attr(b []byte, k int, eof bool) (attrSpan, int, error) {
	var a attrSpan
	j := nameEnd(b, k)
	if j == len(b) {
		_, err := s.needMore(eof, j)
		return a, 0, err
	}
	colon, err := s.checkName(b, k, j)
	if err != nil {
		return a, 0, err
	}
	m := j
	for m < len(b) && isSpace(b[m]) {
		m++
	}
	if m < len(b) && b[m] != '=' {
		return a, 0, s.nwf(0, m, "attribute without =")
	}
	for m++; m < len(b) && isSpace(b[m]); m++ {
	}
	if m >= len(b) {
		_, err := s.needMore(eof, m)
		return a, 0, err
	}
	q := b[m]
	if q != '\'' && q != '"' {
		return a, 0, s.nwf(0, m, "unquoted attribute value")
	}
	p := m + 1
	for {
		var ok bool
		p, ok = scanChars(b, p, eof)
		if !ok {
			return a, 0, s.nwf(0, p, "bad character")
		}
		if p == len(b) || b[p] >= 0x80 {
			_, err := s.needMore(eof, p)
			return a, 0, err
		}
		switch b[p] {
		case q:
			a = attrSpan{name: span{int32(k), int32(j)}, colon: colon, val: span{int32(m + 1), int32(p)}}
			return a, p + 1, nil
		case '<':
			return a, 0, s.nwf(0, p, "< in attribute value")
		case '&':
			_, n, st := parseRef(b[p:], eof)
			if st == refMore {
				_, err := s.needMore(eof, p)
				return a, 0, err
			}
			if st != refOK {
				return a, 0, s.nwf(refStrict(st), p, "bad reference")
			}
			p += n - 1
		}
		p++
	}
}

// tagNames checks the names of the start tag just parsed: unique
// attributes, declared prefixes. The element's declarations are kept
// until its end tag.
func (s *scanner) tagNames(b []byte) error {
	if err := s.uniqueAttrs(b); err != nil {
		return err
	}
	base, depth := len(s.decls), s.depth+1
	for _, a := range s.attrs {
		if a.colon < 0 || string(b[a.name.i:a.colon]) != "xmlns" {
			continue
		}
		if string(b[a.colon+1:a.name.j]) == "xmlns" || a.val.i == a.val.j {
			return s.nwf(strictBadDecl, int(a.name.i), "bad namespace declaration")
		}
		s.decls = append(s.decls, nsDecl{pfx: span{a.colon + 1, a.name.j}, uri: a.val, depth: depth})
	}
	if c := s.tag.colon; c >= 0 {
		pfx := b[s.tag.name.i:c]
		if string(pfx) == "xmlns" {
			return s.nwf(strictXmlnsElem, int(s.tag.name.i), "element prefix xmlns")
		}
		if !s.bound(b, pfx) {
			return s.nwf(strictUndeclared, int(s.tag.name.i), "undeclared prefix")
		}
	}
	for _, a := range s.attrs {
		if a.colon >= 0 && string(b[a.name.i:a.colon]) != "xmlns" && !s.bound(b, b[a.name.i:a.colon]) {
			return s.nwf(strictUndeclared, int(a.name.i), "undeclared prefix")
		}
	}
	if s.selfClose {
		s.decls = s.decls[:base]
	} else {
		s.stack = append(s.stack, s.tag.name)
	}
	return nil
}

func (s *scanner) uniqueAttrs(b []byte) error {
	if len(s.attrs) > 16 {
		seen := make(map[string]bool, len(s.attrs))
		for _, a := range s.attrs {
			n := string(b[a.name.i:a.name.j])
			if seen[n] {
				return s.nwf(strictDupAttr, int(a.name.i), "duplicate attribute")
			}
			seen[n] = true
		}
		return nil
	}
	for x, a := range s.attrs {
		for _, c := range s.attrs[:x] {
			if bytes.Equal(b[a.name.i:a.name.j], b[c.name.i:c.name.j]) {
				return s.nwf(strictDupAttr, int(a.name.i), "duplicate attribute")
			}
		}
	}
	return nil
}

// bound reports whether a prefix is declared in scope.
func (s *scanner) bound(b, pfx []byte) bool {
	if string(pfx) == "xml" {
		return true
	}
	for x := len(s.decls) - 1; x >= 0; x-- {
		d := s.decls[x].pfx
		if bytes.Equal(b[d.i:d.j], pfx) {
			return true
		}
	}
	for _, d := range s.hdrNS {
		if d.pfx == string(pfx) {
			return true
		}
	}
	return false
}

// materialize builds the xml.StartElement of a top-level start tag, as
// encoding/xml's Token would: one string holds all names and values.
func (s *scanner) materialize(b []byte) error {
	sc := append(s.scratch[:0], b[s.tag.name.i:s.tag.name.j]...)
	offs := s.offs[:0]
	for _, a := range s.attrs {
		n0 := len(sc)
		sc = append(sc, b[a.name.i:a.name.j]...)
		v0 := len(sc)
		sc = appendValue(sc, b[a.val.i:a.val.j])
		offs = append(offs, int32(n0), int32(v0), int32(len(sc)))
	}
	str := string(sc)
	s.scratch, s.offs = sc, offs
	xa := s.xattrs[:0]
	for x, a := range s.attrs {
		n0, v0, v1 := offs[3*x], offs[3*x+1], offs[3*x+2]
		name := xml.Name{Local: str[n0:v0]}
		if a.colon >= 0 {
			c := n0 + a.colon - a.name.i
			name = xml.Name{Space: str[n0:c], Local: str[c+1 : v0]}
		}
		xa = append(xa, xml.Attr{Name: name, Value: str[v0:v1]})
	}
	for x := range xa {
		n := &xa[x].Name
		if n.Space != "" && n.Space != "xmlns" {
			n.Space = s.resolve(xa, n.Space)
		}
	}
	s.xattrs = xa
	local, space := str[:s.tag.name.j-s.tag.name.i], ""
	if c := s.tag.colon; c >= 0 {
		space, local = s.resolve(xa, local[:c-s.tag.name.i]), local[c-s.tag.name.i+1:]
	} else if local != "xmlns" {
		space = s.defaultSpace(xa)
	}
	s.el.start = xml.StartElement{Name: xml.Name{Space: space, Local: local}, Attr: xa}
	return nil
}

// resolve maps a declared prefix to its namespace: the element's own
// declarations first, then the stream header's.
func (s *scanner) resolve(xa []xml.Attr, pfx string) string {
	if pfx == "xml" {
		return nsXML
	}
	for _, a := range xa {
		if a.Name.Space == "xmlns" && a.Name.Local == pfx {
			return a.Value
		}
	}
	for _, d := range s.hdrNS {
		if d.pfx == pfx {
			return d.uri
		}
	}
	return pfx
}

func (s *scanner) defaultSpace(xa []xml.Attr) string {
	if ns, ok := defaultNS(xml.StartElement{Attr: xa}); ok {
		return ns
	}
	return s.defNS
}

// appendValue appends an attribute value with its references replaced and
// line ends normalised as encoding/xml does (CR and CRLF become LF).
func appendValue(dst, v []byte) []byte {
	if bytes.IndexByte(v, '&') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return append(dst, v...)
	}
	var prev byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '&':
			r, n, _ := parseRef(v[i:], true)
			dst = appendRune(dst, r)
			i += n - 1
			prev = 0
			continue
		case c == '\r':
			dst = append(dst, '\n')
		case c == '\n' && prev == '\r':
		default:
			dst = append(dst, c)
		}
		prev = c
	}
	return dst
}

func appendRune(dst []byte, r rune) []byte {
	return append(dst, string(r)...)
}

// streamHeader returns the stream header just scanned and keeps its
// namespace declarations for the stream's elements.
func (s *scanner) streamHeader(raw []byte) (xml.StartElement, error) {
	if err := s.materialize(raw); err != nil {
		return xml.StartElement{}, err
	}
	hdr := s.el.start
	hdr.Attr = append([]xml.Attr(nil), hdr.Attr...)
	s.hdrName = string(raw[s.tag.name.i:s.tag.name.j])
	s.hdrNS, s.defNS, s.hasDefNS = nil, "", false
	for _, a := range hdr.Attr {
		switch {
		case a.Name.Space == "xmlns":
			s.hdrNS = append(s.hdrNS, binding{a.Name.Local, a.Value})
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			s.defNS, s.hasDefNS = a.Value, true
		}
	}
	s.ended = s.selfClose
	return hdr, nil
}
