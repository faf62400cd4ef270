// Package register implements XEP-0077: In-Band Registration. Before login
// the c2s negotiator hands registration IQs to RegisterUnauthenticated
// (form, account creation, rate-limited per client address and restricted
// to the allowed networks); after login the module answers the account's
// own password change and removal. Accounts are written through
// Host.Store(), so they land in the embedded directory or, when it is
// configured writable, in LDAP. Everything is off unless
// [registration] enabled = true.
package register

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// Namespaces of XEP-0077 and XEP-0004.
const (
	NS        = "jabber:iq:register"
	NSFeature = "http://jabber.org/features/iq-register"
	NSData    = "jabber:x:data"
	// FormChangePassword is the FORM_TYPE of a password change form.
	FormChangePassword = "jabber:iq:register:changepassword"
)

// maxPassword bounds a password in bytes; LDAP servers and PBKDF2 both
// accept far less than a stanza can carry.
const maxPassword = 1024

// Module is the XEP-0077 module.
type Module struct {
	host    module.Host
	cfg     conf.Registration
	nets    []netip.Prefix
	limiter *limiter
	now     func() time.Time
}

var _ module.Module = (*Module)(nil)

// New returns the module; its settings are read from the host's config at
// Start.
func New() *Module { return &Module{now: time.Now} }

// Name implements module.Module.
func (m *Module) Name() string { return "register" }

// Start implements module.Module. With registration disabled it registers
// nothing, so registration IQs get service-unavailable.
func (m *Module) Start(ctx context.Context, h module.Host, r *module.Registry) error {
	m.host = h
	m.cfg = h.Config().Registration
	m.nets = m.nets[:0]
	for _, n := range m.cfg.AllowedNetworks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return fmt.Errorf("register: allowed network %q: %w", n, err)
		}
		m.nets = append(m.nets, p.Masked())
	}
	m.limiter = newLimiter(m.cfg.RateLimit, m.cfg.RateWindow.Duration)
	if !m.cfg.Enabled {
		return nil
	}
	r.Feature(module.ToHost, NS)
	for _, t := range []module.Target{module.ToHost, module.ToAccount} {
		r.HandleIQ(t, "get", NS, "query", m.get)
		r.HandleIQ(t, "set", NS, "query", m.set)
	}
	return nil
}

// Stop implements module.Module.
func (m *Module) Stop(ctx context.Context) error { return nil }

// Enabled reports whether in-band registration is on (the negotiator
// advertises the stream feature only then).
func (m *Module) Enabled() bool { return m.cfg.Enabled }

// own checks that an authenticated IQ is about the sender's own account:
// no 'to', the sender's domain, or the sender's bare JID.
func own(iq *module.Stanza) (string, error) {
	bare := iq.From.Bare()
	switch {
	case iq.To.Equal(jid.JID{}), iq.To.Equal(bare), iq.To.Equal(bare.Domain()):
		return bare.String(), nil
	}
	return "", module.ErrForbidden
}

// get answers an authenticated get: the account is registered already.
func (m *Module) get(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	if _, err := own(iq); err != nil {
		return nil, err
	}
	q := dom.New(NS, "query")
	q.Add(dom.New(NS, "registered"), dom.New(NS, "username").SetText(iq.From.Localpart()))
	return q, nil
}

// set answers an authenticated set: removal or password change.
func (m *Module) set(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	user, err := own(iq)
	if err != nil {
		return nil, err
	}
	q := iq.Payload()
	if q.Child(NS, "remove") != nil {
		if err := m.host.Store().Delete(ctx, user); err != nil {
			return nil, storeError("remove "+user, err)
		}
		if err := m.host.Offline().DeleteUser(ctx, user); err != nil {
			m.host.Logger().Warn("register: offline messages of a removed account were not deleted", "user", user, "err", err)
		}
		m.host.Logger().Info("register: account removed", "user", user)
		return nil, nil
	}
	f := fields(q)
	if f.username == "" || f.password == "" {
		return nil, module.Err("bad-request", "username and password are required")
	}
	if !strings.EqualFold(f.username, iq.From.Localpart()) {
		return nil, module.Err("not-authorized", "only your own password can be changed")
	}
	if err := m.checkPassword(f.password); err != nil {
		return nil, err
	}
	if err := m.host.Store().SetPassword(ctx, user, f.password); err != nil {
		return nil, storeError("change password of "+user, err)
	}
	m.host.Logger().Info("register: password changed", "user", user)
	return nil, nil
}

// form is what a registration request carries, from the legacy fields or
// from a submitted data form.
type form struct {
	username, password string
	remove             bool
}

func fields(q *dom.Element) form {
	f := form{
		username: q.ChildText(NS, "username"),
		password: q.ChildText(NS, "password"),
		remove:   q.Child(NS, "remove") != nil,
	}
	if x := q.Child(NSData, "x"); x != nil {
		for _, fld := range x.All(NSData, "field") {
			v := fld.ChildText(NSData, "value")
			switch fld.Get("var") {
			case "username":
				f.username = v
			case "password":
				f.password = v
			}
		}
	}
	return f
}

func (m *Module) checkPassword(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < m.cfg.MinPasswordLength:
		return module.Err("not-acceptable", fmt.Sprintf("the password must have at least %d characters", m.cfg.MinPasswordLength))
	case len(pw) > maxPassword || !utf8.ValidString(pw) || strings.ContainsRune(pw, 0):
		return module.Err("not-acceptable", "the password is too long or has invalid characters")
	}
	return nil
}

// storeError turns a directory error into the XEP-0077 stanza error.
func storeError(op string, err error) error {
	switch {
	case errors.Is(err, directory.ErrExists):
		return module.Err("conflict", "the username is taken")
	case errors.Is(err, directory.ErrReadOnly):
		return module.Err("not-allowed", "the directory does not accept changes")
	case errors.Is(err, directory.ErrNotFound):
		return module.ErrItemNotFound
	case errors.Is(err, directory.ErrUnavailable):
		return &module.StanzaError{Type: "wait", Condition: "service-unavailable", Text: "the directory is unavailable, try again later"}
	}
	return fmt.Errorf("register: %s: %w", op, err)
}
