package link

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Namespaces of the XEP-0114 handshake (RFC 6120 section 4 for the stream).
const (
	NSComponent = "jabber:component:accept"
	NSStream    = "http://etherx.jabber.org/streams"
	NSStreamErr = "urn:ietf:params:xml:ns:xmpp-streams"
)

// maxHandshakeBytes bounds everything read before the yamux session starts.
const maxHandshakeBytes = 4096

// StreamError is an RFC 6120 stream error condition sent or received during
// the handshake ("not-authorized", "host-unknown", ...).
type StreamError struct {
	Condition string
	Text      string
}

func (e *StreamError) Error() string {
	if e.Text != "" {
		return "link: stream error " + e.Condition + ": " + e.Text
	}
	return "link: stream error " + e.Condition
}

// errTooLong is returned when the handshake exceeds maxHandshakeBytes.
var errTooLong = errors.New("link: handshake too long")

// byteReader hands encoding/xml one byte at a time. Because it implements
// io.ByteReader the decoder does not wrap it in a bufio.Reader, so nothing
// past the last token of the handshake is consumed from the connection:
// yamux starts on the clean byte stream.
type byteReader struct {
	r       io.Reader
	n       int
	max     int
	b       [1]byte
	pending int // a byte given back by first, or -1
}

func (br *byteReader) ReadByte() (byte, error) {
	if br.pending >= 0 {
		b := byte(br.pending)
		br.pending = -1
		return b, nil
	}
	if br.n >= br.max {
		return 0, errTooLong
	}
	if _, err := io.ReadFull(br.r, br.b[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, io.ErrUnexpectedEOF
		}
		return 0, err
	}
	br.n++
	return br.b[0], nil
}

func (br *byteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b, err := br.ReadByte()
	if err != nil {
		return 0, err
	}
	p[0] = b
	return 1, nil
}

// reader decodes the few elements of the handshake.
type reader struct {
	br      *byteReader
	dec     *xml.Decoder
	started bool
	checked bool
}

func newReader(r io.Reader) *reader {
	br := &byteReader{r: r, max: maxHandshakeBytes, pending: -1}
	d := xml.NewDecoder(br)
	d.Strict = true
	return &reader{br: br, dec: d}
}

// first fails fast on a peer that does not speak XML at all (an HTTP
// request, TLS): encoding/xml would wait for a '<' until the deadline.
func (r *reader) first() error {
	for {
		b, err := r.br.ReadByte()
		if err != nil {
			return classify(err)
		}
		switch b {
		case ' ', '\t', '\r', '\n':
			continue
		case '<':
			r.br.pending = int(b)
			return nil
		}
		return &StreamError{Condition: "not-well-formed", Text: "not XML"}
	}
}

// classify turns a decoding error into the stream error the peer gets.
func classify(err error) error {
	var se *xml.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("%w: %w", &StreamError{Condition: "not-well-formed"}, err)
	case errors.Is(err, errTooLong):
		return fmt.Errorf("%w: %w", &StreamError{Condition: "policy-violation"}, err)
	}
	return fmt.Errorf("link: reading handshake: %w", err)
}

// next returns the next start element, skipping whitespace and the XML
// declaration. Comments, directives and text are restricted XML here.
func (r *reader) next() (xml.StartElement, error) {
	if !r.checked {
		r.checked = true
		if err := r.first(); err != nil {
			return xml.StartElement{}, err
		}
	}
	for {
		tok, err := r.dec.Token()
		if err != nil {
			return xml.StartElement{}, classify(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			r.started = true
			return t, nil
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return xml.StartElement{}, &StreamError{Condition: "bad-format", Text: "text outside an element"}
			}
		case xml.ProcInst:
			if r.started || t.Target != "xml" {
				return xml.StartElement{}, &StreamError{Condition: "restricted-xml"}
			}
		case xml.EndElement:
			return xml.StartElement{}, &StreamError{Condition: "bad-format", Text: "unexpected end tag"}
		default: // comments, directives (DOCTYPE)
			return xml.StartElement{}, &StreamError{Condition: "restricted-xml"}
		}
	}
}

// text reads character data up to the end of the current element; child
// elements are a bad-format error.
func (r *reader) text() (string, error) {
	var sb strings.Builder
	for {
		tok, err := r.dec.Token()
		if err != nil {
			return "", classify(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.EndElement:
			return sb.String(), nil
		default:
			return "", &StreamError{Condition: "bad-format", Text: "unexpected child"}
		}
	}
}

// streamError reads the body of a received <stream:error/>.
func (r *reader) streamError() *StreamError {
	e := &StreamError{Condition: "undefined-condition"}
	depth := 1
	for depth > 0 {
		tok, err := r.dec.Token()
		if err != nil {
			return e
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Space == NSStreamErr {
				if t.Name.Local == "text" {
					if s, err := r.text(); err == nil {
						e.Text = s
					}
					depth--
				} else {
					e.Condition = t.Name.Local
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	return e
}

// checkHeader validates a stream header in jabber:component:accept.
func checkHeader(se xml.StartElement) error {
	if se.Name.Local != "stream" {
		return &StreamError{Condition: "bad-format", Text: "expected a stream header"}
	}
	if se.Name.Space != NSStream {
		return &StreamError{Condition: "invalid-namespace", Text: "stream namespace"}
	}
	if ns := attr(se, "", "xmlns"); ns != NSComponent {
		return &StreamError{Condition: "invalid-namespace", Text: "content namespace " + ns}
	}
	return nil
}

func attr(se xml.StartElement, space, local string) string {
	for _, a := range se.Attr {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// escape returns s escaped for an XML attribute or text.
func escape(s string) string {
	var sb strings.Builder
	if err := xml.EscapeText(&sb, []byte(s)); err != nil {
		return ""
	}
	return sb.String()
}
