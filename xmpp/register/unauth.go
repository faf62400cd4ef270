package register

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// ErrNotRegistration is returned by RegisterUnauthenticated for a stanza
// that is not a jabber:iq:register get or set; the negotiator treats it as
// any other stanza sent before authentication.
var ErrNotRegistration = errors.New("register: not an in-band registration IQ")

var errNetwork = module.Err("not-allowed", "registration is not open to your network")

// RegisterUnauthenticated answers a registration IQ received on a c2s
// stream before authentication (XEP-0077 section 3.1). domain is the
// stream's 'to' domain, remoteAddr the client's address ("ip:port" or
// "ip"), iq the stanza as received (From is zero). It returns the reply to
// write: the form, an empty result after creating the account, or a stanza
// error (not-allowed outside the allowed networks, resource-constraint
// over the rate limit, conflict for a taken name, not-acceptable for a bad
// name or password). A non-nil error means no reply: ErrNotRegistration,
// or ctx ended.
func (m *Module) RegisterUnauthenticated(ctx context.Context, domain, remoteAddr string, iq *module.Stanza) ([]byte, error) {
	q := iq.Payload()
	if iq.Name != "iq" || q == nil || q.Space != NS || q.Local != "query" || (iq.Type != "get" && iq.Type != "set") {
		return nil, ErrNotRegistration
	}
	if !m.cfg.Enabled {
		return m.reply(iq, domain, nil, module.ErrServiceUnavailable), nil
	}
	if iq.Type == "get" {
		if addr, err := parseAddr(remoteAddr); !m.allowed(addr, err) {
			return m.reply(iq, domain, nil, errNetwork), nil
		}
		return m.reply(iq, domain, m.registrationForm(), nil), nil
	}
	err := m.create(ctx, domain, remoteAddr, q)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("register: %w", ctx.Err())
	}
	return m.reply(iq, domain, nil, err), nil
}

// create checks the client and the form, then creates the account.
func (m *Module) create(ctx context.Context, domain, remoteAddr string, q *dom.Element) error {
	addr, addrErr := parseAddr(remoteAddr)
	if !m.allowed(addr, addrErr) {
		m.host.Logger().Info("register: refused outside allowed networks", "remote", remoteAddr)
		return errNetwork
	}
	key := remoteAddr
	if addrErr == nil {
		key = addr.String()
	}
	if !m.limiter.allow(key, m.now()) {
		m.host.Logger().Info("register: rate limited", "remote", remoteAddr)
		return &module.StanzaError{Type: "wait", Condition: "resource-constraint", Text: "too many registration attempts, try again later"}
	}
	f := fields(q)
	if f.remove {
		return module.Err("not-authorized", "log in to remove your account")
	}
	if f.username == "" || f.password == "" {
		return module.Err("not-acceptable", "username and password are required")
	}
	j, err := jid.New(f.username, domain, "")
	if err != nil || j.Localpart() == "" {
		return module.Err("not-acceptable", "the username is not valid")
	}
	if err := m.checkPassword(f.password); err != nil {
		return err
	}
	user := j.String()
	if err := m.host.Store().Create(ctx, user, f.password); err != nil {
		return storeError("create "+user, err)
	}
	m.host.Logger().Info("register: account created", "user", user, "remote", remoteAddr)
	return nil
}

// reply builds the answer to a pre-authentication IQ: from the domain, no
// 'to' (the client has no JID yet).
func (m *Module) reply(iq *module.Stanza, domain string, payload *dom.Element, err error) []byte {
	typ := "result"
	if err != nil {
		typ = "error"
	}
	e := dom.New(module.NSClient, "iq", "type", typ)
	if iq.ID != "" {
		e.Set("id", iq.ID)
	}
	if domain != "" {
		e.Set("from", domain)
	}
	if payload != nil {
		e.Add(payload)
	}
	if err != nil {
		if se := module.AsStanzaError(err); se == module.ErrInternal {
			m.host.Logger().Error("register: create failed", "err", err)
		}
		e.Add(module.AsStanzaError(err).Element())
	}
	return e.Append(nil, module.NSClient)
}

// registrationForm is the XEP-0077 form: legacy fields and a data form.
func (m *Module) registrationForm() *dom.Element {
	q := dom.New(NS, "query")
	if m.cfg.Instructions != "" {
		q.Add(dom.New(NS, "instructions").SetText(m.cfg.Instructions))
	}
	q.Add(dom.New(NS, "username"), dom.New(NS, "password"))
	x := dom.New(NSData, "x", "type", "form")
	x.Add(dom.New(NSData, "title").SetText("Account registration"))
	if m.cfg.Instructions != "" {
		x.Add(dom.New(NSData, "instructions").SetText(m.cfg.Instructions))
	}
	x.Add(dom.New(NSData, "field", "type", "hidden", "var", "FORM_TYPE").Add(dom.New(NSData, "value").SetText(NS)))
	x.Add(dom.New(NSData, "field", "type", "text-single", "label", "Username", "var", "username").Add(dom.New(NSData, "required")))
	x.Add(dom.New(NSData, "field", "type", "text-private", "label", "Password", "var", "password").Add(dom.New(NSData, "required")))
	q.Add(x)
	return q
}

func parseAddr(s string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), nil
	}
	a, err := netip.ParseAddr(s)
	return a.Unmap(), err
}

// allowed reports whether addr may register; an unparsable address only
// when no networks are configured.
func (m *Module) allowed(addr netip.Addr, err error) bool {
	if len(m.nets) == 0 {
		return true
	}
	if err != nil {
		return false
	}
	for _, n := range m.nets {
		if n.Contains(addr) {
			return true
		}
	}
	return false
}

// limiter counts attempts per address in fixed windows.
type limiter struct {
	max    int
	window time.Duration
	mu     sync.Mutex
	seen   map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(max int, w time.Duration) *limiter {
	return &limiter{max: max, window: w, seen: map[string]*window{}}
}

// allow records one attempt by key and reports whether it is within the
// limit (max 0: unlimited).
func (l *limiter) allow(key string, now time.Time) bool {
	if l.max <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) > 10000 { // bound the memory a scan of addresses can take
		for k, w := range l.seen {
			if now.Sub(w.start) >= l.window {
				delete(l.seen, k)
			}
		}
	}
	w := l.seen[key]
	if w == nil || now.Sub(w.start) >= l.window {
		w = &window{start: now}
		l.seen[key] = w
	}
	w.n++
	return w.n <= l.max
}
