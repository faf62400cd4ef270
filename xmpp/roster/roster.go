// Package roster implements RFC 6121 rosters: roster get/set/remove with
// pushes to interested resources, roster versioning (RFC 6121 2.6), and
// the presence subscription state machine (RFC 6121 section 3, including
// pre-approval) stored durably in the directory.
package roster

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync/atomic"

	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// NS is the roster namespace.
const NS = "jabber:iq:roster"

// Limits on client-supplied roster data.
const (
	maxNameLen   = 1024
	maxGroupLen  = 1024
	maxGroups    = 64
	maxRosterLen = 2000
)

// Module serves rosters and subscriptions.
type Module struct {
	h      module.Host
	pushID atomic.Uint64
}

// New returns the roster module.
func New() *Module { return &Module{} }

// Name implements module.Module.
func (m *Module) Name() string { return "roster" }

// Start implements module.Module.
func (m *Module) Start(_ context.Context, h module.Host, r *module.Registry) error {
	m.h = h
	r.HandleIQ(module.ToAccount, "get", NS, "query", m.get)
	r.HandleIQ(module.ToAccount, "set", NS, "query", m.set)
	return nil
}

// Stop implements module.Module.
func (m *Module) Stop(context.Context) error { return nil }

// own checks that a roster IQ is about the sender's own roster.
func own(iq *module.Stanza) (string, error) {
	user := iq.From.Bare().String()
	if !iq.To.Equal(jid.JID{}) && iq.To.String() != user {
		return "", module.ErrForbidden
	}
	return user, nil
}

// Visible reports whether an item belongs in the roster the user sees.
func Visible(it directory.RosterItem) bool { return it.JID != "" }

func (m *Module) get(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	user, err := own(iq)
	if err != nil {
		return nil, err
	}
	items, ver, err := m.Contacts(ctx, user)
	if err != nil {
		return nil, err
	}
	m.h.SetRosterRequested(iq.From)
	q := dom.New(NS, "query", "ver", ver)
	if p := iq.Payload(); p != nil && p.Has("ver") && p.Get("ver") == ver {
		// Up to date: an empty result, changes come as pushes (RFC 6121 2.6.3).
		return nil, nil
	}
	for _, it := range items {
		if Visible(it) {
			q.Add(ItemElement(it))
		}
	}
	return q, nil
}

// ItemElement renders a roster item.
func ItemElement(it directory.RosterItem) *dom.Element {
	e := dom.New(NS, "item", "jid", it.JID)
	if it.Name != "" {
		e.Set("name", it.Name)
	}
	sub := it.Subscription
	if sub == "" {
		sub = directory.SubNone
	}
	e.Set("subscription", sub)
	if it.Ask {
		e.Set("ask", "subscribe")
	}
	if it.Approved {
		e.Set("approved", "true")
	}
	for _, g := range it.Groups {
		e.Add(dom.New(NS, "group").SetText(g))
	}
	return e
}

func (m *Module) set(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	user, err := own(iq)
	if err != nil {
		return nil, err
	}
	q := iq.Payload()
	items := q.All(NS, "item")
	if len(items) != 1 {
		return nil, module.ErrBadRequest
	}
	el := items[0]
	cj, err := jid.Parse(el.Get("jid"))
	if err != nil || cj.Resourcepart() != "" {
		return nil, module.ErrJIDMalformed
	}
	contact := cj.String()
	if el.Get("subscription") == "remove" {
		return nil, m.remove(ctx, iq, user, contact)
	}
	if contact == user {
		return nil, module.Err("not-allowed", "cannot add yourself")
	}
	groups, err := parseGroups(el)
	if err != nil {
		return nil, err
	}
	name := el.Get("name")
	if len(name) > maxNameLen {
		return nil, module.Err("not-acceptable", "name too long")
	}
	cur, ok, err := m.h.Store().Item(ctx, user, contact)
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	if !ok {
		all, _, err := m.h.Store().Roster(ctx, user)
		if err != nil {
			return nil, fmt.Errorf("roster: %w", err)
		}
		if len(all) >= maxRosterLen {
			return nil, module.Err("resource-constraint", "roster is full")
		}
		cur = directory.RosterItem{JID: contact, Subscription: directory.SubNone}
	}
	cur.Name, cur.Groups = name, groups
	ver, err := m.h.Store().PutItem(ctx, user, cur)
	if err != nil {
		return nil, fmt.Errorf("roster: %w", err)
	}
	iq.Then(func() { m.push(user, cur, ver) })
	return nil, nil
}

func parseGroups(el *dom.Element) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, g := range el.All(NS, "group") {
		switch {
		case g.Text == "":
			return nil, module.Err("not-acceptable", "empty group name")
		case len(g.Text) > maxGroupLen:
			return nil, module.Err("not-acceptable", "group name too long")
		case seen[g.Text]:
			return nil, module.Err("bad-request", "duplicate group")
		}
		seen[g.Text] = true
		out = append(out, g.Text)
	}
	if len(out) > maxGroups {
		return nil, module.Err("not-acceptable", "too many groups")
	}
	sort.Strings(out)
	return out, nil
}

// remove deletes a contact, cancelling subscriptions both ways first
// (RFC 6121 2.5.2).
func (m *Module) remove(ctx context.Context, iq *module.Stanza, user, contact string) error {
	it, ok, err := m.h.Store().Item(ctx, user, contact)
	if err != nil {
		return fmt.Errorf("roster: %w", err)
	}
	if !ok {
		return module.ErrItemNotFound
	}
	if it.Subscription == directory.SubFrom || it.Subscription == directory.SubBoth {
		m.sendUnavailable(ctx, user, contact)
	}
	ver, err := m.h.Store().DeleteItem(ctx, user, contact)
	if err != nil {
		return fmt.Errorf("roster: %w", err)
	}
	m.clearPending(ctx, user, contact)
	iq.Then(func() {
		m.push(user, directory.RosterItem{JID: contact, Subscription: "remove"}, ver)
		if it.Subscription == directory.SubTo || it.Subscription == directory.SubBoth || it.Ask {
			m.route(ctx, user, contact, "unsubscribe", nil)
		}
		if it.Subscription == directory.SubFrom || it.Subscription == directory.SubBoth {
			m.route(ctx, user, contact, "unsubscribed", nil)
		}
	})
	return nil
}

// Put stores an item and pushes it to the user's interested resources.
func (m *Module) Put(ctx context.Context, user string, it directory.RosterItem) error {
	ver, err := m.h.Store().PutItem(ctx, user, it)
	if err != nil {
		return fmt.Errorf("roster: %w", err)
	}
	m.push(user, it, ver)
	return nil
}

// push sends a roster push to every interested resource (RFC 6121 2.1.6).
func (m *Module) push(user string, it directory.RosterItem, ver int64) {
	item := ItemElement(it)
	if it.Subscription == "remove" {
		item = dom.New(NS, "item", "jid", it.JID, "subscription", "remove")
	}
	for _, r := range m.h.Resources(user) {
		if !r.RosterRequested {
			continue
		}
		iq := dom.New(module.NSClient, "iq", "type", "set",
			"id", "push"+strconv.FormatUint(m.pushID.Add(1), 36), "to", r.JID.String())
		iq.Add(dom.New(NS, "query", "ver", strconv.FormatInt(ver, 10)).Add(item))
		m.h.Deliver(r.JID, iq.Append(nil, module.NSClient))
	}
}
