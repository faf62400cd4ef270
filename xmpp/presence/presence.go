// Package presence implements RFC 6121 section 4: initial presence and
// its broadcast to subscribers, probes answered from the contacts' current
// presence, presence updates, directed presence, and unavailable presence
// when a session ends. Subscription stanzas go to the roster package.
package presence

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"github.com/xmppd/xmppd/xmpp/roster"
	"mellium.im/xmpp/jid"
)

// Blocker tells whether a user blocks a JID (XEP-0191): blocked contacts
// get no presence from the user.
type Blocker interface {
	Blocks(ctx context.Context, user string, j jid.JID) (bool, error)
}

// Decorator may add to an available presence a user sends (XEP-0153
// avatar hash); it reports whether it changed p.
type Decorator interface {
	Decorate(ctx context.Context, user string, p *dom.Element) bool
}

// Module is the presence logic. The server calls Outbound and Inbound.
type Module struct {
	h         module.Host
	reg       *module.Registry
	roster    *roster.Module
	blocker   Blocker
	decorator Decorator

	mu sync.Mutex
	// directed holds, per local full JID, the JIDs it sent directed
	// available presence to (they get unavailable when it leaves).
	directed map[string]map[string]bool
}

// New returns the presence module; it needs the roster module for
// subscriptions and, optionally (nil), a Blocker.
func New(r *roster.Module, b Blocker) *Module {
	return &Module{roster: r, blocker: b, directed: map[string]map[string]bool{}}
}

// SetDecorator installs a Decorator (before Start).
func (m *Module) SetDecorator(d Decorator) { m.decorator = d }

// decorate applies the decorator to an available presence.
func (m *Module) decorate(ctx context.Context, st *module.Stanza) *module.Stanza {
	if m.decorator == nil || st.Type != "" {
		return st
	}
	el, err := st.Element()
	if err != nil {
		return st
	}
	el = el.Copy()
	if !m.decorator.Decorate(ctx, st.From.Bare().String(), el) {
		return st
	}
	return &module.Stanza{Name: st.Name, Type: st.Type, ID: st.ID, From: st.From, To: st.To, Raw: el.Append(nil, module.NSClient)}
}

// blocked reports whether user blocks contact; errors count as blocked
// (never leak presence on doubt).
func (m *Module) blocked(ctx context.Context, user, contact string) bool {
	if m.blocker == nil {
		return false
	}
	j, err := jid.Parse(contact)
	if err != nil {
		return true
	}
	b, err := m.blocker.Blocks(ctx, user, j)
	return err != nil || b
}

// Name implements module.Module.
func (m *Module) Name() string { return "presence" }

// Start implements module.Module.
func (m *Module) Start(_ context.Context, h module.Host, r *module.Registry) error {
	m.h, m.reg = h, r
	r.OnEnded(m.ended)
	return nil
}

// Stop implements module.Module.
func (m *Module) Stop(context.Context) error { return nil }

// Outbound handles a presence sent by a local session.
func (m *Module) Outbound(ctx context.Context, st *module.Stanza) error {
	if roster.IsSubscription(st.Type) {
		if st.To.Equal(jid.JID{}) {
			return nil
		}
		// Subscription stanzas carry the user's bare JID (RFC 6121 3.1.2).
		return m.roster.Outbound(ctx, st)
	}
	st = m.decorate(ctx, st)
	if !st.To.Equal(jid.JID{}) {
		return m.directedPresence(ctx, st)
	}
	switch st.Type {
	case "", "unavailable":
		return m.broadcast(ctx, st)
	case "probe", "error":
		return nil
	}
	return nil
}

// directedPresence routes presence with a 'to' and remembers the target.
func (m *Module) directedPresence(ctx context.Context, st *module.Stanza) error {
	from, to := st.From.String(), st.To.String()
	if st.Type == "" || st.Type == "unavailable" {
		m.mu.Lock()
		set := m.directed[from]
		if st.Type == "" {
			if set == nil {
				set = map[string]bool{}
				m.directed[from] = set
			}
			set[to] = true
		} else if set != nil {
			delete(set, to)
		}
		m.mu.Unlock()
	}
	return m.h.Route(ctx, st.Raw)
}

// broadcast handles available/unavailable presence without 'to'.
func (m *Module) broadcast(ctx context.Context, st *module.Stanza) error {
	user := st.From.Bare().String()
	available := st.Type == ""
	prio := 0
	if available {
		if el, err := st.Element(); err == nil {
			if p, err := strconv.Atoi(el.ChildText("", "priority")); err == nil && p >= -128 && p <= 127 {
				prio = p
			}
		}
	}
	initial := m.h.SetPresence(st.From, st.Raw, available, prio)
	items, _, err := m.roster.Contacts(ctx, user)
	if err != nil {
		return fmt.Errorf("presence: %w", err)
	}
	// Own resources first (including the sender: RFC 6121 4.2.2), then
	// subscribers.
	// A broadcast presence has no 'to': own resources get it as it is.
	for _, r := range m.h.Resources(user) {
		if r.Available || r.JID.Equal(st.From) {
			m.h.Deliver(r.JID, st.Raw)
		}
	}
	to := addresser(st.Raw)
	for _, it := range items {
		if (it.Subscription == directory.SubFrom || it.Subscription == directory.SubBoth) && !m.blocked(ctx, user, it.JID) {
			m.route(ctx, to(it.JID))
		}
	}
	if !available {
		m.sendDirectedUnavailable(ctx, st.From, st.Raw)
		return nil
	}
	if initial {
		m.initial(ctx, st.From, user, items)
	}
	return nil
}

// initial finishes an initial presence: probes, pending requests, hooks.
func (m *Module) initial(ctx context.Context, full jid.JID, user string, items []directory.RosterItem) {
	for _, it := range items {
		if it.Subscription == directory.SubTo || it.Subscription == directory.SubBoth {
			m.probe(ctx, full, it.JID)
		}
	}
	for _, raw := range m.roster.PendingRequests(ctx, user) {
		m.h.Deliver(full, raw)
	}
	info := module.SessionInfo{JID: full, Available: true}
	for _, h := range m.reg.AvailableHooks() {
		h(ctx, info)
	}
}

// probe asks for a contact's presence on behalf of full. Local contacts
// are answered directly from their sessions (RFC 6121 4.3.2).
func (m *Module) probe(ctx context.Context, full jid.JID, contact string) {
	cj, err := jid.Parse(contact)
	if err != nil {
		return
	}
	if !m.h.IsLocal(cj.Domainpart()) {
		return // no federation yet
	}
	m.answerProbe(ctx, contact, full)
}

// answerProbe sends user's current presence to the prober if the prober is
// subscribed to it.
func (m *Module) answerProbe(ctx context.Context, user string, prober jid.JID) {
	it, ok, err := m.roster.Contact(ctx, user, prober.Bare().String())
	if err != nil || !ok || !(it.Subscription == directory.SubFrom || it.Subscription == directory.SubBoth) {
		return
	}
	if m.blocked(ctx, user, prober.String()) {
		return
	}
	for _, r := range m.h.Resources(user) {
		if r.Available && r.Presence != nil {
			m.route(ctx, roster.PresenceCopy(r, prober.String()))
		}
	}
}

// Inbound handles presence addressed to a local account.
func (m *Module) Inbound(ctx context.Context, st *module.Stanza) error {
	if roster.IsSubscription(st.Type) {
		return m.roster.Inbound(ctx, st)
	}
	if st.Type == "probe" {
		m.answerProbe(ctx, st.To.Bare().String(), st.From)
		return nil
	}
	if st.To.Resourcepart() != "" {
		m.h.Deliver(st.To, st.Raw)
		return nil
	}
	for _, r := range m.h.Resources(st.To.String()) {
		if r.Available {
			m.h.Deliver(r.JID, st.Raw)
		}
	}
	return nil
}

// ended broadcasts unavailable for a session that went away without
// saying so, and to everyone it sent directed presence to.
func (m *Module) ended(ctx context.Context, info module.SessionInfo) {
	if info.Available {
		p := dom.New(module.NSClient, "presence", "type", "unavailable", "from", info.JID.String())
		raw := p.Append(nil, module.NSClient)
		st := &module.Stanza{Name: "presence", Type: "unavailable", From: info.JID, Raw: raw}
		if err := m.broadcast(ctx, st); err != nil {
			m.h.Logger().Warn("presence: broadcast on end failed", "err", err)
		}
		return
	}
	m.sendDirectedUnavailable(ctx, info.JID, nil)
}

func (m *Module) sendDirectedUnavailable(ctx context.Context, from jid.JID, raw []byte) {
	m.mu.Lock()
	set := m.directed[from.String()]
	delete(m.directed, from.String())
	m.mu.Unlock()
	if raw == nil {
		raw = dom.New(module.NSClient, "presence", "type", "unavailable", "from", from.String()).Append(nil, module.NSClient)
	}
	addr := addresser(raw)
	for to := range set {
		m.route(ctx, addr(to))
	}
}

func (m *Module) route(ctx context.Context, raw []byte) {
	if err := m.h.Route(ctx, raw); err != nil {
		m.h.Logger().Warn("presence: route failed", "err", err)
	}
}

// addresser parses a presence once and returns copies of it addressed to
// each recipient in turn (a broadcast goes to every subscriber).
func addresser(raw []byte) func(to string) []byte {
	el, err := dom.Parse(raw)
	if err != nil {
		return func(string) []byte { return raw }
	}
	el.Space = module.NSClient
	return func(to string) []byte {
		el.Set("to", to)
		return el.Append(nil, module.NSClient)
	}
}
