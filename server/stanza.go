package server

import (
	"encoding/xml"
	"strings"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// buildStanza turns a top-level element from a client into a routed stanza:
// 'from' is replaced by the session's full JID, the default namespace
// declaration is dropped (the stanza lives in jabber:client wherever it
// goes), and the rest of the bytes are kept as received.
func buildStanza(el *element, from jid.JID) (*module.Stanza, error) {
	c := stamper{from: from, fromStr: from.String()}
	return c.build(el)
}

// stamper builds a session's stanzas; it remembers the session's JID as a
// string and the last 'to' it parsed (chats go to the same JID again and
// again), so the common case parses no JID at all.
type stamper struct {
	from      jid.JID
	fromStr   string
	lastTo    string
	lastToJID jid.JID
}

func (c *stamper) parseTo(s string) (jid.JID, error) {
	if s == c.lastTo && s != "" {
		return c.lastToJID, nil
	}
	j, err := parseJID(s)
	if err == nil {
		c.lastTo, c.lastToJID = s, j
	}
	return j, err
}

func (c *stamper) build(el *element) (*module.Stanza, error) {
	from, fromStr := c.from, c.fromStr
	st := &module.Stanza{Name: el.start.Name.Local, From: from}
	b := make([]byte, 0, len(el.raw)+len(fromStr)+16)
	b = append(b, '<')
	b = append(b, st.Name...)
	for _, a := range el.start.Attr {
		switch {
		case a.Name.Space == "" && a.Name.Local == "from":
			continue
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			continue
		case a.Name.Space == "" && a.Name.Local == "to":
			if a.Value != "" {
				to, err := c.parseTo(a.Value)
				if err != nil {
					return st, errJIDMalformed
				}
				st.To = to
				b = appendAttr(b, "to", to.String())
			}
			continue
		case a.Name.Space == "" && a.Name.Local == "type":
			st.Type = a.Value
		case a.Name.Space == "" && a.Name.Local == "id":
			st.ID = a.Value
		}
		b = appendRawAttr(b, el.start, a)
	}
	b = appendAttr(b, "from", fromStr)
	if el.startLen >= 2 && el.raw[el.startLen-2] == '/' {
		b = append(b, "/>"...)
	} else {
		b = append(b, '>')
	}
	st.Raw = append(b, el.raw[el.startLen:]...)
	return st, nil
}

var errJIDMalformed = module.Err("jid-malformed", "")

func appendAttr(b []byte, name, value string) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, "='"...)
	b = dom.EscapeAttr(b, value)
	return append(b, '\'')
}

// appendRawAttr writes an attribute of se back with its prefix.
func appendRawAttr(b []byte, se xml.StartElement, a xml.Attr) []byte {
	switch a.Name.Space {
	case "":
		return appendAttr(b, a.Name.Local, a.Value)
	case "xmlns":
		return appendAttr(b, "xmlns:"+a.Name.Local, a.Value)
	case nsXML, "xml":
		return appendAttr(b, "xml:"+a.Name.Local, a.Value)
	}
	// A namespaced attribute: reuse the prefix declared on this element,
	// else declare one.
	for _, d := range se.Attr {
		if d.Name.Space == "xmlns" && d.Value == a.Name.Space {
			return appendAttr(b, d.Name.Local+":"+a.Name.Local, a.Value)
		}
	}
	b = appendAttr(b, "xmlns:a0", a.Name.Space)
	return appendAttr(b, "a0:"+a.Name.Local, a.Value)
}

// parseJID parses a JID from the wire. When PRECIS refuses it, it tries
// again without the characters stringprep (RFC 3454 table B.1) maps to
// nothing, as older servers did: variation selectors, zero-width joiners
// and the like, which clients put into emoji nicknames.
func parseJID(s string) (jid.JID, error) {
	j, err := jid.Parse(s)
	if err == nil {
		return j, nil
	}
	stripped := strings.Map(func(r rune) rune {
		switch {
		case r == 0x00AD, r == 0x034F, r == 0x1806, r >= 0x180B && r <= 0x180D,
			r >= 0x200B && r <= 0x200D, r == 0x2060, r >= 0xFE00 && r <= 0xFE0F, r == 0xFEFF:
			return -1
		}
		return r
	}, s)
	if stripped == s {
		return j, err
	}
	return jid.Parse(stripped)
}
