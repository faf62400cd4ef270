package blocking

import (
	"context"
	"time"

	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// NSDelay is the XEP-0203 namespace of the stamp on re-sent presence.
const NSDelay = "urn:xmpp:delay"

// contacts returns the roster contacts allowed to see user's presence
// (subscription from or both) that match l and do not match still.
func (m *Module) contacts(ctx context.Context, user string, l, still *list) []string {
	if len(l.items) == 0 {
		return nil
	}
	roster, _, err := m.host.Store().Roster(ctx, user)
	if err != nil {
		logErr(m.host, "roster of "+user, err)
		return nil
	}
	var out []string
	for _, it := range roster {
		if it.Subscription != directory.SubFrom && it.Subscription != directory.SubBoth {
			continue
		}
		j, err := jid.Parse(it.JID)
		if err != nil {
			continue
		}
		loc, dm, res := j.Localpart(), j.Domainpart(), j.Resourcepart()
		if l.matches(loc, dm, res) && !still.matches(loc, dm, res) {
			out = append(out, j.String())
		}
	}
	return out
}

// withdrawPresence sends unavailable presence from each available resource
// to the newly blocked contacts that could see it (XEP-0191 3.3).
func (m *Module) withdrawPresence(ctx context.Context, user string, added *list) {
	cs := m.contacts(ctx, user, added, emptyList)
	if len(cs) == 0 {
		return
	}
	for _, s := range m.host.Resources(user) {
		if !s.Available {
			continue
		}
		for _, c := range cs {
			p := dom.New(module.NSClient, "presence", "type", "unavailable", "from", s.JID.String(), "to", c)
			if err := m.host.Route(ctx, p.Append(nil, module.NSClient)); err != nil {
				logErr(m.host, "withdraw presence", err)
			}
		}
	}
}

// resendPresence sends each available resource's current presence, with a
// delay stamp, to the unblocked contacts that may see it (XEP-0191 3.4).
func (m *Module) resendPresence(ctx context.Context, user string, removed, kept *list) {
	cs := m.contacts(ctx, user, removed, kept)
	if len(cs) == 0 {
		return
	}
	stamp := time.Now().UTC().Format("2006-01-02T15:04:05Z")
	for _, s := range m.host.Resources(user) {
		if !s.Available || len(s.Presence) == 0 {
			continue
		}
		p, err := dom.Parse(s.Presence)
		if err != nil {
			logErr(m.host, "stored presence of "+s.JID.String(), err)
			continue
		}
		p.Set("from", s.JID.String())
		if p.Child(NSDelay, "delay") == nil {
			p.Add(dom.New(NSDelay, "delay", "stamp", stamp, "from", s.JID.Domainpart()))
		}
		for _, c := range cs {
			p.Set("to", c)
			if err := m.host.Route(ctx, p.Append(nil, p.Space)); err != nil {
				logErr(m.host, "re-send presence", err)
			}
		}
	}
}
