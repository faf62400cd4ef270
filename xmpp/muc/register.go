package muc

import (
	"strconv"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// registrationForm is the muc#register form (XEP-0045 section 7.10).
func registrationForm() *dom.Element {
	nick := field("text-single", "muc#register_roomnick", "Nickname")
	nick.Add(dom.New(nsData, "required"))
	return dom.New(nsData, "x", "type", "form").Add(
		field("hidden", "FORM_TYPE", "", nsMUCRegister), nick)
}

// register handles jabber:iq:register sent to a room: affiliated users
// reserve a nickname (becoming members when unaffiliated is not allowed,
// only affiliated users may register) or cancel their registration.
func (r *room) register(el *dom.Element, from jid.JID) (*dom.Element, *module.StanzaError) {
	bare := from.Bare().String()
	aff := r.affOf(bare)
	switch {
	case aff == affOutcast:
		return nil, module.ErrForbidden
	case aff == affNone:
		return nil, module.Err("registration-required", "")
	}
	q := dom.New(nsRegister, "query")
	if el.Get("type") == "get" {
		if n := r.nicks[bare]; n != "" {
			return q.Add(dom.New(nsRegister, "registered"), dom.New(nsRegister, "username").SetText(n)), nil
		}
		return q.Add(registrationForm()), nil
	}
	query := el.First()
	if query.Child(nsRegister, "remove") != nil {
		next := affNone
		if aff != affMember {
			next = aff
		}
		empty := ""
		return nil, r.setAffiliation("", bare, next, "", &empty)
	}
	x := query.Child(nsData, "x")
	if x == nil {
		return nil, module.Err("bad-request", "Missing dataform")
	}
	f := formFields(x)
	if first(f["FORM_TYPE"]) != nsMUCRegister {
		return nil, module.Err("bad-request", "Error in form")
	}
	nick, se := prepNick(first(f["muc#register_roomnick"]))
	if se != nil {
		return nil, module.Err("bad-request", "Invalid Nickname")
	}
	if o := r.occupants[nick]; o != nil && o.bare != bare {
		return nil, module.Err("conflict", "")
	}
	if owner := r.registeredJID(nick); owner != "" && owner != bare {
		return nil, module.Err("conflict", "")
	}
	if r.nicks[bare] != nick {
		if aff == affNone {
			aff = affMember
		}
		return nil, r.setAffiliation("", bare, aff, "", &nick)
	}
	return nil, nil
}

// discoInfo answers disco#info on the room (section 6.4), and the
// x-roomuser-item node with the asker's reserved nickname (section 7.12).
func (r *room) discoInfo(el *dom.Element, from jid.JID) (*dom.Element, *module.StanzaError) {
	node := el.First().Get("node")
	q := dom.New(nsDiscoInfo, "query")
	setOpt(q, "node", node)
	switch node {
	case "":
	case "x-roomuser-item":
		if n := r.nicks[from.Bare().String()]; n != "" {
			q.Add(dom.New(nsDiscoInfo, "identity", "category", "conference", "type", "text", "name", n))
		}
		return q, nil
	default:
		return nil, module.ErrItemNotFound
	}
	name := r.cfg.Name
	if name == "" {
		name = r.local
	}
	q.Add(dom.New(nsDiscoInfo, "identity", "category", "conference", "type", "text", "name", name))
	c := r.cfg
	feats := []string{NS, nsStableID, nsDiscoInfo, nsDiscoItems, nsRegister,
		pick(c.WhoisAnyone, "muc_nonanonymous", "muc_semianonymous"),
		pick(c.MembersOnly, "muc_membersonly", "muc_open"),
		pick(c.Moderated, "muc_moderated", "muc_unmoderated"),
		pick(c.Password != "", "muc_passwordprotected", "muc_unsecured"),
		pick(c.Persistent, "muc_persistent", "muc_temporary"),
		pick(c.Public, "muc_public", "muc_hidden")}
	for _, f := range feats {
		q.Add(dom.New(nsDiscoInfo, "feature", "var", f))
	}
	x := dom.New(nsData, "x", "type", "result").Add(
		field("hidden", "FORM_TYPE", "", nsRoomInfo),
		field("", "muc#roominfo_description", "Description", c.Desc),
		field("", "muc#roominfo_subject", "Subject", r.subject),
		field("", "muc#roominfo_occupants", "Number of occupants", strconv.Itoa(len(r.occupants))),
		field("boolean", "muc#roomconfig_changesubject", "", boolValue(c.ChangeSubject)))
	return q.Add(x), nil
}

func pick(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}
