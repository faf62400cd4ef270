package server

// This file holds the fast stream scanner: the restricted XML of RFC 6120
// section 11 (XML 1.0 fifth edition with namespaces, no DTD, comments or
// processing instructions) scanned in bulk from the connection's
// bufio.Reader. It replaces encoding/xml on the hot path; the lexical
// helpers are in scanner_lex.go and the differential fuzz test against the
// encoding/xml reader in scanner_fuzz_test.go.
//
// Differences from the encoding/xml reader, each checked by the fuzz test
// (the strict* reasons below): the scanner follows the XML and Namespaces
// specifications where encoding/xml is lenient (duplicate attributes,
// undeclared prefixes, names that are not QNames, the xmlns prefix on an
// element or declared, xmlns:p="", no space between attributes, fifth
// edition name characters, references to surrogates, Unicode spaces other
// than XML's S between stanzas), refuses text between stanzas, comments,
// PIs and DTDs as soon as they start instead of after reading them, and
// when a unit is both too big and malformed may report either. Not checked
// by either reader: duplicate attributes by expanded name, and the xml
// prefix bound to another namespace.

import (
	"bufio"
	"encoding/xml"
	"errors"
	"io"
)

// maxDepth bounds element nesting (a top-level element is at depth 1).
const maxDepth = 256

// Strictness reasons: inputs encoding/xml accepts (or classifies otherwise)
// that the scanner refuses as not-well-formed, following the XML and
// Namespaces specifications. The differential fuzz test checks each.
const (
	strictNone       = iota
	strictDupAttr    // duplicate attribute (XML 1.0 WFC Unique Att Spec)
	strictUndeclared // undeclared namespace prefix (Namespaces 1.0 NSC)
	strictQName      // name with a leading, trailing or second colon
	strictXmlnsElem  // element with the reserved prefix xmlns
	strictBadDecl    // xmlns:p="" or a declaration of the xmlns prefix
	strictNoSpace    // no whitespace between two attributes
	strictName       // non-ASCII name: fifth edition rules, not encoding/xml's
	strictTopText    // non-whitespace (XML S) text between stanzas, refused at once
	strictRef        // character reference longer than maxRef or to a surrogate
	strictEarly      // comment, PI or DTD refused as soon as it starts
	strictBothBad    // too big and malformed: the first error found may differ
)

// scanError is a stream read error with its stream offset.
type scanError struct {
	why    string
	off    int64
	strict int
	err    error // errNotWellFormed, errRestricted or errTooBig
}

func (e *scanError) Error() string { return "server: " + e.why }
func (e *scanError) Unwrap() error { return e.err }

// span is a slice of the current unit's bytes.
type span struct{ i, j int32 }

// nsDecl is a prefix declared inside the current element.
type nsDecl struct {
	pfx, uri span
	depth    int
}

// binding is a prefix declared on the stream header.
type binding struct{ pfx, uri string }

// attrSpan is an attribute of a start tag.
type attrSpan struct {
	name  span
	colon int32 // offset of the colon in the name, or -1
	val   span  // without the quotes
}

// scanner reads a client's stream. The bytes of an element are read in
// place from br's buffer; only an element larger than that buffer is copied
// into big, which is released afterwards, so an idle stream holds nothing
// but br.
type scanner struct {
	br    *bufio.Reader
	limit int
	off   int64 // stream offset of br's read position

	hdrName  string // qname of the stream header, for its end tag
	hdrNS    []binding
	defNS    string
	hasDefNS bool
	ended    bool // the header was self-closing

	// The unit (top-level element) being scanned.
	big       []byte
	inBig     bool
	committed int // bytes of big already discarded from br
	eof       bool
	pos       int
	depth     int
	hint      int  // quote-aware search for a long tag's '>' got this far
	hintQ     byte // quote open at hint
	cdata     bool // pos is inside a CDATA section
	stack     []span
	decls     []nsDecl
	attrs     []attrSpan
	tag       attrSpan // the name of the last start tag
	offs      []int32
	startEnd  int
	selfClose bool

	kind    int
	el      element
	xattrs  []xml.Attr
	scratch []byte
}

func newScanner(br *bufio.Reader, limit int) *scanner {
	return &scanner{br: br, limit: limit}
}

func (s *scanner) fail(strict int, base error, off int, why string) error {
	return &scanError{why: why, off: s.off + int64(off), strict: strict, err: base}
}

func (s *scanner) nwf(strict int, off int, why string) error {
	return s.fail(strict, errNotWellFormed, off, "not well-formed: "+why)
}

// discard consumes n bytes of br.
func (s *scanner) discard(n int) {
	if n > 0 {
		k, _ := s.br.Discard(n)
		s.off += int64(k)
	}
}

// buffered returns br's buffered bytes, waiting for at least more than have.
func (s *scanner) buffered(have int) ([]byte, error) {
	if s.br.Buffered() <= have {
		if _, err := s.br.Peek(have + 1); err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				s.eof = true
			}
			b, _ := s.br.Peek(s.br.Buffered())
			return b, err
		}
	}
	b, _ := s.br.Peek(s.br.Buffered())
	return b, nil
}

// header reads up to the stream header and returns it: XML declarations and
// whitespace may come first. Everything up to the header's end counts
// against the size limit.
func (s *scanner) header() (xml.StartElement, error) {
	count := 0
	for {
		n, err := s.topSpace(count, true)
		if err != nil {
			return xml.StartElement{}, err
		}
		raw, err := s.unit(s.limit-n, true)
		if err != nil {
			return xml.StartElement{}, err
		}
		count = n + len(raw)
		if s.kind != kindElem { // an XML declaration or CDATA of whitespace
			continue
		}
		return s.streamHeader(raw)
	}
}

// next reads one top-level element. Whitespace between elements
// (keepalives) is skipped. The element and its bytes are valid until the
// next call.
func (s *scanner) next() (*element, error) {
	if s.ended {
		return nil, errStreamEnd
	}
	s.big = nil // only a stanza larger than br's buffer used it
	for {
		if _, err := s.topSpace(0, false); err != nil {
			return nil, err
		}
		raw, err := s.unit(s.limit, false)
		if err != nil {
			return nil, err
		}
		if s.kind != kindElem { // CDATA of whitespace
			continue
		}
		s.el.raw = raw
		s.el.startLen = s.startEnd
		return &s.el, nil
	}
}

func (s *scanner) eofErr(err error) error {
	if errors.Is(err, io.EOF) {
		return &scanError{why: "unexpected EOF", off: s.off, err: errNotWellFormed}
	}
	return err
}

// topSpace consumes whitespace between top-level units; count bytes were
// already counted against the limit. It returns the run's count with the
// '<' that ends it (encoding/xml reads that one ahead). A clean EOF before
// the stream header is io.EOF.
func (s *scanner) topSpace(count int, inHeader bool) (int, error) {
	for {
		b, err := s.buffered(0)
		if len(b) == 0 {
			if err == nil {
				err = io.EOF
			}
			if inHeader && errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, s.eofErr(err)
		}
		view := b[:min(len(b), s.limit-count)]
		if len(view) == 0 {
			return 0, s.fail(0, errTooBig, 0, "stanza too big")
		}
		i := 0
		for i < len(view) {
			c := view[i]
			if isSpace(c) {
				i++
				continue
			}
			if c != '&' {
				break
			}
			r, n, st := parseRef(view[i:], s.eof && len(view) == len(b))
			if st == refMore {
				break
			}
			if st != refOK {
				return 0, s.nwf(refStrict(st), i, "bad reference")
			}
			if r > ' ' || !isSpace(byte(r)) {
				return 0, s.nwf(strictTopText, i, "text between stanzas")
			}
			i += n
		}
		s.discard(i)
		count += i
		switch {
		case i == len(view) && len(view) < len(b):
			return 0, s.fail(0, errTooBig, 0, "stanza too big")
		case i == len(view):
			continue
		case view[i] == '<':
			return count, nil
		case view[i] != '&':
			return 0, s.nwf(strictTopText, 0, "text between stanzas")
		case len(view) < len(b):
			return 0, s.fail(0, errTooBig, 0, "stanza too big")
		case len(b)-i >= s.br.Size():
			return 0, s.nwf(strictRef, 0, "reference too long")
		}
		// An incomplete reference: wait for the rest.
		if _, err := s.buffered(len(b) - i); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
	}
}

// Unit kinds: what a top-level '<' starts.
const (
	kindNone  = iota
	kindDecl  // <?xml ...?> before the stream header
	kindCDATA // top-level CDATA (allowed when it is whitespace)
	kindEnd   // the stream's end tag
	kindElem
)

// unit scans one top-level unit that starts at br's read position, at most
// max bytes long, and consumes it. Its bytes stay valid until the next read.
func (s *scanner) unit(maxLen int, inHeader bool) ([]byte, error) {
	s.kind, s.pos, s.depth, s.hint, s.hintQ, s.cdata = kindNone, 0, 0, 0, 0, false
	s.inBig, s.committed, s.big = false, 0, s.big[:0]
	s.stack, s.decls = s.stack[:0], s.decls[:0]
	maxLen = max(maxLen, 0)
	for {
		b := s.big
		if !s.inBig {
			b, _ = s.br.Peek(s.br.Buffered())
		}
		view := b[:min(len(b), maxLen)]
		all := len(view) == len(b) && (!s.inBig || s.br.Buffered() == len(b)-s.committed)
		end, err := s.step(view, s.eof && all, inHeader)
		if err != nil {
			return nil, err
		}
		if end > 0 {
			if s.inBig {
				s.discard(end - s.committed)
			} else {
				s.discard(end)
			}
			return b[:end], nil
		}
		switch {
		case s.eof && all:
			return nil, s.eofErr(io.EOF)
		case len(view) == maxLen:
			return nil, s.fail(0, errTooBig, maxLen, "stanza too big")
		}
		if err := s.more(b); err != nil {
			return nil, err
		}
	}
}

// more waits for more bytes of the unit b. A unit that does not fit in br's
// buffer is moved to big; bytes appended to big are discarded from br only
// once scanned, so nothing after the unit is taken from br.
func (s *scanner) more(b []byte) error {
	if !s.inBig {
		if len(b) < s.br.Size() {
			if _, err := s.buffered(len(b)); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			return nil
		}
		s.big = append(s.big[:0], b...)
		s.inBig = true
	}
	s.discard(len(s.big) - s.committed)
	s.committed = len(s.big)
	c, err := s.buffered(0)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	c = c[:min(len(c), s.limit+1-len(s.big))]
	s.big = append(s.big, c...)
	return nil
}

// needMore is the answer of a step that ran out of bytes.
func (s *scanner) needMore(eof bool, at int) (int, error) {
	if eof {
		return 0, s.nwf(0, at, "unexpected EOF")
	}
	return 0, nil
}

func (s *scanner) step(b []byte, eof, inHeader bool) (int, error) {
	if s.kind == kindNone {
		k, err := s.classify(b, eof, inHeader)
		if err != nil || k == kindNone {
			return 0, err
		}
		s.kind = k
	}
	switch s.kind {
	case kindDecl:
		return s.stepDecl(b, eof)
	case kindCDATA:
		return s.stepTopCDATA(b, eof)
	case kindEnd:
		return s.stepEnd(b, eof, inHeader)
	}
	return s.stepElem(b, eof, inHeader)
}

func (s *scanner) classify(b []byte, eof, inHeader bool) (int, error) {
	if len(b) < 2 {
		_, err := s.needMore(eof, len(b))
		return kindNone, err
	}
	switch b[1] {
	case '?':
		if inHeader {
			return kindDecl, nil
		}
		return kindNone, s.fail(strictEarly, errRestricted, 0, "processing instruction")
	case '/':
		return kindEnd, nil
	case '!':
		return s.classifyBang(b, eof)
	}
	return kindElem, nil
}

func (s *scanner) classifyBang(b []byte, eof bool) (int, error) {
	const cd = "<![CDATA["
	if len(b) < 4 {
		_, err := s.needMore(eof, len(b))
		if err != nil || len(b) < 3 || b[2] == '-' || b[2] == '[' {
			return kindNone, err
		}
	}
	switch b[2] {
	case '-':
		if b[3] != '-' {
			return kindNone, s.nwf(0, 0, "bad <!-")
		}
		return kindNone, s.fail(strictEarly, errRestricted, 0, "comment")
	case '[':
		n := min(len(b), len(cd))
		if string(b[:n]) != cd[:n] {
			return kindNone, s.nwf(0, 0, "bad <![")
		}
		if n < len(cd) {
			_, err := s.needMore(eof, len(b))
			return kindNone, err
		}
		s.pos = len(cd)
		return kindCDATA, nil
	}
	return kindNone, s.fail(strictEarly, errRestricted, 0, "DTD or directive")
}

// detach hands back the reader when nothing is buffered and no element is
// half read, so an idle stream can give its buffer back; nil otherwise.
func (s *scanner) detach() *bufio.Reader {
	if s.br == nil || s.inBig || s.br.Buffered() != 0 {
		return nil
	}
	br := s.br
	s.br = nil
	// An idle stream keeps none of the scratch space its last stanzas grew.
	s.big, s.stack, s.decls, s.attrs, s.offs = nil, nil, nil, nil, nil
	s.el, s.xattrs, s.scratch = element{}, nil, nil
	return br
}

// attach gives the scanner a reader again after detach.
func (s *scanner) attach(br *bufio.Reader) { s.br = br }

// resumable reports whether next may be called again after a read error
// (a timeout): true unless part of an element was already taken out of the
// reader's buffer.
func (s *scanner) resumable() bool { return !s.inBig }
