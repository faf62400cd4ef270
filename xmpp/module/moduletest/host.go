// Package moduletest is a test Host for the protocol modules under xmpp/
// (the module API of package module): in-memory implementations of the
// directory and archive interfaces, a recorder for what a module routes and
// delivers, and helpers to send stanzas through a Registry and compare the
// replies as XML trees. It is for tests only.
package moduletest

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"sync"

	"github.com/xmppd/xmppd/archive"
	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

var _ module.Host = (*Host)(nil)

// Delivery is one stanza put on a session's queue with Host.Deliver.
type Delivery struct {
	To  jid.JID
	Raw []byte
}

// Host is a module.Host for tests. Sessions are declared with AddSession;
// Route and Deliver record what they are given.
type Host struct {
	Cfg *conf.Config
	Mem *Store
	Off *Offline
	Log *slog.Logger
	// RouteFunc, when set, is called by Route after recording (to emulate
	// delivery or a routing error).
	RouteFunc func(ctx context.Context, raw []byte) error

	mu        sync.Mutex
	sessions  map[string]module.SessionInfo // by full JID
	routed    [][]byte
	delivered []Delivery
}

// NewHost returns a host serving "localhost" with empty stores.
func NewHost() *Host {
	c := conf.Default()
	c.Server.Domains = []string{"localhost"}
	return &Host{
		Cfg:      c,
		Mem:      NewStore(),
		Off:      NewOffline(),
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		sessions: map[string]module.SessionInfo{},
	}
}

// Config implements module.Host.
func (h *Host) Config() *conf.Config { return h.Cfg }

// Store implements module.Host.
func (h *Host) Store() directory.Store { return h.Mem }

// Offline implements module.Host.
func (h *Host) Offline() archive.Offline { return h.Off }

// Logger implements module.Host.
func (h *Host) Logger() *slog.Logger { return h.Log }

// IsLocal implements module.Host.
func (h *Host) IsLocal(domain string) bool {
	for _, d := range h.Cfg.Server.Domains {
		if d == domain {
			return true
		}
	}
	return false
}

// Route implements module.Host: it records raw.
func (h *Host) Route(ctx context.Context, raw []byte) error {
	h.mu.Lock()
	h.routed = append(h.routed, append([]byte(nil), raw...))
	f := h.RouteFunc
	h.mu.Unlock()
	if f != nil {
		return f(ctx, raw)
	}
	return nil
}

// Deliver implements module.Host: it records raw when the session exists.
func (h *Host) Deliver(full jid.JID, raw []byte) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.sessions[full.String()]; !ok {
		return false
	}
	h.delivered = append(h.delivered, Delivery{To: full, Raw: append([]byte(nil), raw...)})
	return true
}

// Resources implements module.Host; sessions are sorted by full JID.
func (h *Host) Resources(bare string) []module.SessionInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []module.SessionInfo
	for _, s := range h.sessions {
		if s.JID.Bare().String() == bare {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JID.String() < out[j].JID.String() })
	return out
}

// SetRosterRequested implements module.Host.
func (h *Host) SetRosterRequested(full jid.JID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.sessions[full.String()]; ok {
		s.RosterRequested = true
		h.sessions[full.String()] = s
	}
}

// SetCarbons implements module.Host.
func (h *Host) SetCarbons(full jid.JID, on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.sessions[full.String()]; ok {
		s.Carbons = on
		h.sessions[full.String()] = s
	}
}

// SetPresence implements module.Host.
func (h *Host) SetPresence(full jid.JID, raw []byte, available bool, priority int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.sessions[full.String()]
	if !ok {
		return false
	}
	initial := !s.Available && available
	s.Presence, s.Available, s.Priority = append([]byte(nil), raw...), available, priority
	if raw == nil {
		s.Presence = nil
	}
	h.sessions[full.String()] = s
	return initial
}

// AddSession declares (or replaces) a bound session.
func (h *Host) AddSession(info module.SessionInfo) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sessions[info.JID.String()] = info
}

// RemoveSession forgets a bound session.
func (h *Host) RemoveSession(full jid.JID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.sessions, full.String())
}

// Routed returns what was routed so far, oldest first.
func (h *Host) Routed() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.routed...)
}

// Delivered returns what was delivered so far, oldest first.
func (h *Host) Delivered() []Delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Delivery(nil), h.delivered...)
}

// Reset forgets what was routed and delivered.
func (h *Host) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.routed, h.delivered = nil, nil
}
