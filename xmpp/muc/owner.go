package muc

import (
	"sort"
	"strconv"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// Config form fields (XEP-0045 section 15.5.3, muc#roomconfig).
const (
	fRoomName      = "muc#roomconfig_roomname"
	fRoomDesc      = "muc#roomconfig_roomdesc"
	fPersistent    = "muc#roomconfig_persistentroom"
	fPublic        = "muc#roomconfig_publicroom"
	fMembersOnly   = "muc#roomconfig_membersonly"
	fModerated     = "muc#roomconfig_moderatedroom"
	fPasswordProt  = "muc#roomconfig_passwordprotectedroom"
	fSecret        = "muc#roomconfig_roomsecret"
	fWhois         = "muc#roomconfig_whois"
	fAllowInvites  = "muc#roomconfig_allowinvites"
	fChangeSubject = "muc#roomconfig_changesubject"
	fHistoryLength = "muc#roomconfig_historylength"
	fBroadcast     = "muc#roomconfig_presencebroadcast"
)

// configForm is the form an owner fills in (section 10.2).
func (r *room) configForm() *dom.Element {
	c := r.cfg
	x := dom.New(nsData, "x", "type", "form")
	x.Add(dom.New(nsData, "title").SetText("Configuration for "+r.jid.String()),
		dom.New(nsData, "instructions").SetText("Complete and submit this form to configure the room."),
		field("hidden", "FORM_TYPE", "", NSRoomConfig),
		field("text-single", fRoomName, "Title", c.Name),
		field("text-single", fRoomDesc, "Description", c.Desc),
		field("boolean", fPersistent, "Persistent (kept when empty)", boolValue(c.Persistent)),
		field("boolean", fPublic, "Include in public lists", boolValue(c.Public)),
		field("boolean", fMembersOnly, "Only allow members to join", boolValue(c.MembersOnly)),
		field("boolean", fModerated, "Moderated (require permission to speak)", boolValue(c.Moderated)),
		field("boolean", fPasswordProt, "Password protected", boolValue(c.Password != "")),
		field("text-private", fSecret, "Password", c.Password))
	whois := field("list-single", fWhois, "Addresses (JIDs) of room occupants may be viewed by:", "moderators")
	if c.WhoisAnyone {
		whois = field("list-single", fWhois, "Addresses (JIDs) of room occupants may be viewed by:", "anyone")
	}
	whois.Add(option("Moderators only", "moderators"), option("Anyone", "anyone"))
	bc := field("list-multi", fBroadcast, "Only show participants with roles:")
	for _, rl := range []role{roleNone, roleVisitor, roleParticipant, roleModerator} {
		if c.Broadcast[rl] {
			bc.Add(dom.New(nsData, "value").SetText(rl.String()))
		}
	}
	for _, rl := range []role{roleModerator, roleParticipant, roleVisitor, roleNone} {
		bc.Add(option(rl.String(), rl.String()))
	}
	x.Add(whois,
		field("boolean", fAllowInvites, "Allow occupants to invite others", boolValue(c.AllowInvites)),
		field("boolean", fChangeSubject, "Allow anyone to set the room's subject", boolValue(c.ChangeSubject)),
		field("text-single", fHistoryLength, "Maximum number of history messages returned by room", strconv.Itoa(c.HistoryLength)),
		bc)
	return x
}

func option(label, value string) *dom.Element {
	return dom.New(nsData, "option", "label", label).Add(dom.New(nsData, "value").SetText(value))
}

// ownerSet handles a muc#owner set: a submitted or cancelled config form,
// or the destruction of the room (section 10.9).
func (r *room) ownerSet(el *dom.Element, from jid.JID) {
	if r.affOf(from.Bare().String()) != affOwner {
		r.send(errorReply(el, module.Err("forbidden", "Only owners can configure rooms"), ""))
		return
	}
	child := el.First().First()
	switch {
	case child == nil:
		r.send(errorReply(el, module.ErrBadRequest, ""))
	case child.Local == "destroy":
		r.destroy(child.Get("jid"), child.ChildText("", "reason"), child.ChildText("", "password"))
		r.send(iqResult(el, nil))
	case child.Local == "x" && child.Space == nsData:
		r.submitConfig(el, from, child)
	default:
		r.send(errorReply(el, module.ErrServiceUnavailable, ""))
	}
}

// submitConfig applies a config form. An empty submission accepts the
// defaults (instant room, section 10.1.2); either unlocks the room.
func (r *room) submitConfig(el *dom.Element, from jid.JID, x *dom.Element) {
	switch x.Get("type") {
	case "cancel":
		r.send(iqResult(el, nil))
		return
	case "submit":
	default:
		r.send(errorReply(el, module.Err("bad-request", "Not a submitted form"), ""))
		return
	}
	f := formFields(x)
	if len(f) > 0 && first(f["FORM_TYPE"]) != NSRoomConfig {
		r.send(errorReply(el, module.Err("bad-request", "Form is not of type room configuration"), ""))
		return
	}
	old := r.cfg
	next, err := applyConfig(old, f)
	if err != nil {
		r.send(errorReply(el, err, ""))
		return
	}
	r.cfg = next
	r.locked = false
	r.send(iqResult(el, nil))
	codes := configCodes(old, next)
	r.configChanged(old, next)
	if len(codes) > 0 {
		x := dom.New(NSUser, "x")
		for _, c := range codes {
			x.Add(status(c))
		}
		r.broadcast(stanza("message", "type", "groupchat", "from", r.jid.String()).Add(x))
	}
}

// applyConfig returns c with the submitted fields applied.
func applyConfig(c config, f map[string][]string) (config, *module.StanzaError) {
	bools := map[string]*bool{
		fPersistent: &c.Persistent, fPublic: &c.Public, fMembersOnly: &c.MembersOnly,
		fModerated: &c.Moderated, fAllowInvites: &c.AllowInvites, fChangeSubject: &c.ChangeSubject,
	}
	for name, p := range bools {
		if v, ok := f[name]; ok {
			b, valid := parseBool(first(v))
			if !valid {
				return c, module.Err("not-acceptable", "Invalid value for "+name)
			}
			*p = b
		}
	}
	if v, ok := f[fRoomName]; ok {
		c.Name = first(v)
	}
	if v, ok := f[fRoomDesc]; ok {
		c.Desc = first(v)
	}
	if v, ok := f[fSecret]; ok {
		c.Password = first(v)
	}
	if v, ok := f[fPasswordProt]; ok {
		if b, _ := parseBool(first(v)); !b {
			c.Password = ""
		}
	}
	if v, ok := f[fWhois]; ok {
		switch first(v) {
		case "anyone":
			c.WhoisAnyone = true
		case "moderators":
			c.WhoisAnyone = false
		default:
			return c, module.Err("not-acceptable", "Invalid value for "+fWhois)
		}
	}
	if v, ok := f[fHistoryLength]; ok && first(v) != "" {
		n, err := strconv.Atoi(first(v))
		if err != nil || n < 0 {
			return c, module.Err("not-acceptable", "Invalid value for "+fHistoryLength)
		}
		c.HistoryLength = min(n, maxHistory)
	}
	if v, ok := f[fBroadcast]; ok {
		c.Broadcast = map[role]bool{}
		for _, s := range v {
			if rl, ok := parseRole(s); ok {
				c.Broadcast[rl] = true
			}
		}
	}
	return c, nil
}

// configCodes are the status codes announcing a configuration change
// (section 10.2.1): 104, and 172/173 when real JIDs become visible or not.
func configCodes(old, next config) []string {
	var codes []string
	same := old.Name == next.Name && old.Desc == next.Desc && old.Persistent == next.Persistent &&
		old.Public == next.Public && old.MembersOnly == next.MembersOnly && old.Moderated == next.Moderated &&
		old.Password == next.Password && old.AllowInvites == next.AllowInvites &&
		old.ChangeSubject == next.ChangeSubject && old.HistoryLength == next.HistoryLength &&
		sameRoles(old.Broadcast, next.Broadcast)
	if !same {
		codes = append(codes, "104")
	}
	if old.WhoisAnyone != next.WhoisAnyone {
		if next.WhoisAnyone {
			codes = append(codes, "172")
		} else {
			codes = append(codes, "173")
		}
	}
	return codes
}

func sameRoles(a, b map[role]bool) bool {
	for _, rl := range []role{roleNone, roleVisitor, roleParticipant, roleModerator} {
		if a[rl] != b[rl] {
			return false
		}
	}
	return true
}

// configChanged applies the side effects of a new configuration: non-
// members leave a room that became members-only (status 322), presence
// broadcast changes are announced, history is trimmed.
func (r *room) configChanged(old, next config) {
	if next.MembersOnly && !old.MembersOnly {
		for _, o := range r.list() {
			if r.affOf(o.bare) <= affNone {
				prev := o.role
				o.role = roleNone
				r.publicise(o, xset{base: []*dom.Element{status("322")}}, itemInfo{}, prev, false)
				r.save(o)
			}
		}
	}
	if !sameRoles(old.Broadcast, next.Broadcast) {
		for _, o := range r.list() {
			switch {
			case next.Broadcast[o.role] && !old.Broadcast[o.role]:
				r.publicise(o, xset{}, itemInfo{}, roleNone, false)
			case old.Broadcast[o.role] && !next.Broadcast[o.role]:
				r.publicise(o, xset{}, itemInfo{}, roleNone, true)
			}
		}
	}
	if n := len(r.history) - next.HistoryLength; n > 0 {
		r.history = append(r.history[:0], r.history[n:]...)
	}
}

// destroy removes everyone (section 10.9) and marks the room gone.
func (r *room) destroy(newJID, reason, password string) {
	d := dom.New(NSUser, "destroy")
	setOpt(d, "jid", newJID)
	if reason != "" {
		d.Add(dom.New(NSUser, "reason").SetText(reason))
	}
	if password != "" {
		d.Add(dom.New(NSUser, "password").SetText(password))
	}
	list := r.list()
	prev := map[*occupant]role{}
	for _, o := range list {
		prev[o] = o.role
		o.role = roleNone
		delete(r.occupants, o.nick)
	}
	for _, o := range list {
		r.publicise(o, xset{base: []*dom.Element{d}}, itemInfo{}, prev[o], false)
	}
	r.byReal = map[string]string{}
	r.gone = true
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
