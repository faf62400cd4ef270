package roster

import (
	"context"
	"fmt"
	"time"

	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
)

// pendingKey is the directory data key holding subscription requests the
// user has not answered yet (RFC 6121 3.1.3: kept whole, re-sent at login,
// without adding the requester to the roster).
const pendingKey = "roster:pending"

// IsSubscription reports whether a presence type is a subscription type.
func IsSubscription(typ string) bool {
	switch typ {
	case "subscribe", "subscribed", "unsubscribe", "unsubscribed":
		return true
	}
	return false
}

// Outbound handles a subscription stanza a local user sent (RFC 6121
// 3.1.2, 3.1.5, 3.2.2, 3.3.2, 3.4).
func (m *Module) Outbound(ctx context.Context, st *module.Stanza) error {
	user := st.From.Bare().String()
	if st.To.Localpart() == "" && st.To.Domainpart() == "" {
		return nil
	}
	contact := st.To.Bare().String()
	if contact == user {
		return nil
	}
	store := m.h.Store()
	it, ok, err := store.Item(ctx, user, contact)
	if err != nil {
		return fmt.Errorf("roster: %w", err)
	}
	if !ok {
		it = directory.RosterItem{JID: contact, Subscription: directory.SubNone}
	}
	switch st.Type {
	case "subscribe":
		if !has(it.Subscription, directory.SubTo) && !it.Ask {
			it.Ask = true
			if err := m.Put(ctx, user, it); err != nil {
				return err
			}
		}
		m.route(ctx, user, contact, "subscribe", st)
	case "subscribed":
		pending := m.isPending(ctx, user, contact)
		switch {
		case pending && !has(it.Subscription, directory.SubFrom):
			it.Subscription = add(it.Subscription, directory.SubFrom)
			it.Approved = false
			if err := m.Put(ctx, user, it); err != nil {
				return err
			}
			m.clearPending(ctx, user, contact)
			m.route(ctx, user, contact, "subscribed", st)
			m.sendAvailable(ctx, user, contact)
			if has(it.Subscription, directory.SubTo) {
				// Now mutual: ask for the contact's presence again, as
				// Prosody does.
				m.route(ctx, user, contact, "probe", nil)
			}
		case pending:
			m.clearPending(ctx, user, contact)
		case !has(it.Subscription, directory.SubFrom) && !it.Approved:
			it.Approved = true // pre-approval (RFC 6121 3.4)
			return m.Put(ctx, user, it)
		}
	case "unsubscribe":
		if ok && (has(it.Subscription, directory.SubTo) || it.Ask) {
			it.Subscription = del(it.Subscription, directory.SubTo)
			it.Ask = false
			if err := m.Put(ctx, user, it); err != nil {
				return err
			}
		}
		m.route(ctx, user, contact, "unsubscribe", st)
	case "unsubscribed":
		pending := m.isPending(ctx, user, contact)
		switch {
		case ok && has(it.Subscription, directory.SubFrom):
			m.sendUnavailable(ctx, user, contact)
			it.Subscription = del(it.Subscription, directory.SubFrom)
			if err := m.Put(ctx, user, it); err != nil {
				return err
			}
			m.route(ctx, user, contact, "unsubscribed", st)
		case pending:
			m.clearPending(ctx, user, contact)
			m.route(ctx, user, contact, "unsubscribed", st)
		case ok && it.Approved:
			it.Approved = false
			return m.Put(ctx, user, it)
		}
	}
	return nil
}

// Inbound handles a subscription stanza addressed to a local user (RFC
// 6121 3.1.3, 3.1.6, 3.2.3, 3.3.3).
func (m *Module) Inbound(ctx context.Context, st *module.Stanza) error {
	user := st.To.Bare().String()
	contact := st.From.Bare().String()
	store := m.h.Store()
	exists, err := store.Exists(ctx, user)
	if err != nil || !exists {
		return err
	}
	it, ok, err := store.Item(ctx, user, contact)
	if err != nil {
		return fmt.Errorf("roster: %w", err)
	}
	switch st.Type {
	case "subscribe":
		return m.inboundSubscribe(ctx, st, user, contact, it, ok)
	case "subscribed":
		if ok && it.Ask {
			it.Ask = false
			it.Subscription = add(it.Subscription, directory.SubTo)
			if err := m.Put(ctx, user, it); err != nil {
				return err
			}
			m.toAvailable(user, st.Raw)
		}
	case "unsubscribe":
		m.clearPending(ctx, user, contact)
		if ok && has(it.Subscription, directory.SubFrom) {
			it.Subscription = del(it.Subscription, directory.SubFrom)
			if err := m.Put(ctx, user, it); err != nil {
				return err
			}
			m.toAvailable(user, st.Raw)
			m.sendUnavailable(ctx, user, contact)
		}
	case "unsubscribed":
		if ok && (has(it.Subscription, directory.SubTo) || it.Ask) {
			it.Subscription = del(it.Subscription, directory.SubTo)
			it.Ask = false
			if err := m.Put(ctx, user, it); err != nil {
				return err
			}
			m.toAvailable(user, st.Raw)
		}
	}
	return nil
}

func (m *Module) inboundSubscribe(ctx context.Context, st *module.Stanza, user, contact string, it directory.RosterItem, ok bool) error {
	switch {
	case ok && has(it.Subscription, directory.SubFrom):
		// Already subscribed: answer for the user.
		m.route(ctx, user, contact, "subscribed", nil)
		m.sendAvailable(ctx, user, contact)
		return nil
	case ok && it.Approved:
		it.Approved = false
		it.Subscription = add(it.Subscription, directory.SubFrom)
		if err := m.Put(ctx, user, it); err != nil {
			return err
		}
		m.route(ctx, user, contact, "subscribed", nil)
		m.sendAvailable(ctx, user, contact)
		return nil
	}
	// Acknowledge receipt the way Prosody does, then keep the request
	// whole and show it to the user's available resources.
	m.route(ctx, user, contact, "unavailable", nil)
	if err := m.addPending(ctx, user, contact, st.Raw); err != nil {
		return err
	}
	m.toAvailable(user, st.Raw)
	return nil
}

// PendingRequests returns the unanswered subscription requests of user.
func (m *Module) PendingRequests(ctx context.Context, user string) [][]byte {
	root := m.loadPending(ctx, user)
	var out [][]byte
	for _, c := range root.Children {
		out = append(out, c.Append(nil, module.NSClient))
	}
	return out
}

func (m *Module) loadPending(ctx context.Context, user string) *dom.Element {
	b, ok, err := m.h.Store().GetData(ctx, user, pendingKey)
	if err == nil && ok {
		if el, err := dom.Parse(b); err == nil {
			return el
		}
	}
	return dom.New(module.NSClient, "pending")
}

func (m *Module) isPending(ctx context.Context, user, contact string) bool {
	for _, c := range m.loadPending(ctx, user).Children {
		if c.Get("from") == contact {
			return true
		}
	}
	return false
}

func (m *Module) addPending(ctx context.Context, user, contact string, raw []byte) error {
	root := m.loadPending(ctx, user)
	p, err := dom.Parse(raw)
	if err != nil {
		return fmt.Errorf("roster: %w", err)
	}
	p.Space = module.NSClient
	p.Set("from", contact)
	p.Set("to", user)
	kept := root.Children[:0]
	for _, c := range root.Children {
		if c.Get("from") != contact {
			kept = append(kept, c)
		}
	}
	root.Children = append(kept, p)
	if len(root.Children) > maxRosterLen {
		root.Children = root.Children[len(root.Children)-maxRosterLen:]
	}
	return m.h.Store().PutData(ctx, user, pendingKey, root.Append(nil, ""))
}

func (m *Module) clearPending(ctx context.Context, user, contact string) {
	root := m.loadPending(ctx, user)
	kept := root.Children[:0]
	for _, c := range root.Children {
		if c.Get("from") != contact {
			kept = append(kept, c)
		}
	}
	if len(kept) == len(root.Children) {
		return
	}
	root.Children = kept
	if err := m.h.Store().PutData(ctx, user, pendingKey, root.Append(nil, "")); err != nil {
		m.h.Logger().Warn("roster: clearing a pending request failed", "user", user, "err", err)
	}
}

// route sends a presence of typ from the user's bare JID to the contact,
// keeping the payload of orig (if any).
func (m *Module) route(ctx context.Context, user, contact, typ string, orig *module.Stanza) {
	p := dom.New(module.NSClient, "presence")
	if orig != nil {
		if el, err := orig.Element(); err == nil {
			p = el.Copy()
			p.Space = module.NSClient
		}
	}
	if typ != "" {
		p.Set("type", typ)
	}
	p.Set("from", user)
	p.Set("to", contact)
	if err := m.h.Route(ctx, p.Append(nil, module.NSClient)); err != nil {
		m.h.Logger().Warn("roster: routing presence failed", "err", err)
	}
}

// toAvailable delivers raw to every available resource of user.
func (m *Module) toAvailable(user string, raw []byte) {
	for _, r := range m.h.Resources(user) {
		if r.Available {
			m.h.Deliver(r.JID, raw)
		}
	}
}

// sendAvailable sends the current presence of every available resource
// of user to contact (after a subscription is approved).
func (m *Module) sendAvailable(ctx context.Context, user, contact string) {
	for _, r := range m.h.Resources(user) {
		if !r.Available || r.Presence == nil {
			continue
		}
		if err := m.h.Route(ctx, PresenceCopy(r, contact)); err != nil {
			m.h.Logger().Warn("roster: routing presence failed", "err", err)
		}
	}
}

// PresenceCopy is a resource's current presence sent again to one JID
// (after an approval or for a probe), with a XEP-0203 <delay/> saying when
// it was originally sent.
func PresenceCopy(r module.SessionInfo, to string) []byte {
	p, err := dom.Parse(r.Presence)
	if err != nil {
		return r.Presence
	}
	p.Set("from", r.JID.String())
	p.Set("to", to)
	p.Remove("urn:xmpp:delay", "delay")
	at := r.PresenceAt
	if at.IsZero() {
		at = time.Now()
	}
	p.Add(dom.New("urn:xmpp:delay", "delay", "from", r.JID.Domainpart(),
		"stamp", at.UTC().Format("2006-01-02T15:04:05Z")))
	return p.Append(nil, module.NSClient)
}

// sendUnavailable sends unavailable presence from every available resource
// of user to contact (a subscription from the contact ended).
func (m *Module) sendUnavailable(ctx context.Context, user, contact string) {
	for _, r := range m.h.Resources(user) {
		if !r.Available {
			continue
		}
		p := dom.New(module.NSClient, "presence", "type", "unavailable", "from", r.JID.String(), "to", contact)
		if err := m.h.Route(ctx, p.Append(nil, module.NSClient)); err != nil {
			m.h.Logger().Warn("roster: routing presence failed", "err", err)
		}
	}
}

// Subscription arithmetic: "both" is "to" plus "from".
func has(sub, part string) bool { return sub == part || sub == directory.SubBoth }

func add(sub, part string) string {
	switch {
	case has(sub, part):
		return sub
	case sub == directory.SubNone || sub == "":
		return part
	}
	return directory.SubBoth
}

func del(sub, part string) string {
	switch {
	case sub == part:
		return directory.SubNone
	case sub == directory.SubBoth && part == directory.SubTo:
		return directory.SubFrom
	case sub == directory.SubBoth && part == directory.SubFrom:
		return directory.SubTo
	}
	return sub
}
