package server

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Stream namespaces.
const (
	nsStreams = "http://etherx.jabber.org/streams"
	nsClient  = "jabber:client"
	nsXML     = "http://www.w3.org/XML/1998/namespace"
)

// errTooBig is returned when one top-level element exceeds the size limit.
var errTooBig = errors.New("server: stanza exceeds max_stanza_size")

// errRestricted is returned for a DTD, entity declaration, processing
// instruction or comment (RFC 6120 11.1 restricted XML).
var errRestricted = errors.New("server: restricted XML (DTD, PI or comment)")

// recorder feeds the XML decoder byte by byte and keeps every byte since the
// last trim, so a stanza's raw bytes can be sliced out by decoder offsets
// and forwarded without re-encoding.
type recorder struct {
	r     *bufio.Reader
	buf   []byte
	base  int64 // stream offset of buf[0]
	limit int
	n     int64 // bytes read in total (for stats)
}

func (r *recorder) ReadByte() (byte, error) {
	b, err := r.r.ReadByte()
	if err != nil {
		return 0, err
	}
	if len(r.buf) >= r.limit {
		return 0, errTooBig
	}
	r.buf = append(r.buf, b)
	r.n++
	return b, nil
}

func (r *recorder) Read(p []byte) (int, error) {
	// encoding/xml only uses ReadByte when the reader is an io.ByteReader.
	if len(p) == 0 {
		return 0, nil
	}
	b, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	p[0] = b
	return 1, nil
}

// slice returns the recorded bytes between two stream offsets.
func (r *recorder) slice(from, to int64) []byte {
	return r.buf[from-r.base : to-r.base]
}

// trim forgets everything before stream offset off.
func (r *recorder) trim(off int64) {
	k := int(off - r.base)
	if k <= 0 {
		return
	}
	rest := len(r.buf) - k
	if cap(r.buf) > 64<<10 {
		// Do not keep a large buffer after one large stanza.
		nb := make([]byte, rest, 512)
		copy(nb, r.buf[k:])
		r.buf = nb
	} else {
		copy(r.buf, r.buf[k:])
		r.buf = r.buf[:rest]
	}
	r.base = off
}

// element is one top-level element of a stream.
type element struct {
	start xml.StartElement
	raw   []byte // the whole element as received (valid until next read)
	// startLen is the length of the start tag in raw.
	startLen int
}

// streamReader reads a client's XML stream: the header, then one top-level
// element at a time, enforcing the size limit and restricted XML. It is the
// bulk scanner of scanner.go; xmlStreamReader, on encoding/xml, is kept as
// the reference the scanner is fuzzed against (scanner_fuzz_test.go).
type streamReader = scanner

func newStreamReader(br *bufio.Reader, limit int) *streamReader {
	return newScanner(br, limit)
}

// xmlStreamReader is the encoding/xml stream reader.
type xmlStreamReader struct {
	rec *recorder
	dec *xml.Decoder
}

func newXMLStreamReader(br *bufio.Reader, limit int) *xmlStreamReader {
	rec := &recorder{r: br, limit: limit}
	d := xml.NewDecoder(rec)
	d.Strict = true
	return &xmlStreamReader{rec: rec, dec: d}
}

// header reads up to the stream header and returns it.
func (s *xmlStreamReader) header() (xml.StartElement, error) {
	for {
		t, err := s.dec.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			s.rec.trim(s.dec.InputOffset())
			return t, nil
		case xml.ProcInst:
			// The XML declaration, possibly after whitespace left over
			// from the previous stream (go-sendxmpp sends one on every
			// restart).
			if t.Target != "xml" {
				return xml.StartElement{}, errRestricted
			}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return xml.StartElement{}, errNotWellFormed
			}
		case xml.Directive, xml.Comment:
			return xml.StartElement{}, errRestricted
		default:
			return xml.StartElement{}, errNotWellFormed
		}
	}
}

var (
	errNotWellFormed = errors.New("server: not well-formed")
	// errStreamEnd is returned when the peer closed its stream (</stream:stream>).
	errStreamEnd = errors.New("server: stream closed by peer")
)

// next reads one top-level element. Whitespace between elements (keepalives)
// is skipped.
func (s *xmlStreamReader) next() (*element, error) {
	d := s.dec
	for {
		s.rec.trim(d.InputOffset())
		from := d.InputOffset()
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, errNotWellFormed
			}
			continue
		case xml.EndElement:
			return nil, errStreamEnd
		case xml.StartElement:
			startEnd := d.InputOffset()
			if err := s.skip(); err != nil {
				return nil, err
			}
			raw := s.rec.slice(from, d.InputOffset())
			return &element{start: t, raw: raw, startLen: int(startEnd - from)}, nil
		case xml.Directive, xml.Comment, xml.ProcInst:
			return nil, errRestricted
		}
	}
}

// skip reads to the end of the element just started.
func (s *xmlStreamReader) skip() error {
	depth := 1
	for depth > 0 {
		t, err := s.dec.Token()
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		switch t.(type) {
		case xml.StartElement:
			depth++
			if depth > 256 {
				return errNotWellFormed
			}
		case xml.EndElement:
			depth--
		case xml.Directive, xml.Comment, xml.ProcInst:
			return errRestricted
		}
	}
	return nil
}

// attr returns an attribute value by local name (no namespace).
func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

// defaultNS returns the default namespace declared on se, if any.
func defaultNS(se xml.StartElement) (string, bool) {
	for _, a := range se.Attr {
		if a.Name.Local == "xmlns" && a.Name.Space == "" {
			return a.Value, true
		}
	}
	return "", false
}

// streamErrorFor maps a read error to a stream error condition.
func streamErrorFor(err error) string {
	var se *xml.SyntaxError
	switch {
	case errors.Is(err, errTooBig):
		return "policy-violation"
	case errors.Is(err, errRestricted):
		return "restricted-xml"
	case errors.Is(err, errNotWellFormed), errors.As(err, &se):
		return "not-well-formed"
	case strings.Contains(fmt.Sprint(err), "xml:"):
		return "not-well-formed"
	}
	return ""
}
