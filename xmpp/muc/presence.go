package muc

import (
	"strings"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// presenceToRoom handles presence sent to the bare room JID: some clients
// send their updates and errors there; it counts as sent to their nick.
func (r *room) presenceToRoom(el *dom.Element, from jid.JID) {
	if o := r.occupantOf(from.String()); o != nil {
		r.presenceToOccupant(el, from, o.nick, false)
	}
}

// presenceToOccupant handles presence sent to room@service/nick.
func (r *room) presenceToOccupant(el *dom.Element, from jid.JID, nick string, created bool) {
	switch el.Get("type") {
	case "error":
		r.kick(el, from)
	case "", "unavailable":
		r.normalPresence(el, from, nick, created)
	case "probe":
		r.probe(el, from, nick)
	case "result", "visible", "invisible":
	default:
		r.send(errorReply(el, module.ErrBadRequest, r.jid.String()))
	}
}

// stored is the presence kept for a session: MUC payloads, addresses and
// id removed (they are set per recipient).
func stored(el *dom.Element) *dom.Element {
	p := withoutChildren(el, NS, NSUser)
	p.Del("to")
	p.Del("from")
	return p
}

// normalPresence is a join, a presence update, a nickname change or a
// leave (XEP-0045 sections 7.2, 7.6, 7.7, 7.14).
func (r *room) normalPresence(el *dom.Element, from jid.JID, rawNick string, created bool) {
	orig := r.occupantOf(from.String())
	mucX := el.Child(NS, "x")
	if el.Get("type") == "unavailable" {
		if orig != nil {
			r.leave(el, from, orig)
		}
		return
	}
	if orig == nil && mucX == nil {
		r.send(errorReply(el, module.Err("item-not-found", "You are not currently connected to this chat"), r.jid.String()))
		return
	}
	nick, se := prepNick(rawNick)
	if se == nil {
		se = r.mayEnter(el, from, orig, nick, created)
	}
	if se != nil {
		r.send(errorReply(el, se, r.jid.String()))
		return
	}
	dest := r.occupants[nick]
	newDest := dest == nil
	if newDest {
		dest = &occupant{nick: nick, bare: from.Bare().String(), role: r.defaultRole(r.affOf(from.Bare().String()))}
		if orig != nil {
			dest.role = orig.role
		}
	}
	lastOrig := orig != nil && orig.live() <= 1
	prev := roleNone
	if orig != nil {
		prev = orig.role
		if orig != dest {
			r.changeNick(from, orig, dest, newDest)
		}
	}
	r.enter(el, from, orig, dest, prev, created, nick != rawNick)
	if orig != nil && orig != dest && !lastOrig {
		// The session left one nick of a multi-session occupant: show it
		// that the other sessions are still there.
		x := dom.New(nsUser, "x").Add(r.items(orig, false, itemInfo{}, "", "")...)
		r.send(orig.presence().Copy().Set("from", r.occJID(orig.nick)).Set("to", from.String()).Add(x))
	}
	if orig == nil || mucX != nil {
		r.sendHistory(from, mucX)
		r.sendSubject(from)
	}
}

// enter records the session in dest and announces it: the occupant list
// first to a joining session, then its presence to the room and to
// itself (status 201 for the creator, 100 in non-anonymous rooms, 210
// when the service changed the nick).
func (r *room) enter(el *dom.Element, from jid.JID, orig, dest *occupant, prev role, created, nickChanged bool) {
	dest.setSession(from, stored(el))
	r.save(dest)
	if orig == nil || el.Child(NS, "x") != nil {
		r.sendOccupantList(from)
	}
	xs := xset{self: []*dom.Element{}}
	if created {
		xs.base = []*dom.Element{status("201")}
		xs.self = append(xs.self, status("201"))
	}
	if orig == nil && r.cfg.WhoisAnyone {
		xs.self = append(xs.self, status("100"))
	}
	if nickChanged {
		xs.self = append(xs.self, status("210"))
	}
	r.publicise(dest, xs, itemInfo{}, prev, false)
}

// mayEnter checks a join (orig nil) or a nickname change.
func (r *room) mayEnter(el *dom.Element, from jid.JID, orig *occupant, nick string, created bool) *module.StanzaError {
	bare := from.Bare().String()
	if owner := r.registeredJID(nick); owner != "" && owner != bare {
		return module.Err("conflict", "")
	}
	if d := r.occupants[nick]; d != nil && d.bare != bare {
		return module.Err("conflict", "")
	}
	if orig != nil {
		return nil
	}
	aff := r.affOf(bare)
	switch {
	case r.cfg.MembersOnly && aff <= affNone:
		return module.Err("registration-required", "")
	case aff == affOutcast:
		return module.Err("forbidden", "")
	case r.cfg.Password != "" && el.Child(NS, "x").ChildText(NS, "password") != r.cfg.Password:
		return module.Err("not-authorized", "")
	case r.locked && !created:
		return module.Err("item-not-found", "")
	}
	return nil
}

// changeNick moves one session from orig to dest (section 7.6).
func (r *room) changeNick(from jid.JID, orig, dest *occupant, newDest bool) {
	full := from.String()
	aff := r.affOf(orig.bare).String()
	last := orig.live() <= 1
	prev := orig.role
	gen := stanza("presence", "type", "unavailable")
	orig.setSession(from, gen)
	if !newDest {
		x := dom.New(nsUser, "x").Add(dom.New(nsUser, "item", "affiliation", aff, "role", "none"))
		r.send(stanza("presence", "from", r.occJID(dest.nick), "to", full, "type", "unavailable").
			Add(stanza("status").SetText("you are joining pre-existing session " + dest.nick)).Add(x))
	}
	xs, it := xset{}, itemInfo{nick: dest.nick}
	if newDest && last {
		xs.base = []*dom.Element{status("303")}
	} else {
		orig.removeSession(full)
		item := dom.New(nsUser, "item", "affiliation", aff, "role", orig.role.String(), "jid", full, "nick", dest.nick)
		x := dom.New(nsUser, "x").Add(item, status("303"), status("110"))
		r.send(gen.Copy().Set("from", r.occJID(orig.nick)).Set("to", full).Add(x))
		it.nick = ""
	}
	r.publicise(orig, xs, it, prev, false)
	r.save(orig)
}

// leave handles an unavailable presence from a session in the room.
func (r *room) leave(el *dom.Element, from jid.JID, o *occupant) {
	prev := o.role
	if o.live() <= 1 {
		o.role = roleNone
	}
	o.setSession(from, stored(el))
	r.publicise(o, xset{}, itemInfo{}, prev, false)
	r.save(o)
}

// kick removes a session that bounced a presence error to the room
// (status 333, XEP-0045 section 18.1).
func (r *room) kick(el *dom.Element, from jid.JID) {
	o := r.occupantOf(from.String())
	if o == nil {
		return
	}
	cond, text := stanzaError(el)
	msg := "Kicked: presence error"
	if cond != "" {
		msg = "Kicked: " + strings.ReplaceAll(cond, "-", " ")
	}
	if text != "" && r.cfg.WhoisAnyone {
		msg += ": " + text
	}
	last := o.live() <= 1
	prev := o.role
	o.setSession(from, stanza("presence", "type", "unavailable").Add(stanza("status").SetText(msg)))
	xs := xset{}
	if last {
		o.role = roleNone
		xs.base = []*dom.Element{status("333")}
	} else {
		o.prune()
	}
	r.publicise(o, xs, itemInfo{}, prev, false)
	r.save(o)
}

// probe answers a presence probe from an occupant (Prosody #1535).
func (r *room) probe(el *dom.Element, from jid.JID, nick string) {
	prober := r.occupantOf(from.String())
	if prober == nil {
		r.send(errorReply(el, errNotInRoom, r.jid.String()))
		return
	}
	if target := r.occupants[nick]; target != nil {
		r.presenceTo(target, prober)
		return
	}
	if bare := r.registeredJID(nick); bare != "" {
		r.send(r.offlinePresence(bare, nick, from, r.anonymousFor(from)))
	}
}
