// Package module is the small API between the server core and the protocol
// features under xmpp/: a Module registers IQ handlers, disco features and
// stanza filters on a Registry at start, and talks to the server through
// Host. Features never import the server package.
package module

import (
	"context"
	"log/slog"
	"time"

	"github.com/xmppd/xmppd/archive"
	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"mellium.im/xmpp/jid"
)

// Module is one protocol feature. Start is called once, in the order the
// modules are listed in server/modules.go; Stop in reverse order.
type Module interface {
	Name() string
	Start(ctx context.Context, h Host, r *Registry) error
	Stop(ctx context.Context) error
}

// SessionInfo describes one bound resource of a local account.
type SessionInfo struct {
	JID       jid.JID
	Priority  int
	Available bool   // sent initial presence and not unavailable since
	Presence  []byte // last broadcast presence (raw, from stamped), nil if none
	// PresenceAt is when Presence was sent (for XEP-0203 delay stamps).
	PresenceAt time.Time
	// RosterRequested is true once the session fetched its roster
	// ("interested resource", RFC 6121 2.1.6).
	RosterRequested bool
	// Carbons is true once the session enabled XEP-0280 message carbons.
	Carbons bool
}

// Host is what the server offers to modules.
type Host interface {
	Config() *conf.Config
	Store() directory.Store
	Offline() archive.Offline
	Logger() *slog.Logger
	// IsLocal reports whether domain is a hosted domain.
	IsLocal(domain string) bool
	// Route routes a stanza as the server would route one received from
	// its 'from' (which must be set in raw): local delivery per RFC 6121
	// section 8, offline storage, or an error back to the sender.
	Route(ctx context.Context, raw []byte) error
	// Deliver puts raw on the outbound queue of one bound session (full
	// JID) and reports whether that session exists.
	Deliver(full jid.JID, raw []byte) bool
	// Resources lists the bound sessions of a local account (bare JID).
	Resources(bare string) []SessionInfo
	// SetRosterRequested marks a session as an interested resource.
	SetRosterRequested(full jid.JID)
	// SetCarbons switches XEP-0280 carbon copies for one session.
	SetCarbons(full jid.JID, on bool)
	// SetPresence records a session's broadcast presence: raw is the last
	// presence it sent (nil to clear), available and priority decide where
	// messages to the bare JID go. It reports whether the session was
	// unavailable before (so this is its initial presence).
	SetPresence(full jid.JID, raw []byte, available bool, priority int) (initial bool)
}

// IQHandler answers an IQ get or set. It returns the payload of the result
// (nil for an empty result) or an error; a *StanzaError becomes that
// stanza error, any other error internal-server-error.
type IQHandler func(ctx context.Context, iq *Stanza) (*Element, error)

// Filter looks at a stanza before it goes on. A non-nil error stops it: the
// sender of a message or IQ gets the error (a *StanzaError or, for any other
// error, internal-server-error); a stopped presence is dropped silently.
type Filter func(ctx context.Context, s *Stanza) error

// SessionHook is told when a session becomes available (info.Presence is
// its initial presence) or ends (info.Presence is its last presence: the
// unavailable one with its status when the client sent it).
type SessionHook func(ctx context.Context, info SessionInfo)
