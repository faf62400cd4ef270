// Package muc implements XEP-0045: Multi-User Chat, the conference service
// of the server (conf.Services.Conference; nothing runs when it is empty).
//
// The server hands every stanza to the service domain or a JID at it to
// the handler registered with Registry.HandleDomain; the module answers
// through Host.Route. A room is created by the first join carrying the
// MUC <x/>, owned by its creator and locked until the owner submits the
// configuration form (an empty submission makes an instant room). Where
// XEP-0045 leaves a choice the module does what Prosody's mod_muc does,
// and the tests replay Prosody's MUC transcripts (testdata/*.scs) with
// the matching rules of the conformance runner. Decisions:
//
//   - Rooms are semi-anonymous by default (real JIDs for moderators);
//     service admins (conf.Server.Admins) are owners of every room and
//     alone may run the room destruction ad-hoc command on the service.
//   - Temporary rooms live in memory and disappear with their last
//     occupant. Persistent rooms keep configuration, affiliations,
//     reserved nicknames and subject in the directory's data store (see
//     persist.go); occupants and history are not kept across restarts.
//   - The last muc#roomconfig_historylength messages with a body (20 by
//     default, at most 200) are replayed on join with an XEP-0203 delay.
//   - Nicknames follow the PRECIS Nickname profile after the stringprep
//     "mapped to nothing" characters are removed, and must use characters
//     of Unicode 4.1 as strict stringprep requires (no emoji).
//   - A presence or kickable message error from an occupant removes that
//     session (status 333); the error text is shown only in rooms where
//     real JIDs are public.
//   - Mediated invitations show the inviter's occupant JID in
//     semi-anonymous rooms; in members-only rooms an invitation grants
//     membership, and needs membership to send when invites are allowed
//     (admin otherwise).
package muc

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// Namespaces of XEP-0045 and of the payloads a room uses.
const (
	NS           = "http://jabber.org/protocol/muc"
	NSUser       = NS + "#user"
	NSAdmin      = NS + "#admin"
	NSOwner      = NS + "#owner"
	NSRoomConfig = NS + "#roomconfig"

	nsUser        = NSUser
	nsRoomInfo    = NS + "#roominfo"
	nsMUCRegister = NS + "#register"
	nsStableID    = NS + "#stable_id"
	nsRegister    = "jabber:iq:register"
	nsData        = "jabber:x:data"
	nsDelay       = "urn:xmpp:delay"
	nsHints       = "urn:xmpp:hints"
	nsConference  = "jabber:x:conference"
	nsDiscoInfo   = "http://jabber.org/protocol/disco#info"
	nsDiscoItems  = "http://jabber.org/protocol/disco#items"
	nsCommands    = "http://jabber.org/protocol/commands"
	nsPing        = "urn:xmpp:ping"
)

// Module is the conference service.
type Module struct {
	host   module.Host
	log    *slog.Logger
	domain string
	admins map[string]bool

	mu    sync.Mutex
	rooms map[string]*room // by localpart

	pmu       sync.Mutex      // guards persisted; taken with a room locked
	persisted map[string]bool // rooms written to the store

	wg sync.WaitGroup // asynchronous routes back into the service
}

var _ module.Module = (*Module)(nil)

// New returns the module; it reads its configuration in Start.
func New() *Module { return &Module{rooms: map[string]*room{}, persisted: map[string]bool{}} }

// Name implements module.Module.
func (m *Module) Name() string { return "muc" }

// Start implements module.Module: it serves the conference domain, or
// does nothing when none is configured.
func (m *Module) Start(ctx context.Context, h module.Host, r *module.Registry) error {
	m.host, m.log = h, h.Logger()
	cfg := h.Config()
	m.domain = cfg.Services.Conference
	m.admins = map[string]bool{}
	for _, a := range cfg.Server.Admins {
		if j, err := jid.Parse(a); err == nil {
			m.admins[j.Bare().String()] = true
		}
	}
	if m.domain == "" {
		return nil
	}
	if err := m.load(ctx); err != nil {
		return fmt.Errorf("muc: load persistent rooms: %w", err)
	}
	r.HandleDomain(m.domain, m.handle)
	return nil
}

// Stop implements module.Module: it waits for routes still under way.
func (m *Module) Stop(ctx context.Context) error {
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handle receives every stanza addressed to the service or a JID at it.
func (m *Module) handle(ctx context.Context, st *module.Stanza) {
	parsed, err := st.Element()
	if err != nil {
		m.log.Debug("muc: unparsable stanza", "from", st.From.String(), "err", err)
		return
	}
	el := normalize(parsed.Copy())
	el.Set("from", st.From.String())
	if st.To.Localpart() == "" {
		m.flush(ctx, items(m.service(el, st)))
		return
	}
	local, nick := st.To.Localpart(), st.To.Resourcepart()
	create := st.Name == "presence" && st.Type == "" && nick != "" && el.Child(NS, "x") != nil
	r, created := m.lockRoom(local, create)
	if r == nil {
		if st.Type != "error" && !(st.Name == "presence" && st.Type == "unavailable") {
			m.flush(ctx, items([]*dom.Element{errorReply(el, module.ErrItemNotFound, m.domain)}))
		}
		return
	}
	if created {
		r.create(el, st.From)
	}
	r.dispatch(el, st, nick, created)
	m.release(ctx, r)
}

// lockRoom returns the room locked, creating it when asked.
func (m *Module) lockRoom(local string, create bool) (*room, bool) {
	for {
		created := false
		m.mu.Lock()
		r := m.rooms[local]
		if r == nil && create {
			r = newRoom(m, local)
			m.rooms[local] = r
			created = true
		}
		m.mu.Unlock()
		if r == nil {
			return nil, false
		}
		r.mu.Lock()
		if !r.gone {
			return r, created
		}
		r.mu.Unlock()
	}
}

// release routes what the room produced, in order, forgets the room if it
// is gone or empty and temporary, and unlocks it.
func (m *Module) release(ctx context.Context, r *room) {
	out := r.out
	r.out = nil
	if r.empty() && !r.cfg.Persistent {
		r.gone = true
	}
	m.persist(ctx, r)
	if r.gone {
		m.mu.Lock()
		if m.rooms[r.local] == r {
			delete(m.rooms, r.local)
		}
		m.mu.Unlock()
	}
	m.flush(ctx, out)
	r.mu.Unlock()
}

// flush routes stanzas. An element shared by several recipients is
// serialised once and only 'to' differs. A stanza addressed back to the
// service is routed from another goroutine: the core calls the service
// handler in line.
func (m *Module) flush(ctx context.Context, out []outItem) {
	var last *dom.Element
	var body []byte
	for _, it := range out {
		if it.el != last {
			last, body = it.el, it.el.Append(nil, module.NSClient)
		}
		raw, to := body, it.to
		if to != "" {
			raw = withTo(body, len(it.el.Local)+1, to)
		} else {
			to = it.el.Get("to")
			raw = append([]byte(nil), body...)
		}
		if domainOf(to) == m.domain {
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				m.route(context.WithoutCancel(ctx), raw)
			}()
			continue
		}
		m.route(ctx, raw)
	}
}

// domainOf returns the domain of a JID this module wrote (no parsing:
// PRECIS is too slow to run once per recipient).
func domainOf(j string) string {
	if i := strings.IndexByte(j, '/'); i >= 0 {
		j = j[:i]
	}
	if i := strings.IndexByte(j, '@'); i >= 0 {
		j = j[i+1:]
	}
	return j
}

// withTo inserts a 'to' attribute after the element name (at offset n).
func withTo(body []byte, n int, to string) []byte {
	b := make([]byte, 0, len(body)+len(to)+6)
	b = append(b, body[:n]...)
	b = append(b, " to='"...)
	b = dom.EscapeAttr(b, to)
	b = append(b, '\'')
	return append(b, body[n:]...)
}

func (m *Module) route(ctx context.Context, raw []byte) {
	if err := m.host.Route(ctx, raw); err != nil {
		m.log.Debug("muc: route", "err", err)
	}
}

// create sets up a room made by its first join (section 10.1): the
// creator owns it, and it stays locked until configured.
func (r *room) create(el *dom.Element, from jid.JID) {
	r.affs[from.Bare().String()] = affOwner
	if x := el.Child(NS, "x"); x != nil {
		r.locked = true
		r.cfg.Password = x.ChildText(NS, "password")
	}
}

// dispatch hands a stanza to the room or occupant handler.
func (r *room) dispatch(el *dom.Element, st *module.Stanza, nick string, created bool) {
	switch {
	case st.Name == "presence" && nick == "":
		r.presenceToRoom(el, st.From)
	case st.Name == "presence":
		r.presenceToOccupant(el, st.From, nick, created)
	case st.Name == "message" && nick == "":
		r.messageToRoom(el, st.From)
	case st.Name == "message":
		r.messageToOccupant(el, st.From, nick)
	case st.Name == "iq" && nick == "":
		r.iqToRoom(el, st.From)
	case st.Name == "iq":
		r.iqToOccupant(el, st.From, nick)
	}
}

// iqToRoom answers the IQs a room serves.
func (r *room) iqToRoom(el *dom.Element, from jid.JID) {
	typ := el.Get("type")
	q := el.First()
	if typ == "result" || typ == "error" {
		return
	}
	if q == nil || (typ != "get" && typ != "set") {
		r.send(errorReply(el, module.ErrBadRequest, ""))
		return
	}
	var (
		res *dom.Element
		se  *module.StanzaError
	)
	switch key := typ + " " + q.Space + " " + q.Local; key {
	case "get " + nsDiscoInfo + " query":
		res, se = r.discoInfo(el, from)
	case "get " + nsDiscoItems + " query":
		res = dom.New(nsDiscoItems, "query")
		setOpt(res, "node", q.Get("node"))
	case "get " + NSAdmin + " query":
		res, se = r.adminGet(el, from)
	case "set " + NSAdmin + " query":
		se = r.adminSet(el, from)
	case "get " + NSOwner + " query":
		if r.affOf(from.Bare().String()) != affOwner {
			se = module.Err("forbidden", "Only owners can configure rooms")
		} else {
			res = dom.New(NSOwner, "query").Add(r.configForm())
		}
	case "set " + NSOwner + " query":
		r.ownerSet(el, from)
		return
	case "get " + nsRegister + " query", "set " + nsRegister + " query":
		res, se = r.register(el, from)
	default:
		se = module.ErrServiceUnavailable
	}
	if se != nil {
		r.send(errorReply(el, se, ""))
		return
	}
	r.send(iqResult(el, res))
}

// prepNick applies the nickname rules: the PRECIS Nickname profile (RFC
// 8266) after removing the characters stringprep maps to nothing, and
// Prosody's strict check (see nick.go).
func prepNick(s string) (string, *module.StanzaError) {
	n, err := nickprep(s)
	if err != nil {
		if strings.TrimSpace(s) == "" {
			return "", module.Err("not-allowed", "Invisible Nicknames are forbidden")
		}
		return "", module.Err("jid-malformed", "Nickname must pass strict validation")
	}
	return n, nil
}
