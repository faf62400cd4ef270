package server

import (
	"context"
	"errors"
	"hash/fnv"
	"sync"

	"github.com/xmppd/xmppd/archive"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// userLock returns the lock that orders offline storage against a user's
// availability changes (striped by bare JID).
func (s *Server) userLock(bare string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(bare))
	return &s.userLocks[h.Sum32()%uint32(len(s.userLocks))]
}

// router holds the bound sessions of local accounts, by bare JID. The
// slices are copied on write so readers can use them after unlocking.
type router struct {
	mu    sync.RWMutex
	users map[string][]*session
}

func (r *router) init() { r.users = map[string][]*session{} }

// sessions returns the bound sessions of a bare JID (do not modify).
func (r *router) sessions(bare string) []*session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.users[bare]
}

// find returns the session bound to a full JID.
func (r *router) find(full jid.JID) *session {
	res := full.Resourcepart()
	for _, s := range r.sessions(full.Bare().String()) {
		if s.jid.Resourcepart() == res {
			return s
		}
	}
	return nil
}

// bind binds a resource for sess. An existing session with the same
// resource is replaced (it gets a <conflict/> stream error).
func (s *Server) bind(sess *session, res string) (jid.JID, string) {
	if res == "" {
		res = newSessionID()
	}
	full, err := jid.New(jid.MustParse(sess.user).Localpart(), sess.domain, res)
	if err != nil {
		return jid.JID{}, "bad-request"
	}
	r := &s.router
	r.mu.Lock()
	list := r.users[sess.user]
	var old *session
	next := make([]*session, 0, len(list)+1)
	for _, o := range list {
		if o.jid.Resourcepart() == full.Resourcepart() {
			old = o
			continue
		}
		next = append(next, o)
	}
	if len(next) >= s.cfg.C2S.MaxResources {
		r.mu.Unlock()
		return jid.JID{}, "resource-constraint"
	}
	sess.mu.Lock()
	sess.jid = full
	sess.bound = true
	sess.mu.Unlock()
	r.users[sess.user] = append(next, sess)
	r.mu.Unlock()
	if old != nil {
		// The old session's unavailable presence must go out before the
		// new one can announce itself; then the old stream is closed.
		old.mu.Lock()
		old.bound = false
		old.mu.Unlock()
		s.sessionEnded(old)
		old.kick("conflict", "replaced by a new session")
	}
	return full, ""
}

// unbind removes an ending session and reroutes its unwritten messages.
func (s *Server) unbind(sess *session, lost []outItem) {
	r := &s.router
	r.mu.Lock()
	list := r.users[sess.user]
	found := false
	next := make([]*session, 0, len(list))
	for _, o := range list {
		if o == sess {
			found = true
			continue
		}
		next = append(next, o)
	}
	if len(next) == 0 {
		delete(r.users, sess.user)
	} else {
		r.users[sess.user] = next
	}
	r.mu.Unlock()
	if found {
		s.sessionEnded(sess)
	}
	ctx := s.baseCtx
	for _, it := range lost {
		st, err := parseStanza(it.raw)
		if err != nil {
			continue
		}
		// Written for this session, never sent: deliver elsewhere or keep
		// offline, as if the session had not been there.
		s.deliverBareMessage(ctx, st, sess.user)
	}
}

// sessionEnded runs the ended hooks (presence unavailable, last activity).
func (s *Server) sessionEnded(sess *session) {
	info := sess.sessionInfo()
	for _, h := range s.reg.EndedHooks() {
		h(s.baseCtx, info)
	}
}

func (sess *session) sessionInfo() module.SessionInfo {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return module.SessionInfo{
		JID: sess.jid, Priority: sess.priority, Available: sess.available,
		Presence: sess.presence, PresenceAt: sess.presenceAt,
		RosterRequested: sess.rosterRequested, Carbons: sess.carbons,
	}
}

// handleElement processes one top-level element from a bound session.
func (s *Server) handleElement(ctx context.Context, sess *session, el *element) error {
	name := el.start.Name.Local
	if el.start.Name.Space != nsClient || (name != "message" && name != "presence" && name != "iq") {
		return newStreamErr("unsupported-stanza-type", "")
	}
	st, err := sess.stamp.build(el)
	if err != nil {
		if st.Type != "error" {
			sess.send(st.ErrorReply(err), false)
		}
		return nil
	}
	if name == "iq" {
		if err := checkIQ(st); err != nil {
			if st.Type != "error" && st.Type != "result" {
				sess.send(st.ErrorReply(err), false)
			}
			return nil
		}
	}
	for _, f := range s.reg.Outbound() {
		if err := f(ctx, st); err != nil {
			s.bounce(st, err)
			return nil
		}
	}
	if name == "message" {
		s.copySent(st, sess)
	}
	if name == "presence" && s.presence != nil {
		if err := s.presence.Outbound(ctx, st); err != nil {
			s.log.Warn("presence handling failed", "err", err)
		}
		return nil
	}
	s.route(ctx, st)
	return nil
}

// checkIQ applies RFC 6120 8.2.3: a type, an id, one payload for get/set.
func checkIQ(st *module.Stanza) error {
	switch st.Type {
	case "get", "set":
		el, err := st.Element()
		if err != nil || len(el.Children) != 1 || st.ID == "" {
			return module.ErrBadRequest
		}
	case "result", "error":
		if st.ID == "" {
			return module.ErrBadRequest
		}
	default:
		return module.ErrBadRequest
	}
	return nil
}

// bounce answers st with an error, unless st is itself an error or result.
func (s *Server) bounce(st *module.Stanza, err error) {
	if errors.Is(err, module.ErrDrop) || st.Type == "error" || st.Type == "result" || st.Name == "presence" {
		return
	}
	if st.From.Localpart() == "" || !s.domains[st.From.Domainpart()] {
		return
	}
	s.deliverTo(st.From, st.ErrorReply(err))
}

// route delivers a stanza per RFC 6121 section 8.
func (s *Server) route(ctx context.Context, st *module.Stanza) {
	s.stats.routed.Add(1)
	to := st.To
	if to.Equal(jid.JID{}) {
		switch st.Name {
		case "iq":
			s.handleIQ(ctx, st, module.ToAccount)
			return
		case "message":
			to = st.From.Bare()
		default:
			return
		}
	}
	if !s.domains[to.Domainpart()] {
		if h := s.reg.Service(to.Domainpart()); h != nil {
			h(ctx, st)
			return
		}
		s.bounce(st, module.Err("remote-server-not-found", "federation is not enabled"))
		return
	}
	if to.Localpart() == "" {
		if to.Resourcepart() == "" && st.Name == "iq" {
			s.handleIQ(ctx, st, module.ToHost)
			return
		}
		if st.Name == "iq" {
			s.bounce(st, module.ErrServiceUnavailable)
		}
		return
	}
	for _, f := range s.reg.Inbound() {
		if err := f(ctx, st); err != nil {
			s.bounce(st, err)
			return
		}
	}
	if st.Name == "presence" {
		if s.presence != nil {
			if err := s.presence.Inbound(ctx, st); err != nil {
				s.log.Warn("presence handling failed", "err", err)
			}
		}
		return
	}
	if to.Resourcepart() != "" {
		s.routeFull(ctx, st, to)
		return
	}
	bare := to.String()
	switch st.Name {
	case "iq":
		if st.Type != "get" && st.Type != "set" {
			return
		}
		if len(s.router.sessions(bare)) == 0 && bare != st.From.Bare().String() {
			if ok, err := s.store.Exists(ctx, bare); err != nil || !ok {
				s.bounce(st, module.ErrServiceUnavailable)
				return
			}
		}
		s.handleIQ(ctx, st, module.ToAccount)
	case "message":
		s.deliverBareMessage(ctx, st, bare)
	}
}

// routeFull delivers to one resource (RFC 6121 8.5.3).
func (s *Server) routeFull(ctx context.Context, st *module.Stanza, to jid.JID) {
	if sess := s.router.find(to); sess != nil {
		sess.send(st.Raw, st.Name == "message" && (st.Type == "" || st.Type == "normal" || st.Type == "chat"))
		if st.Name == "message" {
			s.copyReceived(st, sess.user, []*session{sess})
		}
		return
	}
	switch st.Name {
	case "iq":
		if st.Type == "get" || st.Type == "set" {
			s.bounce(st, module.ErrServiceUnavailable)
		}
	case "message":
		switch st.Type {
		case "", "normal", "chat":
			s.deliverBareMessage(ctx, st, to.Bare().String())
		case "groupchat":
			s.bounce(st, module.ErrServiceUnavailable)
		}
	}
}

// deliverBareMessage delivers a message addressed to (or falling back to)
// a bare JID: the available resources with the highest non-negative
// priority, else offline storage (RFC 6121 8.5.2, XEP-0160).
func (s *Server) deliverBareMessage(ctx context.Context, st *module.Stanza, bare string) {
	// Choosing "offline" and storing must not interleave with the user
	// becoming available (SetPresence takes the same lock), or a message
	// could be stored after the login already fetched the queue.
	mu := s.userLock(bare)
	mu.Lock()
	defer mu.Unlock()
	sessions := s.router.sessions(bare)
	best, targets := -1, []*session(nil)
	for _, o := range sessions {
		o.mu.Lock()
		avail, prio := o.available, o.priority
		o.mu.Unlock()
		if !avail || prio < 0 {
			continue
		}
		switch {
		case st.Type == "headline":
			targets = append(targets, o)
		case prio > best:
			best, targets = prio, []*session{o}
		case prio == best:
			targets = append(targets, o)
		}
	}
	switch st.Type {
	case "error":
		if len(targets) > 0 {
			targets[0].send(st.Raw, false)
		}
		return
	case "groupchat":
		s.bounce(st, module.ErrServiceUnavailable)
		return
	}
	if len(targets) > 0 {
		isMsg := st.Type != "headline"
		for _, o := range targets {
			o.send(st.Raw, isMsg)
		}
		s.copyReceived(st, bare, targets)
		return
	}
	if len(sessions) == 0 {
		ok, err := s.store.Exists(ctx, bare)
		if err != nil || !ok {
			s.bounce(st, module.ErrServiceUnavailable)
			return
		}
	}
	if st.Type == "headline" || !worthStoring(st) {
		return
	}
	err := s.offline.Store(ctx, bare, st.Raw, s.cfg.Offline.Quota)
	switch {
	case errors.Is(err, archive.ErrQuota):
		s.bounce(st, module.Err("service-unavailable", "offline storage is full"))
	case err != nil:
		s.log.Error("offline store failed", "user", bare, "err", err)
		s.bounce(st, module.ErrInternal)
	default:
		s.stats.offlineStored.Add(1)
	}
}

// worthStoring skips messages that only carry chat states or ask not to
// be stored (XEP-0085, XEP-0334).
func worthStoring(st *module.Stanza) bool {
	el, err := st.Element()
	if err != nil {
		return false
	}
	if el.Child("urn:xmpp:hints", "no-store") != nil {
		return false
	}
	if el.Child("urn:xmpp:hints", "store") != nil {
		return true
	}
	for _, c := range el.Children {
		if c.Space != "http://jabber.org/protocol/chatstates" {
			return true
		}
	}
	return false
}

// deliverTo puts a server-made stanza on a local session or bare JID.
func (s *Server) deliverTo(to jid.JID, raw []byte) {
	if to.Resourcepart() != "" {
		if sess := s.router.find(to); sess != nil {
			sess.send(raw, false)
		}
		return
	}
	for _, o := range s.router.sessions(to.String()) {
		o.send(raw, false)
	}
}

// handleIQ dispatches an IQ get/set to the module registered for its
// payload; results and errors addressed to the server are dropped.
func (s *Server) handleIQ(ctx context.Context, st *module.Stanza, target module.Target) {
	if st.Type != "get" && st.Type != "set" {
		return
	}
	p := st.Payload()
	if p == nil {
		s.bounce(st, module.ErrBadRequest)
		return
	}
	h := s.reg.IQ(target, st.Type, p.Space, p.Local)
	if h == nil {
		s.bounce(st, module.ErrServiceUnavailable)
		return
	}
	res, err := h(ctx, st)
	defer st.RunAfter()
	if err != nil {
		var se *module.StanzaError
		if !errors.As(err, &se) {
			s.log.Error("iq handler failed", "ns", p.Space, "err", err)
		}
		s.bounce(st, err)
		return
	}
	s.deliverTo(st.From, st.Result(res))
}
