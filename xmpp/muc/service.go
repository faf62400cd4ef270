package muc

import (
	"context"
	"strings"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// destroyNode is the ad-hoc command (XEP-0050) service admins use to
// destroy rooms; its node is Prosody's, so admin tools work with both.
const destroyNode = "http://prosody.im/protocol/muc#destroy"

// service answers stanzas to the service domain itself: disco and the
// admin command. It returns the stanzas to route.
func (m *Module) service(el *dom.Element, st *module.Stanza) []*dom.Element {
	if st.Name != "iq" || (st.Type != "get" && st.Type != "set") {
		if st.Name == "message" && st.Type != "error" {
			return []*dom.Element{errorReply(el, module.ErrServiceUnavailable, "")}
		}
		return nil
	}
	q := el.First()
	if q == nil {
		return []*dom.Element{errorReply(el, module.ErrBadRequest, "")}
	}
	var (
		res *dom.Element
		out []*dom.Element
		se  *module.StanzaError
	)
	switch st.Type + " " + q.Space + " " + q.Local {
	case "get " + nsDiscoInfo + " query":
		res, se = m.serviceInfo(q)
	case "get " + nsDiscoItems + " query":
		res, se = m.serviceItems(q, st.From)
	case "set " + nsCommands + " command":
		res, out, se = m.command(q, st.From)
	default:
		se = module.ErrServiceUnavailable
	}
	if se != nil {
		return []*dom.Element{errorReply(el, se, "")}
	}
	return append(out, iqResult(el, res))
}

func (m *Module) serviceInfo(q *dom.Element) (*dom.Element, *module.StanzaError) {
	node := q.Get("node")
	res := dom.New(nsDiscoInfo, "query")
	switch node {
	case "":
		res.Add(dom.New(nsDiscoInfo, "identity", "category", "conference", "type", "text", "name", "Chatrooms"))
		for _, f := range []string{NS, nsDiscoInfo, nsDiscoItems, nsCommands} {
			res.Add(dom.New(nsDiscoInfo, "feature", "var", f))
		}
	case destroyNode:
		res.Set("node", node)
		res.Add(dom.New(nsDiscoInfo, "identity", "category", "automation", "type", "command-node", "name", "Destroy Rooms"),
			dom.New(nsDiscoInfo, "feature", "var", nsCommands))
	default:
		return nil, module.ErrItemNotFound
	}
	return res, nil
}

// serviceItems lists the public rooms, or the commands for admins.
func (m *Module) serviceItems(q *dom.Element, from jid.JID) (*dom.Element, *module.StanzaError) {
	res := dom.New(nsDiscoItems, "query")
	switch q.Get("node") {
	case "":
		for _, r := range m.snapshot() {
			r.mu.Lock()
			if r.cfg.Public && !r.gone {
				it := dom.New(nsDiscoItems, "item", "jid", r.jid.String())
				setOpt(it, "name", r.cfg.Name)
				res.Add(it)
			}
			r.mu.Unlock()
		}
	case nsCommands:
		res.Set("node", nsCommands)
		if m.admins[from.Bare().String()] {
			res.Add(dom.New(nsDiscoItems, "item", "jid", m.domain, "node", destroyNode, "name", "Destroy Rooms"))
		}
	default:
		return nil, module.ErrItemNotFound
	}
	return res, nil
}

// snapshot returns the rooms sorted by name, unlocked.
func (m *Module) snapshot() []*room {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*room, 0, len(m.rooms))
	for _, k := range sortedKeys(m.rooms) {
		out = append(out, m.rooms[k])
	}
	return out
}

// command runs the destroy command: without a form it returns the form,
// with one it destroys the rooms listed.
func (m *Module) command(q *dom.Element, from jid.JID) (*dom.Element, []*dom.Element, *module.StanzaError) {
	if q.Get("node") != destroyNode {
		return nil, nil, module.ErrItemNotFound
	}
	if !m.admins[from.Bare().String()] {
		return nil, nil, module.ErrForbidden
	}
	sid := q.Get("sessionid")
	if sid == "" {
		sid = newID()
	}
	res := dom.New(nsCommands, "command", "node", destroyNode, "sessionid", sid)
	if q.Get("action") == "cancel" {
		return res.Set("status", "canceled"), nil, nil
	}
	x := q.Child(nsData, "x")
	if x == nil {
		form := dom.New(nsData, "x", "type", "form").Add(
			dom.New(nsData, "title").SetText("Destroy rooms"),
			dom.New(nsData, "instructions").SetText("Select the rooms to destroy"),
			field("hidden", "FORM_TYPE", "", destroyNode),
			field("list-multi", "rooms", "Rooms to destroy:"))
		return res.Set("status", "executing").Add(form), nil, nil
	}
	var destroyed []string
	var out []*dom.Element
	for _, v := range formFields(x)["rooms"] {
		j, err := jid.Parse(strings.TrimSpace(v))
		if err != nil || j.Domainpart() != m.domain || j.Localpart() == "" {
			continue
		}
		r, _ := m.lockRoom(j.Localpart(), false)
		if r == nil {
			continue
		}
		r.destroy("", "", "")
		for _, it := range r.out {
			if it.to != "" {
				it.el = it.el.Copy().Set("to", it.to)
			}
			out = append(out, it.el)
		}
		r.out = nil
		m.release(context.Background(), r)
		destroyed = append(destroyed, r.jid.String())
	}
	note := dom.New(nsCommands, "note", "type", "info").
		SetText("The following rooms were destroyed:\n" + strings.Join(destroyed, "\n"))
	return res.Set("status", "completed").Add(note), out, nil
}
