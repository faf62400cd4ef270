// Package carbons implements the protocol side of XEP-0280: Message
// Carbons. A session enables or disables carbons with an IQ; the router
// (server/carbons.go) makes the copies: <received/> copies of chat
// messages delivered to another resource, <sent/> copies of what a
// resource sends.
package carbons

import (
	"bytes"
	"context"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// Namespaces of XEP-0280 and XEP-0297.
const (
	NS        = "urn:xmpp:carbons:2"
	NSForward = "urn:xmpp:forward:0"
	NSHints   = "urn:xmpp:hints"
)

// Module answers enable and disable.
type Module struct{ h module.Host }

// New returns the module.
func New() *Module { return &Module{} }

// Name implements module.Module.
func (m *Module) Name() string { return "carbons" }

// Start implements module.Module.
func (m *Module) Start(_ context.Context, h module.Host, r *module.Registry) error {
	m.h = h
	r.Feature(module.ToHost, NS)
	r.Feature(module.ToAccount, NS)
	r.HandleIQ(module.ToAccount, "set", NS, "enable", m.set(true))
	r.HandleIQ(module.ToAccount, "set", NS, "disable", m.set(false))
	return nil
}

// Stop implements module.Module.
func (m *Module) Stop(context.Context) error { return nil }

func (m *Module) set(on bool) module.IQHandler {
	return func(_ context.Context, iq *module.Stanza) (*module.Element, error) {
		if !iq.To.Equal(jid.JID{}) && !iq.To.Equal(iq.From.Bare()) {
			return nil, module.ErrForbidden
		}
		m.h.SetCarbons(iq.From, on)
		return nil, nil
	}
}

// Eligible reports whether a message may be copied (XEP-0280 section 6):
// chat messages, and normal messages with a body, unless marked private or
// no-copy; never groupchat or errors, never MUC private messages.
func Eligible(typ string, el *dom.Element) bool {
	switch typ {
	case "chat":
	case "", "normal":
		if el.Child("", "body") == nil {
			return false
		}
	default:
		return false
	}
	if el.Child(NS, "private") != nil || el.Child(NSHints, "no-copy") != nil ||
		el.Child(NS, "received") != nil || el.Child(NS, "sent") != nil ||
		el.Child("http://jabber.org/protocol/muc#user", "x") != nil {
		return false
	}
	return true
}

// Wrap makes the carbon copy of raw for one resource: dir is "received"
// or "sent"; from is the account's bare JID.
func Wrap(dir, from, to string, raw []byte) []byte {
	b := make([]byte, 0, len(raw)+256)
	b = append(b, "<message from='"...)
	b = dom.EscapeAttr(b, from)
	b = append(b, "' to='"...)
	b = dom.EscapeAttr(b, to)
	b = append(b, "' type='chat'><"+dir+" xmlns='"+NS+"'><forwarded xmlns='"+NSForward+"'>"...)
	// The copied stanza must declare its namespace inside <forwarded/>.
	if i := indexAfterName(raw); i > 0 && !declaresNS(raw) {
		b = append(b, raw[:i]...)
		b = append(b, " xmlns='jabber:client'"...)
		b = append(b, raw[i:]...)
	} else {
		b = append(b, raw...)
	}
	return append(b, "</forwarded></"+dir+"></message>"...)
}

// declaresNS reports whether the start tag of raw declares a default
// namespace already.
func declaresNS(raw []byte) bool {
	end := bytes.IndexByte(raw, '>')
	return end > 0 && bytes.Contains(raw[:end], []byte(" xmlns="))
}

// indexAfterName returns the offset just after "<message".
func indexAfterName(raw []byte) int {
	const p = "<message"
	if len(raw) > len(p) && string(raw[:len(p)]) == p {
		return len(p)
	}
	return -1
}
