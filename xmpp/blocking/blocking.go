// Package blocking implements XEP-0191: Blocking Command. The blocklist is
// kept in the directory's per-user data and cached in memory for online
// accounts; an inbound filter hides the user from blocked entities, an
// outbound filter refuses stanzas to them, and blocking or unblocking a
// contact withdraws or re-sends the user's presence.
package blocking

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// Namespaces of XEP-0191.
const (
	NS       = "urn:xmpp:blocking"
	NSErrors = "urn:xmpp:blocking:errors"
)

// DataKey is the directory data key of a blocklist: one JID a line.
const DataKey = "blocklist"

// DefaultMaxItems bounds a blocklist when New is given 0.
const DefaultMaxItems = 1000

// Module implements the blocking command.
type Module struct {
	max   int
	host  module.Host
	cache cache

	// change serialises blocklist changes, so two resources of one account
	// blocking at once do not lose an update.
	change sync.Mutex

	mu sync.Mutex
	// interested holds, per account, the sessions that fetched the list and
	// get pushes (XEP-0191 3.3).
	interested map[string]map[string]jid.JID
	pushID     atomic.Uint64
}

var _ module.Module = (*Module)(nil)

// New returns the module; a blocklist holds at most maxItems JIDs.
func New(maxItems int) *Module {
	if maxItems <= 0 {
		maxItems = DefaultMaxItems
	}
	return &Module{
		max:        maxItems,
		cache:      cache{lists: map[string]*list{}},
		interested: map[string]map[string]jid.JID{},
	}
}

// Name implements module.Module.
func (m *Module) Name() string { return "blocking" }

// Start implements module.Module.
func (m *Module) Start(ctx context.Context, h module.Host, r *module.Registry) error {
	m.host = h
	r.Feature(module.ToHost, NS)
	r.HandleIQ(module.ToAccount, "get", NS, "blocklist", m.get)
	r.HandleIQ(module.ToAccount, "set", NS, "block", m.block)
	r.HandleIQ(module.ToAccount, "set", NS, "unblock", m.unblock)
	r.InboundFilter(m.inbound)
	r.OutboundFilter(m.outbound)
	r.OnEnded(m.ended)
	return nil
}

// Stop implements module.Module.
func (m *Module) Stop(ctx context.Context) error { return nil }

// Blocks reports whether user (a bare JID) blocks j. The presence
// broadcast uses it to leave blocked contacts out.
func (m *Module) Blocks(ctx context.Context, user string, j jid.JID) (bool, error) {
	l, err := m.list(ctx, user)
	if err != nil {
		return false, err
	}
	return l.matches(j.Localpart(), j.Domainpart(), j.Resourcepart()), nil
}

// self returns the account of an IQ the user sent about its own list.
func self(iq *module.Stanza) (string, error) {
	user := iq.From.Bare().String()
	if !iq.To.Equal(jid.JID{}) && iq.To.Bare().String() != user {
		return "", module.ErrServiceUnavailable
	}
	return user, nil
}

func (m *Module) get(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	user, err := self(iq)
	if err != nil {
		return nil, err
	}
	l, err := m.list(ctx, user)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.interested[user] == nil {
		m.interested[user] = map[string]jid.JID{}
	}
	m.interested[user][iq.From.String()] = iq.From
	m.mu.Unlock()
	return element("blocklist", l.items), nil
}

func element(name string, items []string) *dom.Element {
	e := dom.New(NS, name)
	for _, it := range items {
		e.Add(dom.New(NS, "item", "jid", it))
	}
	return e
}

// items returns the prepared JIDs of a block or unblock element.
func items(e *dom.Element) ([]string, error) {
	var out []string
	for _, it := range e.All(NS, "item") {
		j, err := jid.Parse(it.Get("jid"))
		if err != nil || it.Get("jid") == "" {
			return nil, module.ErrJIDMalformed
		}
		out = append(out, j.String())
	}
	return out, nil
}

func (m *Module) block(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	user, err := self(iq)
	if err != nil {
		return nil, err
	}
	add, err := items(iq.Payload())
	if err != nil {
		return nil, err
	}
	if len(add) == 0 {
		return nil, module.ErrBadRequest
	}
	m.change.Lock()
	old, err := m.list(ctx, user)
	if err == nil {
		l := newList(append(append([]string(nil), old.items...), add...))
		if len(l.items) > m.max {
			err = module.Err("policy-violation", "a blocklist holds at most "+strconv.Itoa(m.max)+" JIDs")
		} else {
			err = m.save(ctx, user, l)
		}
	}
	m.change.Unlock()
	if err != nil {
		return nil, err
	}
	var added []string
	for _, a := range add {
		if !old.set[a] {
			added = append(added, a)
		}
	}
	m.withdrawPresence(ctx, user, newList(added))
	m.push(user, element("block", add))
	return nil, nil
}

func (m *Module) unblock(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	user, err := self(iq)
	if err != nil {
		return nil, err
	}
	del, err := items(iq.Payload())
	if err != nil {
		return nil, err
	}
	m.change.Lock()
	old, err := m.list(ctx, user)
	var removed, kept []string
	if err == nil {
		drop := newList(del)
		for _, it := range old.items {
			if len(del) == 0 || drop.set[it] {
				removed = append(removed, it)
			} else {
				kept = append(kept, it)
			}
		}
		err = m.save(ctx, user, newList(kept))
	}
	m.change.Unlock()
	if err != nil {
		return nil, err
	}
	m.resendPresence(ctx, user, newList(removed), newList(kept))
	m.push(user, element("unblock", del))
	return nil, nil
}

// push sends the change to every session that fetched the list.
func (m *Module) push(user string, payload *dom.Element) {
	m.mu.Lock()
	targets := make([]jid.JID, 0, len(m.interested[user]))
	for _, j := range m.interested[user] {
		targets = append(targets, j)
	}
	m.mu.Unlock()
	for _, to := range targets {
		iq := dom.New(module.NSClient, "iq", "type", "set",
			"id", "block-push-"+strconv.FormatUint(m.pushID.Add(1), 10), "to", to.String())
		iq.Add(payload)
		if !m.host.Deliver(to, iq.Append(nil, module.NSClient)) {
			m.forget(user, to)
		}
	}
}

func (m *Module) forget(user string, full jid.JID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.interested[user], full.String())
	if len(m.interested[user]) == 0 {
		delete(m.interested, user)
	}
}

// ended forgets a session; the cached list goes with the last one.
func (m *Module) ended(ctx context.Context, info module.SessionInfo) {
	user := info.JID.Bare().String()
	m.forget(user, info.JID)
	for _, s := range m.host.Resources(user) {
		if !s.JID.Equal(info.JID) {
			return
		}
	}
	m.cache.drop(user)
}

func logErr(h module.Host, what string, err error) {
	h.Logger().Warn(fmt.Sprintf("blocking: %s", what), "err", err)
}
