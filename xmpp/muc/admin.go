package muc

import (
	"sort"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// adminSet handles a muc#admin set: one affiliation or role change
// (XEP-0045 sections 9 and 8), with Prosody's compatibility rules (an
// affiliation given with a nick only applies to that occupant's JID; a
// nick with a JID reserves it).
func (r *room) adminSet(el *dom.Element, from jid.JID) *module.StanzaError {
	item := el.First().First()
	if item == nil {
		return module.ErrBadRequest
	}
	target, nick := item.Get("jid"), item.Get("nick")
	if target != "" {
		j, err := jid.Parse(target)
		if err != nil {
			return module.ErrJIDMalformed
		}
		if j.Resourcepart() != "" {
			return module.Err("jid-malformed", "Bare JID expected, got full JID")
		}
		target = j.String()
	}
	if nick != "" {
		n, se := prepNick(nick)
		if se != nil {
			return module.Err("jid-malformed", "invalid nickname")
		}
		nick = n
	}
	affS, roleS := item.Get("affiliation"), item.Get("role")
	if target == "" && nick != "" {
		if o := r.occupants[nick]; o != nil {
			target = o.bare
		}
	} else if roleS != "" && nick == "" && target != "" {
		if o := r.occupantOf(target); o != nil {
			nick = o.nick
		}
	}
	reason := item.ChildText(NSAdmin, "reason")
	switch {
	case affS != "" && target != "" && roleS == "":
		aff, ok := parseAffiliation(affS)
		if !ok {
			return module.ErrNotAcceptable
		}
		var reserve *string
		if item.Has("nick") {
			if o := r.occupants[nick]; o != nil && o.bare != target {
				r.setRole("", nick, roleNone, "This nickname is reserved")
			}
			reserve = &nick
		}
		return r.setAffiliation(from.String(), target, aff, reason, reserve)
	case roleS != "" && nick != "" && affS == "":
		rl, ok := parseRole(roleS)
		if !ok {
			return module.ErrNotAcceptable
		}
		return r.setRole(from.String(), nick, rl, reason)
	}
	return module.ErrBadRequest
}

// setAffiliation changes the affiliation of a bare JID (or a domain, for
// outcasts). actor is the full JID of who asked ("" for the room itself);
// reserve, when not nil, sets the reserved nickname ("" clears it).
func (r *room) setAffiliation(actor, target string, aff affiliation, reason string, reserve *string) *module.StanzaError {
	j, err := jid.Parse(target)
	if err != nil {
		return module.ErrNotAcceptable
	}
	target = j.Bare().String()
	if r.m.admins[target] && aff != affOwner {
		return module.ErrNotAcceptable
	}
	old := r.affs[target]
	downgrade := old > aff
	if se := r.mayAffiliate(actor, target, old, aff, downgrade); se != nil {
		return se
	}
	r.store(target, aff, reason, reserve)
	newRole := r.defaultRole(aff)
	var updated []*occupant
	prevRoles := map[*occupant]role{}
	for _, o := range r.list() {
		if o.bare != target && !(j.Localpart() == "" && aff == affOutcast && jidDomain(o.bare) == target) {
			continue
		}
		updated = append(updated, o)
		prevRoles[o] = o.role
		if o.role != newRole && (downgrade || o.role < newRole) {
			o.role = newRole
		}
	}
	var statuses []*dom.Element
	if newRole == roleNone {
		code := "321"
		if aff == affOutcast {
			code = "301"
		}
		statuses = append(statuses, status(code))
	}
	if len(updated) == 0 {
		r.announceAffiliation(target, aff, reason, statuses)
		return nil
	}
	for _, o := range updated {
		r.publicise(o, xset{base: statuses}, itemInfo{actor: actor, reason: reason}, prevRoles[o], false)
		wasMod, isMod := prevRoles[o] == roleModerator, o.role == roleModerator
		r.save(o)
		if o.role != roleNone && !r.cfg.WhoisAnyone && wasMod != isMod {
			// What the occupant may see of real JIDs changed.
			for _, s := range o.sessions {
				r.sendOccupantList(s.jid)
			}
		}
	}
	return nil
}

func jidDomain(bare string) string {
	if j, err := jid.Parse(bare); err == nil {
		return j.Domainpart()
	}
	return ""
}

// mayAffiliate applies the rules of XEP-0045 sections 9 and 10: owners
// may do anything but leave the room without an owner; admins may only
// change members, outcasts and unaffiliated users.
func (r *room) mayAffiliate(actor, target string, old, aff affiliation, downgrade bool) *module.StanzaError {
	if actor == "" {
		return nil
	}
	aj, err := jid.Parse(actor)
	if err != nil {
		return module.ErrNotAcceptable
	}
	switch r.affOf(aj.Bare().String()) {
	case affOwner:
		if aj.Bare().String() == target && downgrade {
			for b, a := range r.affs {
				if a == affOwner && b != target {
					return nil
				}
			}
			return module.Err("conflict", "")
		}
		return nil
	case affAdmin:
		if aff < affAdmin && old < affAdmin {
			return nil
		}
	}
	return module.ErrNotAllowed
}

// store records an affiliation and its data.
func (r *room) store(target string, aff affiliation, reason string, reserve *string) {
	if aff == affNone {
		delete(r.affs, target)
		delete(r.nicks, target)
		delete(r.reasons, target)
		return
	}
	r.affs[target] = aff
	if reason != "" {
		r.reasons[target] = reason
	}
	if reserve != nil {
		if *reserve == "" {
			delete(r.nicks, target)
		} else {
			r.nicks[target] = *reserve
		}
	}
}

// announceAffiliation tells the room of an affiliation change of someone
// who is not in it (XEP-0045 example 195); in semi-anonymous rooms only
// moderators see it.
func (r *room) announceAffiliation(target string, aff affiliation, reason string, statuses []*dom.Element) {
	item := dom.New(NSUser, "item", "affiliation", aff.String(), "jid", target)
	if reason != "" {
		item.Add(dom.New(NSUser, "reason").SetText(reason))
	}
	msg := stanza("message", "from", r.jid.String()).Add(dom.New(NSUser, "x").Add(copies(statuses)...).Add(item))
	for _, o := range r.list() {
		if r.cfg.WhoisAnyone || o.role == roleModerator {
			r.sendTo(o, msg)
		}
	}
}

// setRole changes an occupant's role (section 8); roleNone kicks (307).
func (r *room) setRole(actor, nick string, rl role, reason string) *module.StanzaError {
	o := r.occupants[nick]
	if o == nil {
		return module.Err("item-not-found", "")
	}
	if actor != "" {
		if se := r.mayRole(actor, o, rl); se != nil {
			return se
		}
	}
	var xs xset
	if rl == roleNone {
		xs.base = []*dom.Element{status("307")}
	}
	prev := o.role
	o.role = rl
	r.publicise(o, xs, itemInfo{actor: actor, reason: reason}, prev, false)
	r.save(o)
	return nil
}

func (r *room) mayRole(actor string, o *occupant, rl role) *module.StanzaError {
	aj, err := jid.Parse(actor)
	if err != nil {
		return module.ErrNotAcceptable
	}
	actAff := r.affOf(aj.Bare().String())
	if actAff < r.affOf(o.bare) {
		return module.ErrNotAllowed
	}
	if (o.role == roleModerator || rl == roleModerator) && actAff < affAdmin {
		return module.ErrNotAllowed
	}
	if a := r.occupantOf(actor); a == nil || a.role != roleModerator {
		return module.ErrNotAllowed
	}
	return nil
}

// adminGet returns an affiliation list (admins and up, or members of a
// members-only non-anonymous room) or a role list (moderators).
func (r *room) adminGet(el *dom.Element, from jid.JID) (*dom.Element, *module.StanzaError) {
	item := el.First().First()
	if item == nil {
		return nil, module.ErrBadRequest
	}
	actAff := r.affOf(from.Bare().String())
	q := dom.New(NSAdmin, "query")
	affS, roleS := item.Get("affiliation"), item.Get("role")
	if aff, ok := parseAffiliation(affS); ok && roleS == "" {
		if !(actAff >= affAdmin && actAff >= aff) && !(r.cfg.MembersOnly && r.cfg.WhoisAnyone && actAff >= affMember) {
			return nil, module.ErrForbidden
		}
		bares := make([]string, 0, len(r.affs))
		for b, a := range r.affs {
			if a == aff {
				bares = append(bares, b)
			}
		}
		sort.Strings(bares)
		for _, b := range bares {
			it := dom.New(NSAdmin, "item", "affiliation", affS, "jid", b)
			setOpt(it, "nick", r.nicks[b])
			if reason := r.reasons[b]; reason != "" {
				it.Add(dom.New(NSAdmin, "reason").SetText(reason))
			}
			q.Add(it)
		}
		return q, nil
	}
	rl, ok := parseRole(roleS)
	if !ok || affS != "" {
		return nil, module.ErrBadRequest
	}
	if a := r.occupantOf(from.String()); a == nil || a.role != roleModerator {
		return nil, module.ErrForbidden
	}
	for _, o := range r.list() {
		if o.role == rl {
			for _, it := range r.items(o, false, itemInfo{nick: o.nick}, "", "") {
				it.Space = NSAdmin
				q.Add(it)
			}
		}
	}
	return q, nil
}
