// Package last implements XEP-0012: Last Activity. The server answers with
// its uptime; for an account, with 0 while it has an available resource,
// else the seconds since it last went unavailable and the status it gave
// then. Only the account and contacts subscribed to its presence may ask.
package last

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// NS is the jabber:iq:last namespace.
const NS = "jabber:iq:last"

// DataKey is the directory data key of an account's last logout: the Unix
// time in milliseconds (whole seconds in data written before), a newline,
// and the status text. Milliseconds, so a logout at 12:00:00.9 is not
// reported as a second old at 12:00:01.0.
const DataKey = "last"

// Module answers jabber:iq:last and records logouts.
type Module struct {
	now     func() time.Time
	host    module.Host
	started time.Time

	mu sync.Mutex
	// wentAway holds the full JIDs that broadcast unavailable presence
	// while still bound: their logout is recorded already, and the end of
	// the session must not overwrite its time and status.
	wentAway map[string]bool
}

var _ module.Module = (*Module)(nil)

// New returns the module; now is the clock (time.Now when nil).
func New(now func() time.Time) *Module {
	if now == nil {
		now = time.Now
	}
	return &Module{now: now, wentAway: map[string]bool{}}
}

// Name implements module.Module.
func (m *Module) Name() string { return "last" }

// Start implements module.Module. Uptime counts from here.
func (m *Module) Start(ctx context.Context, h module.Host, r *module.Registry) error {
	m.host, m.started = h, m.now()
	r.Feature(module.ToHost, NS)
	r.Feature(module.ToAccount, NS)
	r.HandleIQ(module.ToHost, "get", NS, "query", m.uptime)
	r.HandleIQ(module.ToAccount, "get", NS, "query", m.query)
	r.OutboundFilter(m.outbound)
	r.OnAvailable(m.available)
	r.OnEnded(m.ended)
	return nil
}

// Stop implements module.Module.
func (m *Module) Stop(ctx context.Context) error { return nil }

func seconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return strconv.FormatInt(int64(d/time.Second), 10)
}

func (m *Module) uptime(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	return dom.New(NS, "query", "seconds", seconds(m.now().Sub(m.started))), nil
}

func (m *Module) query(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	user := iq.From.Bare().String()
	if !iq.To.Equal(jid.JID{}) {
		user = iq.To.Bare().String()
	}
	if err := m.allowed(ctx, user, iq.From.Bare().String()); err != nil {
		return nil, err
	}
	for _, s := range m.host.Resources(user) {
		if s.Available {
			return dom.New(NS, "query", "seconds", "0"), nil
		}
	}
	b, ok, err := m.host.Store().GetData(ctx, user, DataKey)
	if err != nil {
		return nil, fmt.Errorf("last: get %s: %w", user, err)
	}
	if !ok {
		return nil, module.ErrItemNotFound
	}
	unix, status, _ := strings.Cut(string(b), "\n")
	t, err := strconv.ParseInt(unix, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("last: stored time of %s: %w", user, err)
	}
	at := time.UnixMilli(t)
	if t < 1e11 { // whole seconds, as first written
		at = time.Unix(t, 0)
	}
	q := dom.New(NS, "query", "seconds", seconds(m.now().Sub(at)))
	return q.SetText(status), nil
}

// allowed lets the account itself and contacts with a subscription to its
// presence (XEP-0012 section 4 and 8); others get forbidden.
func (m *Module) allowed(ctx context.Context, user, requester string) error {
	if user == requester {
		return nil
	}
	it, ok, err := m.host.Store().Item(ctx, user, requester)
	if err != nil {
		return fmt.Errorf("last: roster of %s: %w", user, err)
	}
	if ok && (it.Subscription == directory.SubFrom || it.Subscription == directory.SubBoth) {
		return nil
	}
	return module.ErrForbidden
}

// outbound records a broadcast unavailable presence (no 'to'), as
// Prosody's mod_lastactivity does, so the time and status are those of
// going offline even when the session stays bound.
func (m *Module) outbound(ctx context.Context, s *module.Stanza) error {
	if s.Name != "presence" || s.Type != "unavailable" || !s.To.Equal(jid.JID{}) {
		return nil
	}
	el, err := s.Element()
	if err != nil {
		return nil // the core answers malformed stanzas
	}
	m.mu.Lock()
	m.wentAway[s.From.String()] = true
	m.mu.Unlock()
	m.record(ctx, s.From.Bare().String(), el.ChildText("", "status"))
	return nil
}

func (m *Module) available(ctx context.Context, info module.SessionInfo) {
	m.mu.Lock()
	delete(m.wentAway, info.JID.String())
	m.mu.Unlock()
}

func (m *Module) ended(ctx context.Context, info module.SessionInfo) {
	m.mu.Lock()
	away := m.wentAway[info.JID.String()]
	delete(m.wentAway, info.JID.String())
	m.mu.Unlock()
	if away {
		return
	}
	status := ""
	if el, err := dom.Parse(info.Presence); err == nil && el.Get("type") == "unavailable" {
		status = el.ChildText("", "status")
	}
	m.record(ctx, info.JID.Bare().String(), status)
}

func (m *Module) record(ctx context.Context, user, status string) {
	v := strconv.FormatInt(m.now().UnixMilli(), 10) + "\n" + status
	if err := m.host.Store().PutData(ctx, user, DataKey, []byte(v)); err != nil {
		m.host.Logger().Warn("last: cannot record logout", "user", user, "err", err)
	}
}
