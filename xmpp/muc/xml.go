package muc

import (
	"strings"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
)

// normalize puts every element that has no namespace (the root of a routed
// stanza and the children that inherit the stream's default namespace)
// into jabber:client, so that copies serialise without xmlns=”.
func normalize(e *dom.Element) *dom.Element {
	if e.Space == "" {
		e.Space = module.NSClient
	}
	for _, c := range e.Children {
		normalize(c)
	}
	return e
}

// stanza makes a top-level stanza in jabber:client.
func stanza(name string, attrs ...string) *dom.Element {
	return dom.New(module.NSClient, name, attrs...)
}

// setOpt sets an attribute only when the value is not empty.
func setOpt(e *dom.Element, name, value string) *dom.Element {
	if value != "" {
		e.Set(name, value)
	}
	return e
}

// withoutChildren returns a copy of e without children in the given
// namespaces (the MUC payloads a client puts on what it sends).
func withoutChildren(e *dom.Element, spaces ...string) *dom.Element {
	c := e.Copy()
	out := c.Children[:0]
	for _, ch := range c.Children {
		drop := false
		for _, s := range spaces {
			if ch.Space == s {
				drop = true
			}
		}
		if !drop {
			out = append(out, ch)
		}
	}
	c.Children = out
	return c
}

// errorElement is an RFC 6120 error with XEP-0045's 'by' (the room).
func errorElement(se *module.StanzaError, by string) *dom.Element {
	el := se.Element()
	setOpt(el, "by", by)
	return el
}

// errorReply answers the stanza el (from, to as received) with se. The
// error comes from el's 'to' and carries no original payload.
func errorReply(el *dom.Element, se *module.StanzaError, by string) *dom.Element {
	r := stanza(el.Local, "type", "error")
	setOpt(r, "id", el.Get("id"))
	setOpt(r, "from", el.Get("to"))
	r.Set("to", el.Get("from"))
	return r.Add(errorElement(se, by))
}

// iqResult answers the IQ el with payload (may be nil).
func iqResult(el *dom.Element, payload *dom.Element) *dom.Element {
	r := stanza("iq", "type", "result")
	setOpt(r, "id", el.Get("id"))
	setOpt(r, "from", el.Get("to"))
	r.Set("to", el.Get("from"))
	if payload != nil {
		r.Add(payload)
	}
	return r
}

// stanzaError reads the condition and text of an error stanza.
func stanzaError(el *dom.Element) (condition, text string) {
	e := el.Child("", "error")
	if e == nil {
		return "", ""
	}
	for _, c := range e.Children {
		if c.Space != module.NSStanzas {
			continue
		}
		if c.Local == "text" {
			text = strings.TrimSpace(c.Text)
		} else if condition == "" {
			condition = c.Local
		}
	}
	return condition, text
}

// kickable are the error conditions that make a MUC service remove the
// occupant who sent them (XEP-0045 section 18.1: the client is gone).
var kickable = map[string]bool{
	"gone": true, "internal-server-error": true, "item-not-found": true,
	"jid-malformed": true, "recipient-unavailable": true, "redirect": true,
	"remote-server-not-found": true, "remote-server-timeout": true,
	"service-unavailable": true, "": true,
}

// formFields reads a submitted XEP-0004 form into var -> values.
func formFields(x *dom.Element) map[string][]string {
	out := map[string][]string{}
	for _, f := range x.All(nsData, "field") {
		vals := []string{}
		for _, v := range f.All(nsData, "value") {
			vals = append(vals, v.Text)
		}
		out[f.Get("var")] = vals
	}
	return out
}

// first returns the first value of a field, or "".
func first(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}

// parseBool reads an XEP-0004 boolean.
func parseBool(s string) (v, ok bool) {
	switch strings.TrimSpace(s) {
	case "1", "true":
		return true, true
	case "0", "false":
		return false, true
	}
	return false, false
}

// field builds a form field; values may be empty.
func field(typ, name, label string, values ...string) *dom.Element {
	f := dom.New(nsData, "field", "var", name)
	setOpt(f, "type", typ)
	setOpt(f, "label", label)
	for _, v := range values {
		f.Add(dom.New(nsData, "value").SetText(v))
	}
	return f
}

func boolValue(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// errNotInRoom answers a stanza that needs its sender to be in the room.
var errNotInRoom = &module.StanzaError{Type: "cancel", Condition: "not-acceptable", Text: "You are not currently connected to this chat"}
