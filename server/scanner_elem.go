package server

// Scanning of the stream scanner's units (scanner.go): the XML
// declaration, top-level CDATA, the stream's end tag and elements.

import (
	"bytes"
	"strings"
)

// longTag is the size from which a start tag is parsed only once its '>'
// has arrived, so that a tag trickled in does not cost quadratic time.
const longTag = 1024

func (s *scanner) stepDecl(b []byte, eof bool) (int, error) {
	j := nameEnd(b, 2)
	if j == len(b) {
		return s.needMore(eof, j)
	}
	if !validName(b[2:j]) {
		return 0, s.nwf(strictNone, 2, "bad processing instruction target")
	}
	if string(b[2:j]) != "xml" {
		return 0, s.fail(strictEarly, errRestricted, 0, "processing instruction")
	}
	for j < len(b) && isSpace(b[j]) {
		j++
	}
	from := max(j, s.hint)
	e := bytes.Index(b[from:], []byte("?>"))
	if e < 0 {
		s.hint = max(j, len(b)-1)
		return s.needMore(eof, len(b))
	}
	e += from
	content := string(b[j:e])
	if v := procInstParam("version", content); v != "" && v != "1.0" {
		return 0, s.nwf(0, 0, "unsupported XML version")
	}
	if enc := procInstParam("encoding", content); enc != "" && !strings.EqualFold(enc, "utf-8") {
		return 0, s.nwf(0, 0, "unsupported encoding")
	}
	return e + 2, nil
}

// procInstParam reads a pseudo-attribute the way encoding/xml does.
func procInstParam(param, s string) string {
	param += "="
	lenp, i := len(param), 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

func (s *scanner) stepTopCDATA(b []byte, eof bool) (int, error) {
	e := bytes.Index(b[s.pos:], []byte("]]>"))
	if e < 0 {
		s.pos = max(s.pos, len(b)-2)
		return s.needMore(eof, len(b))
	}
	e += s.pos
	const start = len("<![CDATA[")
	if i, ok := scanCDATA(b[:e], start); !ok {
		return 0, s.nwf(0, i, "bad character")
	}
	for i, c := range b[start:e] {
		if !isSpace(c) {
			return 0, s.nwf(strictTopText, start+i, "text between stanzas")
		}
	}
	return e + 3, nil
}

// scanCDATA checks the characters of b[i:] (all of them are in).
func scanCDATA(b []byte, i int) (int, bool) {
	for {
		j, ok := scanChars(b, i, true)
		if !ok || j == len(b) {
			return j, ok
		}
		i = j + 1
		if b[j] >= 0x80 {
			return j, false
		}
	}
}

func (s *scanner) stepEnd(b []byte, eof, inHeader bool) (int, error) {
	end, name, err := s.endTag(b, 0, eof)
	if err != nil || end == 0 {
		return 0, err
	}
	if inHeader || string(b[name.i:name.j]) != s.hdrName {
		return 0, s.nwf(0, 0, "unexpected end tag")
	}
	return 0, errStreamEnd
}

// endTag parses an end tag at b[i:]; end is 0 if it is incomplete.
func (s *scanner) endTag(b []byte, i int, eof bool) (int, span, error) {
	j := nameEnd(b, i+2)
	if j == len(b) {
		_, err := s.needMore(eof, j)
		return 0, span{}, err
	}
	if _, err := s.checkName(b, i+2, j); err != nil {
		return 0, span{}, err
	}
	k := j
	for k < len(b) && isSpace(b[k]) {
		k++
	}
	if k == len(b) {
		_, err := s.needMore(eof, k)
		return 0, span{}, err
	}
	if b[k] != '>' {
		return 0, span{}, s.nwf(0, k, "bad end tag")
	}
	return k + 1, span{int32(i + 2), int32(j)}, nil
}

// stepElem scans an element from where it stopped.
func (s *scanner) stepElem(b []byte, eof, inHeader bool) (int, error) {
	if s.depth == 0 {
		end, err := s.startTag(b, 0, eof)
		if err != nil || end == 0 {
			return 0, err
		}
		s.startEnd = end
		if inHeader {
			return end, nil
		}
		if err := s.materialize(b[:end]); err != nil {
			return 0, err
		}
		if s.selfClose {
			return end, nil
		}
		s.pos, s.depth = end, 1
	}
	for {
		if s.cdata {
			if err := s.stepCDATA(b, eof); err != nil || s.cdata {
				return 0, err
			}
		}
		i, err := s.text(b, s.pos, eof)
		if err != nil || i >= len(b)-1 || b[i] != '<' {
			s.pos = i
			if err == nil {
				_, err = s.needMore(eof, i)
			}
			return 0, err
		}
		s.pos = i
		end, err := s.markup(b, i, eof)
		if err != nil || end == 0 {
			return 0, err
		}
		s.pos = end
		if s.depth == 0 {
			return end, nil
		}
	}
}

// text checks character data from i and returns where markup starts.
func (s *scanner) text(b []byte, i int, eof bool) (int, error) {
	for {
		j, ok := scanChars(b, i, eof)
		if !ok {
			return j, s.nwf(0, j, "bad character")
		}
		if j == len(b) {
			return j, nil
		}
		switch b[j] {
		case '<':
			return j, nil
		case '&':
			_, n, st := parseRef(b[j:], eof)
			switch st {
			case refMore:
				return j, nil
			case refOK:
				i = j + n
				continue
			}
			return j, s.nwf(refStrict(st), j, "bad reference")
		case ']':
			if len(b)-j < 3 && !eof {
				return j, nil
			}
			if bytes.HasPrefix(b[j:], []byte("]]>")) {
				return j, s.nwf(0, j, "]]> in text")
			}
		default:
			if b[j] >= 0x80 { // an incomplete UTF-8 sequence
				return j, nil
			}
		}
		i = j + 1
	}
}

func (s *scanner) stepCDATA(b []byte, eof bool) error {
	e := bytes.Index(b[s.pos:], []byte("]]>"))
	if e >= 0 {
		e += s.pos
		if i, ok := scanCDATA(b[:e], s.pos); !ok {
			return s.nwf(0, i, "bad character")
		}
		s.pos, s.cdata = e+3, false
		return nil
	}
	stop := max(s.pos, len(b)-2)
	i, ok := scanChars(b[:stop], s.pos, false)
	for ok && i < stop && b[i] < 0x80 {
		i, ok = scanChars(b[:stop], i+1, false)
	}
	if !ok {
		return s.nwf(0, i, "bad character")
	}
	s.pos = i
	_, err := s.needMore(eof, len(b))
	return err
}

// markup handles the markup at b[i] == '<' inside an element; end is 0 if
// more bytes are needed.
func (s *scanner) markup(b []byte, i int, eof bool) (int, error) {
	switch b[i+1] {
	case '/':
		end, name, err := s.endTag(b, i, eof)
		if err != nil || end == 0 {
			return 0, err
		}
		top := s.stack[len(s.stack)-1]
		if !bytes.Equal(b[name.i:name.j], b[top.i:top.j]) {
			return 0, s.nwf(0, i, "mismatched end tag")
		}
		s.stack = s.stack[:len(s.stack)-1]
		for len(s.decls) > 0 && s.decls[len(s.decls)-1].depth == s.depth {
			s.decls = s.decls[:len(s.decls)-1]
		}
		s.depth--
		return end, nil
	case '?':
		return 0, s.fail(strictEarly, errRestricted, i, "processing instruction")
	case '!':
		return s.bang(b, i, eof)
	}
	end, err := s.startTag(b, i, eof)
	if err != nil || end == 0 {
		return 0, err
	}
	if !s.selfClose {
		s.depth++
		if s.depth > maxDepth {
			return 0, s.nwf(0, i, "too deep")
		}
	}
	return end, nil
}

func (s *scanner) bang(b []byte, i int, eof bool) (int, error) {
	const cd = "<![CDATA["
	n := min(len(b)-i, len(cd))
	switch {
	case n >= 3 && b[i+2] == '-':
		if n < 4 {
			return s.needMore(eof, len(b))
		}
		if b[i+3] != '-' {
			return 0, s.nwf(0, i, "bad <!-")
		}
		return 0, s.fail(strictEarly, errRestricted, i, "comment")
	case n >= 3 && b[i+2] == '[':
		if string(b[i:i+n]) != cd[:n] {
			return 0, s.nwf(0, i, "bad <![")
		}
		if n < len(cd) {
			return s.needMore(eof, len(b))
		}
		s.pos, s.cdata = i+len(cd), true
		if err := s.stepCDATA(b, eof); err != nil || s.cdata {
			return 0, err
		}
		return s.pos, nil
	case n >= 3:
		return 0, s.fail(strictEarly, errRestricted, i, "DTD or directive")
	}
	return s.needMore(eof, len(b))
}
