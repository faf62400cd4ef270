package blocking

import (
	"context"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// errBlocked answers a stanza the user sends to a JID it blocks (XEP-0191
// 3.3), with the text Prosody uses.
var errBlocked = &module.StanzaError{
	Type: "cancel", Condition: "not-acceptable", Text: "You have blocked this JID",
	App: dom.New(NSErrors, "blocked"),
}

func sameAccount(a, b jid.JID) bool {
	return a.Localpart() == b.Localpart() && a.Domainpart() == b.Domainpart()
}

// inbound hides the user from the entities it blocks. Messages and IQ
// get/set are answered with service-unavailable; the core drops refused
// presence and never answers errors and results (XEP-0191 3.3).
func (m *Module) inbound(ctx context.Context, s *module.Stanza) error {
	if sameAccount(s.From, s.To) {
		return nil
	}
	l, err := m.list(ctx, s.To.Bare().String())
	if err != nil {
		return err
	}
	if l.matches(s.From.Localpart(), s.From.Domainpart(), s.From.Resourcepart()) {
		return module.ErrServiceUnavailable
	}
	return nil
}

// outbound refuses stanzas to a blocked JID with not-acceptable and
// <blocked/>; presence to it is dropped.
func (m *Module) outbound(ctx context.Context, s *module.Stanza) error {
	if s.To.Equal(jid.JID{}) || sameAccount(s.From, s.To) {
		return nil
	}
	l, err := m.list(ctx, s.From.Bare().String())
	if err != nil {
		return err
	}
	if l.matches(s.To.Localpart(), s.To.Domainpart(), s.To.Resourcepart()) {
		return errBlocked
	}
	return nil
}
