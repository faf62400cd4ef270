package muc

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// messageToRoom handles a message to the bare room JID: groupchat,
// mediated invitations and declines, and errors that kick the sender.
func (r *room) messageToRoom(el *dom.Element, from jid.JID) {
	switch el.Get("type") {
	case "groupchat":
		r.groupchat(el, from)
		return
	case "error":
		if cond, _ := stanzaError(el); kickable[cond] {
			r.kick(el, from)
		}
		return
	case "", "normal":
		if x := el.Child(NSUser, "x"); x != nil {
			switch p := x.First(); {
			case p != nil && p.Local == "invite" && p.Get("to") != "":
				r.invite(el, from, p)
			case p != nil && p.Local == "decline" && p.Get("to") != "":
				r.decline(el, from, p)
			default:
				r.send(errorReply(el, module.ErrBadRequest, r.jid.String()))
			}
			return
		}
	}
	r.send(errorReply(el, module.ErrServiceUnavailable, r.jid.String()))
}

// groupchat broadcasts a message to every occupant (section 7.4) or
// changes the subject (section 8.1).
func (r *room) groupchat(el *dom.Element, from jid.JID) {
	o := r.occupantOf(from.String())
	switch {
	case o == nil || o.role == roleNone:
		r.send(errorReply(el, errNotInRoom, ""))
		return
	case o.role == roleVisitor:
		r.send(errorReply(el, module.Err("forbidden", "You do not currently have permission to speak in this chat"), ""))
		return
	}
	// A message with a <subject/> and a <body/> or <thread/> is a normal
	// message, not a subject change (XEP-0045 section 8.1, Prosody #667).
	if subj := el.Child(module.NSClient, "subject"); subj != nil && el.Child(module.NSClient, "body") == nil && el.Child(module.NSClient, "thread") == nil {
		if o.role < roleModerator && !r.cfg.ChangeSubject {
			r.send(errorReply(el, module.Err("forbidden", "You are not allowed to change the subject"), ""))
			return
		}
		r.setSubject(o.nick, subj.Text)
		return
	}
	msg := el.Copy()
	out := msg.Children[:0]
	for _, c := range msg.Children {
		if c.Local == "delay" && c.Space == nsDelay && c.Get("from") == r.jid.String() {
			continue // a delay claiming to be from the room is forged
		}
		out = append(out, c)
	}
	msg.Children = out
	if msg.Get("id") == "" {
		msg.Set("id", newID())
	}
	msg.Set("from", r.occJID(o.nick))
	msg.Del("to")
	r.broadcast(msg)
	if historic(msg) {
		r.addHistory(msg)
	}
}

// broadcast sends msg (without 'to') to every session of every occupant.
func (r *room) broadcast(msg *dom.Element) {
	for _, o := range r.list() {
		r.sendTo(o, msg)
	}
}

// historic reports whether a message belongs in the discussion history.
func historic(msg *dom.Element) bool {
	switch {
	case msg.Child(nsHints, "no-store") != nil, msg.Child(nsHints, "no-permanent-store") != nil:
		return false
	case msg.Child(nsHints, "store") != nil, msg.Child(module.NSClient, "body") != nil:
		return true
	}
	return false
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// addHistory keeps the message with an XEP-0203 delay from the room.
func (r *room) addHistory(msg *dom.Element) {
	if r.cfg.HistoryLength <= 0 {
		r.history = nil
		return
	}
	now := time.Now()
	h := msg.Copy().Add(dom.New(nsDelay, "delay", "from", r.jid.String(), "stamp", stamp(now)))
	r.history = append(r.history, histEntry{msg: h, at: now, size: len(h.Append(nil, module.NSClient))})
	n, total := len(r.history)-r.cfg.HistoryLength, 0
	for i := len(r.history) - 1; i >= 0; i-- {
		if total += r.history[i].size; total > maxHistoryBytes {
			n = max(n, i+1)
			break
		}
	}
	if n > 0 {
		r.history = append(r.history[:0], r.history[n:]...)
	}
}

// sendHistory sends the discussion history a joining session asked for
// with <history/> (section 7.2.15), by default all that is kept.
func (r *room) sendHistory(to jid.JID, mucX *dom.Element) {
	h := mucX.Child(NS, "history")
	maxStanzas, maxChars := len(r.history), -1
	var since time.Time
	if h != nil {
		if v, err := strconv.Atoi(h.Get("maxstanzas")); err == nil && v >= 0 && v < maxStanzas {
			maxStanzas = v
		}
		if v, err := strconv.Atoi(h.Get("maxchars")); err == nil && v >= 0 {
			maxChars = v
		}
		if v, err := strconv.Atoi(h.Get("seconds")); err == nil && v >= 0 {
			since = time.Now().Add(-time.Duration(v) * time.Second)
		}
		if t, err := time.Parse(time.RFC3339, h.Get("since")); err == nil && t.After(since) {
			since = t
		}
	}
	n, chars := 0, 0
	for i := len(r.history) - 1; i >= 0 && n < maxStanzas; i-- {
		e := r.history[i]
		chars += e.size + len(to.String())
		if (maxChars >= 0 && chars > maxChars) || e.at.Before(since) {
			break
		}
		n++
	}
	for _, e := range r.history[len(r.history)-n:] {
		r.send(e.msg.Copy().Set("to", to.String()))
	}
}

// subjectMessage is the message carrying the room's subject.
func (r *room) subjectMessage() *dom.Element {
	from := r.jid.String()
	if r.subjectFrom != "" {
		from = r.occJID(r.subjectFrom)
	}
	return stanza("message", "type", "groupchat", "from", from).
		Add(stanza("subject").SetText(r.subject))
}

// sendSubject sends the subject to a joining session (section 7.2.16).
func (r *room) sendSubject(to jid.JID) {
	m := r.subjectMessage().Set("to", to.String())
	if !r.subjectAt.IsZero() {
		m.Add(dom.New(nsDelay, "delay", "from", r.jid.String(), "stamp", stamp(r.subjectAt)))
	}
	r.send(m)
}

// setSubject changes the subject and tells everyone.
func (r *room) setSubject(nick, subject string) {
	r.subject, r.subjectFrom, r.subjectAt = subject, nick, time.Now()
	r.broadcast(r.subjectMessage())
}

// messageToOccupant handles a private message (section 7.5).
func (r *room) messageToOccupant(el *dom.Element, from jid.JID, nick string) {
	typ := el.Get("type")
	sender := r.occupantOf(from.String())
	switch {
	case sender == nil:
		if typ != "error" {
			r.send(errorReply(el, errNotInRoom, r.jid.String()))
		}
		return
	case typ == "groupchat":
		r.send(errorReply(el, module.ErrBadRequest, r.jid.String()))
		return
	case typ == "error":
		if cond, _ := stanzaError(el); kickable[cond] {
			r.kick(el, from)
		}
		return
	}
	target := r.occupants[nick]
	if target == nil {
		r.send(errorReply(el, module.Err("item-not-found", "Recipient not in room"), r.jid.String()))
		return
	}
	msg := withoutChildren(el, NS, NSUser).Add(dom.New(NSUser, "x"))
	msg.Set("from", r.occJID(sender.nick))
	r.sendTo(target, msg)
}

// invite forwards a mediated invitation (section 7.8.2).
func (r *room) invite(el *dom.Element, from jid.JID, inv *dom.Element) {
	invitee, err := jid.Parse(inv.Get("to"))
	if err != nil {
		r.send(errorReply(el, module.ErrJIDMalformed, ""))
		return
	}
	inviter := r.occupantOf(from.String())
	aff := r.affOf(from.Bare().String())
	rl := r.defaultRole(aff)
	if inviter != nil {
		rl = inviter.role
	}
	need := affNone
	if !r.cfg.AllowInvites {
		need = affAdmin
	} else if r.cfg.MembersOnly {
		need = affMember
	}
	if rl <= roleVisitor || aff < need {
		r.send(errorReply(el, module.ErrForbidden, r.jid.String()))
		return
	}
	reason := inv.ChildText(NSUser, "reason")
	invFrom := from.String()
	if !r.cfg.WhoisAnyone && inviter != nil && r.defaultRole(r.affOf(invitee.Bare().String())) != roleModerator {
		invFrom = r.occJID(inviter.nick)
	}
	x := dom.New(NSUser, "x").Add(dom.New(NSUser, "invite", "from", invFrom).
		Add(dom.New(NSUser, "reason").SetText(reason)))
	if r.cfg.Password != "" {
		x.Add(dom.New(NSUser, "password").SetText(r.cfg.Password))
	}
	msg := withoutChildren(el, NS, NSUser).Set("from", r.jid.String()).Set("to", invitee.String())
	msg.Add(x, dom.New(nsConference, "x", "jid", r.jid.String()).SetText(reason))
	if msg.Child(module.NSClient, "body") == nil {
		body := invFrom + " invited you to the room " + r.jid.String()
		if reason != "" {
			body += " (" + reason + ")"
		}
		msg.Add(stanza("body").SetText(body))
	}
	if r.cfg.MembersOnly && r.affOf(invitee.Bare().String()) <= affNone {
		r.setAffiliation("", invitee.Bare().String(), affMember, "Invited by "+from.String(), nil)
	}
	r.send(msg)
}

// decline forwards a declined invitation (section 7.8.2).
func (r *room) decline(el *dom.Element, from jid.JID, dec *dom.Element) {
	to, err := jid.Parse(dec.Get("to"))
	if err != nil {
		r.send(errorReply(el, module.ErrJIDMalformed, ""))
		return
	}
	reason := dec.ChildText(NSUser, "reason")
	x := dom.New(NSUser, "x").Add(dom.New(NSUser, "decline", "from", from.String()).
		Add(dom.New(NSUser, "reason").SetText(reason)))
	msg := withoutChildren(el, NS, NSUser).Set("from", r.jid.String()).Add(x)
	if msg.Child(module.NSClient, "body") == nil {
		body := from.String() + " declined your invite to the room " + r.jid.String()
		if reason != "" {
			body += " (" + reason + ")"
		}
		msg.Add(stanza("body").SetText(body))
	}
	if to.Bare().Equal(r.jid) {
		if o := r.occupants[to.Resourcepart()]; o != nil {
			r.sendTo(o, msg)
			return
		}
	}
	r.send(msg.Set("to", to.String()))
}

// newID makes an id for a stanza that had none.
func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
