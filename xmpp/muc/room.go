package muc

import (
	"crypto/rand"
	"sort"
	"sync"
	"time"

	"github.com/xmppd/xmppd/xmpp/dom"
	"mellium.im/xmpp/jid"
)

// affiliation is a long-lived relation to a room (XEP-0045 section 5.2),
// ordered so that comparisons rank them.
type affiliation int

const (
	affOutcast affiliation = iota - 1
	affNone
	affMember
	affAdmin
	affOwner
)

var affNames = map[affiliation]string{
	affOutcast: "outcast", affNone: "none", affMember: "member", affAdmin: "admin", affOwner: "owner",
}

func (a affiliation) String() string { return affNames[a] }

func parseAffiliation(s string) (affiliation, bool) {
	for a, n := range affNames {
		if n == s {
			return a, true
		}
	}
	return affNone, false
}

// role is an occupant's role for the time of its visit (section 5.1).
type role int

const (
	roleNone role = iota
	roleVisitor
	roleParticipant
	roleModerator
)

var roleNames = map[role]string{
	roleNone: "none", roleVisitor: "visitor", roleParticipant: "participant", roleModerator: "moderator",
}

func (r role) String() string { return roleNames[r] }

func parseRole(s string) (role, bool) {
	for r, n := range roleNames {
		if n == s {
			return r, true
		}
	}
	return roleNone, false
}

// config is the muc#roomconfig state of a room.
type config struct {
	Name, Desc    string
	Persistent    bool
	Public        bool
	MembersOnly   bool
	Moderated     bool
	Password      string
	WhoisAnyone   bool
	AllowInvites  bool
	ChangeSubject bool
	HistoryLength int
	// Broadcast lists the roles whose presence is broadcast (XEP-0045
	// muc#roomconfig_presencebroadcast); "none" adds offline members.
	Broadcast map[role]bool
}

// defaultHistory is the number of messages a room keeps unless configured.
const defaultHistory = 20

// maxHistory bounds muc#roomconfig_historylength, and maxHistoryBytes the
// memory the history of one room may hold.
const (
	maxHistory      = 200
	maxHistoryBytes = 1 << 20
)

func defaultConfig() config {
	return config{
		Public: true, AllowInvites: true, HistoryLength: defaultHistory,
		Broadcast: map[role]bool{roleVisitor: true, roleParticipant: true, roleModerator: true},
	}
}

// session is one client resource inside an occupant (several resources
// of one account may share a nickname).
type session struct {
	jid  jid.JID
	pres *dom.Element // last presence, MUC payloads removed
}

func (s *session) available() bool { return s.pres.Get("type") == "" }

// occupant is a nickname in the room and the sessions behind it.
type occupant struct {
	nick     string
	bare     string
	role     role
	seq      uint64     // join order
	sessions []*session // in join order
	primary  string     // full JID whose presence represents the occupant
}

func (o *occupant) session(full string) *session {
	for _, s := range o.sessions {
		if s.jid.String() == full {
			return s
		}
	}
	return nil
}

func (o *occupant) live() int {
	n := 0
	for _, s := range o.sessions {
		if s.available() {
			n++
		}
	}
	return n
}

// setSession records the presence of one session; an unavailable primary
// hands over to another live session when there is one.
func (o *occupant) setSession(full jid.JID, pres *dom.Element) {
	if s := o.session(full.String()); s != nil {
		s.pres = pres
	} else {
		o.sessions = append(o.sessions, &session{jid: full, pres: pres})
	}
	if o.primary == "" || (pres.Get("type") != "" && o.primary == full.String()) {
		o.primary = full.String()
		for _, s := range o.sessions {
			if s.available() {
				o.primary = s.jid.String()
				break
			}
		}
	}
}

// removeSession forgets one session.
func (o *occupant) removeSession(full string) {
	out := o.sessions[:0]
	for _, s := range o.sessions {
		if s.jid.String() != full {
			out = append(out, s)
		}
	}
	o.sessions = out
	if o.primary == full {
		o.primary = ""
		for _, s := range o.sessions {
			if s.available() {
				o.primary = s.jid.String()
				break
			}
		}
	}
}

// prune drops the sessions that left.
func (o *occupant) prune() {
	for _, s := range append([]*session(nil), o.sessions...) {
		if !s.available() {
			o.removeSession(s.jid.String())
		}
	}
}

// presence returns the presence representing the occupant.
func (o *occupant) presence() *dom.Element {
	if s := o.session(o.primary); s != nil {
		return s.pres
	}
	if len(o.sessions) > 0 {
		return o.sessions[0].pres
	}
	return nil
}

// histEntry is one message of the discussion history.
type histEntry struct {
	msg  *dom.Element // from the occupant JID, with <delay/>, no 'to'
	at   time.Time
	size int
}

// room is one chat room. Every field is guarded by mu; stanzas produced
// while handling one request are queued in out and routed, in order,
// before mu is released.
type room struct {
	mu    sync.Mutex
	m     *Module
	local string
	jid   jid.JID
	cfg   config
	// locked is true from creation until the owner configures the room
	// (XEP-0045 section 10.1).
	locked bool
	gone   bool
	salt   []byte

	occupants map[string]*occupant // by nickname
	byReal    map[string]string    // session full JID -> nickname
	seq       uint64

	affs    map[string]affiliation // bare JID (or domain) -> affiliation
	nicks   map[string]string      // bare JID -> reserved nickname
	reasons map[string]string      // bare JID -> reason of the affiliation

	subject, subjectFrom string
	subjectAt            time.Time
	history              []histEntry

	out   []outItem
	saved []byte // last state written to the store (persistent rooms)
}

func newRoom(m *Module, local string) *room {
	j, _ := jid.New(local, m.domain, "")
	salt := make([]byte, 16)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+)
	return &room{
		m: m, local: local, jid: j, cfg: defaultConfig(), salt: salt,
		occupants: map[string]*occupant{}, byReal: map[string]string{},
		affs: map[string]affiliation{}, nicks: map[string]string{}, reasons: map[string]string{},
	}
}

// send queues a stanza for routing.
func (r *room) send(el *dom.Element) { r.out = append(r.out, outItem{el: el}) }

// outItem is a stanza waiting to be routed: el with 'to' set to the given
// JID ("" when el has its own). Queued elements are shared between
// recipients and must not be modified.
type outItem struct {
	el *dom.Element
	to string
}

func items(els []*dom.Element) []outItem {
	out := make([]outItem, len(els))
	for i, el := range els {
		out[i] = outItem{el: el}
	}
	return out
}

func (r *room) occJID(nick string) string { return r.jid.String() + "/" + nick }

// occupantOf returns the occupant a session is in, or nil.
func (r *room) occupantOf(full string) *occupant {
	if n, ok := r.byReal[full]; ok {
		return r.occupants[n]
	}
	return nil
}

// list returns the occupants in join order.
func (r *room) list() []*occupant {
	out := make([]*occupant, 0, len(r.occupants))
	for _, o := range r.occupants {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// save stores an occupant and its session index; an occupant without a
// live session (or with role none) leaves the room.
func (r *room) save(o *occupant) {
	for full, n := range r.byReal {
		if n == o.nick {
			delete(r.byReal, full)
		}
	}
	o.prune()
	if o.role == roleNone || len(o.sessions) == 0 {
		if r.occupants[o.nick] == o {
			delete(r.occupants, o.nick)
		}
		return
	}
	if r.occupants[o.nick] != o {
		r.seq++
		o.seq = r.seq
		r.occupants[o.nick] = o
	}
	for _, s := range o.sessions {
		r.byReal[s.jid.String()] = o.nick
	}
}

// affOf returns the affiliation of a bare JID; service admins are owners
// of every room.
func (r *room) affOf(bare string) affiliation {
	if r.m.admins[bare] {
		return affOwner
	}
	if a, ok := r.affs[bare]; ok {
		return a
	}
	if j, err := jid.Parse(bare); err == nil && r.affs[j.Domainpart()] == affOutcast {
		return affOutcast
	}
	return affNone
}

// defaultRole is the role an affiliation gets on entering (section 5.1.2).
func (r *room) defaultRole(a affiliation) role {
	switch {
	case a >= affAdmin:
		return roleModerator
	case a == affNone && r.cfg.MembersOnly:
		return roleNone
	case a == affNone && r.cfg.Moderated:
		return roleVisitor
	case a >= affNone:
		return roleParticipant
	}
	return roleNone
}

// canSeeJIDs reports whether an occupant may see real JIDs (whois).
func (r *room) canSeeJIDs(o *occupant) bool {
	return r.cfg.WhoisAnyone || o.role == roleModerator
}

// anonymousFor reports whether real JIDs are hidden from a session.
func (r *room) anonymousFor(full jid.JID) bool {
	if r.cfg.WhoisAnyone || r.affOf(full.Bare().String()) >= affAdmin {
		return false
	}
	o := r.occupantOf(full.String())
	return o == nil || !r.canSeeJIDs(o)
}

// registeredJID returns who reserved a nickname, or "".
func (r *room) registeredJID(nick string) string {
	for bare, n := range r.nicks {
		if n == nick {
			return bare
		}
	}
	return ""
}

// empty reports whether nobody is in the room.
func (r *room) empty() bool { return len(r.occupants) == 0 }
