// Package dom is a small XML element tree for stanza payloads: parsed on
// demand from the raw bytes of a stanza, and written back without the
// namespace mangling of encoding/xml's encoder (every element carries its
// default namespace when it differs from its parent's).
package dom

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// NSXML is the namespace of the xml: prefix (xml:lang).
const NSXML = "http://www.w3.org/XML/1998/namespace"

// Element is one XML element. Text is the concatenated character data
// directly inside it (mixed content keeps its text but not the order).
type Element struct {
	Space, Local string
	Attr         []xml.Attr
	Children     []*Element
	Text         string
}

// New makes an element; attrs are name, value pairs.
func New(space, local string, attrs ...string) *Element {
	e := &Element{Space: space, Local: local}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.Attr = append(e.Attr, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
	}
	return e
}

// ErrDepth is returned for documents nested deeper than MaxDepth.
var ErrDepth = errors.New("dom: element nesting too deep")

// MaxDepth bounds nesting so a hostile payload cannot exhaust the stack.
const MaxDepth = 64

// DefaultNS is the namespace of elements that declare none: stanzas are
// stored and routed without xmlns and live in jabber:client.
const DefaultNS = "jabber:client"

// Parse reads one element (the first) from b; elements without a namespace
// are in DefaultNS.
func Parse(b []byte) (*Element, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.DefaultSpace = DefaultNS
	for {
		t, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("dom: %w", err)
		}
		if se, ok := t.(xml.StartElement); ok {
			return Read(d, se)
		}
	}
}

// Read builds the element that start opened, reading up to its end.
func Read(d *xml.Decoder, start xml.StartElement) (*Element, error) {
	root := fromStart(start)
	stack := []*Element{root}
	for len(stack) > 0 {
		t, err := d.Token()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("dom: %w", err)
		}
		top := stack[len(stack)-1]
		switch t := t.(type) {
		case xml.StartElement:
			if len(stack) >= MaxDepth {
				return nil, ErrDepth
			}
			c := fromStart(t)
			top.Children = append(top.Children, c)
			stack = append(stack, c)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.Text += string(t)
		}
	}
	return root, nil
}

func fromStart(se xml.StartElement) *Element {
	e := &Element{Space: se.Name.Space, Local: se.Name.Local}
	for _, a := range se.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		e.Attr = append(e.Attr, a)
	}
	return e
}

// Get returns the value of an unprefixed attribute, or "".
func (e *Element) Get(name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

// Has reports whether an unprefixed attribute is present.
func (e *Element) Has(name string) bool {
	for _, a := range e.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return true
		}
	}
	return false
}

// Set sets (or replaces) an unprefixed attribute and returns e.
func (e *Element) Set(name, value string) *Element {
	for i, a := range e.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			e.Attr[i].Value = value
			return e
		}
	}
	e.Attr = append(e.Attr, xml.Attr{Name: xml.Name{Local: name}, Value: value})
	return e
}

// Del removes an unprefixed attribute.
func (e *Element) Del(name string) {
	for i, a := range e.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			e.Attr = append(e.Attr[:i], e.Attr[i+1:]...)
			return
		}
	}
}

// Child returns the first child with that name and namespace ("" matches
// any namespace), or nil.
func (e *Element) Child(space, local string) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.Local == local && (space == "" || c.Space == space) {
			return c
		}
	}
	return nil
}

// All returns every child with that name and namespace.
func (e *Element) All(space, local string) []*Element {
	var out []*Element
	for _, c := range e.Children {
		if c.Local == local && (space == "" || c.Space == space) {
			out = append(out, c)
		}
	}
	return out
}

// First returns the first child element, or nil.
func (e *Element) First() *Element {
	if e == nil || len(e.Children) == 0 {
		return nil
	}
	return e.Children[0]
}

// ChildText returns the text of the first matching child, or "".
func (e *Element) ChildText(space, local string) string {
	if c := e.Child(space, local); c != nil {
		return c.Text
	}
	return ""
}

// Add appends children and returns e.
func (e *Element) Add(children ...*Element) *Element {
	e.Children = append(e.Children, children...)
	return e
}

// SetText sets the text and returns e.
func (e *Element) SetText(s string) *Element { e.Text = s; return e }

// Remove drops every child with that name and namespace.
func (e *Element) Remove(space, local string) {
	out := e.Children[:0]
	for _, c := range e.Children {
		if !(c.Local == local && (space == "" || c.Space == space)) {
			out = append(out, c)
		}
	}
	e.Children = out
}

// Copy returns a deep copy.
func (e *Element) Copy() *Element {
	c := *e
	c.Attr = append([]xml.Attr(nil), e.Attr...)
	c.Children = make([]*Element, len(e.Children))
	for i, ch := range e.Children {
		c.Children[i] = ch.Copy()
	}
	return &c
}

// String serialises e with its namespace declared.
func (e *Element) String() string { return string(e.Append(nil, "")) }

// Bytes serialises e with its namespace declared.
func (e *Element) Bytes() []byte { return e.Append(nil, "") }

// Append writes e to b. parentNS is the default namespace in scope: the
// element declares xmlns only when its own differs.
func (e *Element) Append(b []byte, parentNS string) []byte {
	b = append(b, '<')
	b = append(b, e.Local...)
	if e.Space != parentNS {
		b = append(b, " xmlns='"...)
		b = EscapeAttr(b, e.Space)
		b = append(b, '\'')
	}
	prefixes := 0
	for _, a := range e.Attr {
		b = append(b, ' ')
		switch a.Name.Space {
		case "":
		case NSXML, "xml":
			b = append(b, "xml:"...)
		default:
			prefixes++
			p := fmt.Sprintf("ns%d", prefixes)
			b = append(b, "xmlns:"+p+"='"...)
			b = EscapeAttr(b, a.Name.Space)
			b = append(b, "' "+p+":"...)
		}
		b = append(b, a.Name.Local...)
		b = append(b, "='"...)
		b = EscapeAttr(b, a.Value)
		b = append(b, '\'')
	}
	if len(e.Children) == 0 && e.Text == "" {
		return append(b, "/>"...)
	}
	b = append(b, '>')
	b = EscapeText(b, e.Text)
	for _, c := range e.Children {
		b = c.Append(b, e.Space)
	}
	b = append(b, "</"...)
	b = append(b, e.Local...)
	return append(b, '>')
}

// EscapeAttr appends s escaped for a single-quoted attribute value.
func EscapeAttr(b []byte, s string) []byte {
	if !strings.ContainsAny(s, "<>&'\"\r\n\t") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '&':
			b = append(b, "&amp;"...)
		case '\'':
			b = append(b, "&apos;"...)
		case '"':
			b = append(b, "&quot;"...)
		case '\r':
			b = append(b, "&#xD;"...)
		case '\n':
			b = append(b, "&#xA;"...)
		case '\t':
			b = append(b, "&#x9;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// EscapeText appends s escaped for character data.
func EscapeText(b []byte, s string) []byte {
	if !strings.ContainsAny(s, "<>&\r") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '&':
			b = append(b, "&amp;"...)
		case '\r':
			b = append(b, "&#xD;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}
