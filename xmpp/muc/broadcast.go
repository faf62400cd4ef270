package muc

import (
	"sort"

	"github.com/xmppd/xmppd/xmpp/dom"
	"mellium.im/xmpp/jid"
)

// xset is the muc#user payload of an occupant's presence before the items:
// base for everyone, self (when not nil) for the occupant's own sessions.
type xset struct {
	base, self []*dom.Element
}

// itemInfo is what the <item/> carries besides affiliation, role and jid.
type itemInfo struct {
	nick   string // new nickname (status 303)
	actor  string // full JID of who made the change
	reason string
}

func status(code string) *dom.Element { return dom.New(nsUser, "status", "code", code) }

func copies(els []*dom.Element) []*dom.Element {
	out := make([]*dom.Element, len(els))
	for i, e := range els {
		out[i] = e.Copy()
	}
	return out
}

// items builds the <item/>s of an occupant: one without a jid when the
// recipient must not see real JIDs, else one per session.
func (r *room) items(o *occupant, anon bool, it itemInfo, actorNick, actorJID string) []*dom.Element {
	mk := func(real string) *dom.Element {
		item := dom.New(nsUser, "item", "affiliation", r.affOf(o.bare).String(), "role", o.role.String())
		setOpt(item, "jid", real)
		setOpt(item, "nick", it.nick)
		if actorNick != "" || actorJID != "" {
			a := dom.New(nsUser, "actor")
			setOpt(a, "nick", actorNick)
			setOpt(a, "jid", actorJID)
			item.Add(a)
		}
		if it.reason != "" {
			item.Add(dom.New(nsUser, "reason").SetText(it.reason))
		}
		return item
	}
	if anon {
		return []*dom.Element{mk("")}
	}
	out := make([]*dom.Element, 0, len(o.sessions))
	for _, s := range o.sessions {
		out = append(out, mk(s.jid.String()))
	}
	return out
}

// basePresence is the presence an occupant's state is announced with.
func (r *room) basePresence(o *occupant, forceUnavailable bool) *dom.Element {
	var p *dom.Element
	if pr := o.presence(); pr != nil && !forceUnavailable && (o.role != roleNone || pr.Get("type") == "unavailable") {
		p = pr.Copy()
	} else {
		p = stanza("presence", "type", "unavailable")
	}
	return p.Set("from", r.occJID(o.nick))
}

// variants builds lazily the three views of an occupant's presence.
type variants struct {
	r          *room
	o          *occupant
	xs         xset
	it         itemInfo
	base       *dom.Element
	actorNick  string
	full, anon *dom.Element
}

func (v *variants) with(prefix []*dom.Element, anon bool, actorJID string) *dom.Element {
	x := dom.New(nsUser, "x").Add(copies(prefix)...)
	x.Add(v.r.items(v.o, anon, v.it, v.actorNick, actorJID)...)
	return v.base.Copy().Add(x)
}

// forRecipient picks the view an occupant may see.
func (v *variants) forRecipient(rec *occupant) *dom.Element {
	switch {
	case v.r.canSeeJIDs(rec):
		if v.full == nil {
			v.full = v.with(v.xs.base, false, v.it.actor)
		}
		return v.full
	case rec.bare == v.o.bare:
		return v.with(v.selfPrefix(), false, "")
	default:
		if v.anon == nil {
			v.anon = v.with(v.xs.base, true, "")
		}
		return v.anon
	}
}

func (v *variants) selfPrefix() []*dom.Element {
	if v.xs.self != nil {
		return v.xs.self
	}
	return v.xs.base
}

func (r *room) newVariants(o *occupant, xs xset, it itemInfo, force bool) *variants {
	v := &variants{r: r, o: o, xs: xs, it: it, base: r.basePresence(o, force)}
	if it.actor != "" {
		if n, ok := r.byReal[it.actor]; ok {
			v.actorNick = n
		}
	}
	return v
}

// sendTo sends p to every session of an occupant.
func (r *room) sendTo(o *occupant, p *dom.Element) {
	if p.Has("to") {
		p = p.Copy()
		p.Del("to")
	}
	for _, s := range o.sessions {
		r.out = append(r.out, outItem{el: p, to: s.jid.String()})
	}
}

// publicise announces an occupant's presence to the room (XEP-0045
// section 7.2.3 and the following), then to the occupant with status 110.
// prev is the role before the change: when the new role is not broadcast
// but the old one was, the others see the occupant go unavailable.
func (r *room) publicise(o *occupant, xs xset, it itemInfo, prev role, force bool) {
	v := r.newVariants(o, xs, it, force)
	bc := r.cfg.Broadcast
	for _, n := range r.list() {
		if n.nick == o.nick {
			continue
		}
		switch {
		case bc[o.role] || force:
			r.sendTo(n, v.forRecipient(n))
		case prev != roleNone && bc[prev]:
			p := v.forRecipient(n).Copy()
			p.Set("type", "unavailable")
			r.sendTo(n, p)
		}
	}
	x := dom.New(nsUser, "x").Add(copies(v.selfPrefix())...)
	x.Add(r.items(o, false, it, v.actorNick, "")...)
	x.Add(status("110"))
	if o.role == roleNone {
		r.sendTo(o, v.base.Copy().Add(x))
		return
	}
	for _, s := range o.sessions {
		p := s.pres.Copy()
		p.Set("from", r.occJID(o.nick))
		p.Set("to", s.jid.String())
		r.send(p.Add(x.Copy()))
	}
}

// presenceTo sends an occupant's presence to one recipient occupant
// (answering a probe): no status 110, as Prosody does.
func (r *room) presenceTo(o, rec *occupant) {
	v := r.newVariants(o, xset{}, itemInfo{}, false)
	r.sendTo(rec, v.forRecipient(rec))
}

// sendOccupantList sends a joining session the presence of everyone
// already in the room (section 7.2.3), and with presence broadcast of
// role none, of the affiliated users who are away.
func (r *room) sendOccupantList(to jid.JID) {
	toBare := to.Bare().String()
	anon := r.anonymousFor(to)
	bc := r.cfg.Broadcast
	seen := map[string]bool{}
	for _, o := range r.list() {
		seen[o.bare] = true
		if o.session(to.String()) != nil || (toBare != o.bare && !bc[o.role]) {
			continue
		}
		x := dom.New(nsUser, "x").Add(r.items(o, anon && toBare != o.bare, itemInfo{}, "", "")...)
		p := o.presence().Copy().Set("from", r.occJID(o.nick)).Set("to", to.String())
		r.send(p.Add(x))
	}
	if !bc[roleNone] {
		return
	}
	bares := make([]string, 0, len(r.affs))
	for b := range r.affs {
		bares = append(bares, b)
	}
	sort.Strings(bares)
	for _, b := range bares {
		nick := r.nicks[b]
		if seen[b] || (nick == "" && anon) {
			continue
		}
		r.send(r.offlinePresence(b, nick, to, anon))
	}
}

// offlinePresence is the unavailable presence of an affiliated user who
// is not in the room.
func (r *room) offlinePresence(bare, nick string, to jid.JID, anon bool) *dom.Element {
	from := r.jid.String()
	if nick != "" {
		from = r.occJID(nick)
	}
	item := dom.New(nsUser, "item", "affiliation", r.affOf(bare).String(), "role", "none")
	setOpt(item, "nick", nick)
	if !anon {
		item.Set("jid", bare)
	}
	return stanza("presence", "from", from, "to", to.String(), "type", "unavailable").
		Add(dom.New(nsUser, "x").Add(item))
}
