// Package server runs xmppd: listeners, RFC 6120 stream negotiation (our
// own: STARTTLS, SASL SCRAM-SHA-256/SCRAM-SHA-1/PLAIN, resource binding),
// c2s sessions with one reader and an on-demand writer over a bounded
// queue, the RFC 6121 router, module wiring and graceful shutdown.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xmppd/xmppd/archive"
	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
)

// Registrar handles in-band registration before authentication (XEP-0077).
type Registrar interface {
	RegisterUnauthenticated(ctx context.Context, domain, remoteAddr string, iq *module.Stanza) ([]byte, error)
}

// Server is one xmppd instance.
type Server struct {
	cfg     *conf.Config
	log     *slog.Logger
	store   directory.Store
	offline archive.Offline
	reg     *module.Registry
	modules []module.Module
	// register is set when in-band registration is enabled.
	register Registrar
	presence PresenceHandler

	tlsConf *tls.Config
	domains map[string]bool
	secret  [32]byte
	router  router
	// userLocks: see userLock.
	userLocks [256]sync.Mutex
	caps      []byte

	baseCtx context.Context
	cancel  context.CancelFunc

	mu        sync.Mutex
	listeners []net.Listener
	sessions  map[*session]struct{}
	closing   bool
	wg        sync.WaitGroup

	// releaseAfter overrides the constant of the same name (tests).
	releaseAfter time.Duration

	started time.Time
	stats   stats
}

type stats struct {
	accepted, authFailures, slowConsumers, routed, offlineStored atomic.Int64
}

// PresenceHandler is the RFC 6121 presence logic (xmpp/presence): it gets
// every presence a local session sends and every presence addressed to a
// local account.
type PresenceHandler interface {
	Outbound(ctx context.Context, st *module.Stanza) error
	Inbound(ctx context.Context, st *module.Stanza) error
}

// Options are the parts of a server chosen by its caller (cmd/xmppd).
type Options struct {
	Config   *conf.Config
	Logger   *slog.Logger
	Store    directory.Store
	Offline  archive.Offline
	TLS      *tls.Config // nil: no TLS at all (tests)
	Modules  []module.Module
	Presence PresenceHandler
	Register Registrar
}

// New builds a server; Start runs its modules and listeners.
func New(o Options) (*Server, error) {
	if o.Config == nil || o.Store == nil || o.Offline == nil {
		return nil, errors.New("server: config, store and offline store are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Server{
		cfg: o.Config, log: o.Logger, store: o.Store, offline: o.Offline,
		reg: module.NewRegistry(), modules: o.Modules, tlsConf: o.TLS,
		presence: o.Presence, register: o.Register,
		domains:  map[string]bool{},
		sessions: map[*session]struct{}{},
		started:  time.Now(),
	}
	for _, d := range o.Config.Server.Domains {
		s.domains[d] = true
	}
	s.router.init()
	if _, err := rand.Read(s.secret[:]); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Registry returns the module registry (for tests and wiring).
func (s *Server) Registry() *module.Registry { return s.reg }

// Start starts the modules in order.
func (s *Server) Start(ctx context.Context) error {
	for i, m := range s.modules {
		if err := m.Start(ctx, s, s.reg); err != nil {
			for j := i - 1; j >= 0; j-- {
				_ = s.modules[j].Stop(ctx) // best effort unwinding after a failed start
			}
			return fmt.Errorf("server: module %s: %w", m.Name(), err)
		}
	}
	for _, m := range s.modules {
		// The disco module knows the XEP-0115 hash of what was registered.
		if c, ok := m.(interface{ Caps() *dom.Element }); ok {
			s.caps = c.Caps().Append(nil, nsClient)
		}
	}
	return nil
}

// Listen opens the configured c2s listeners and serves them in the
// background.
func (s *Server) Listen() error {
	for _, a := range s.cfg.C2S.Listen {
		if err := s.listen(a, false); err != nil {
			return err
		}
	}
	for _, a := range s.cfg.C2S.DirectTLSListen {
		if s.tlsConf == nil {
			return errors.New("server: direct TLS listener without TLS configuration")
		}
		if err := s.listen(a, true); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) listen(addr string, direct bool) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server: listen %s: %w", addr, err)
	}
	if !s.addListener(ln) {
		_ = ln.Close()
		return errors.New("server: shutting down")
	}
	s.log.Info("listening", "addr", ln.Addr().String(), "direct_tls", direct)
	s.Go(func() { s.acceptLoop(ln, direct) })
	return nil
}

func (s *Server) addListener(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.listeners = append(s.listeners, ln)
	return true
}

// Addrs returns the addresses of the open listeners.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for _, l := range s.listeners {
		out = append(out, l.Addr())
	}
	return out
}

// Go runs f in a goroutine that Shutdown waits for.
func (s *Server) Go(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// acceptLoop accepts connections, backing off on temporary errors the way
// net/http does (5 ms doubling to 1 s).
func (s *Server) acceptLoop(ln net.Listener, direct bool) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			s.log.Warn("accept failed; retrying", "err", err, "delay", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.stats.accepted.Add(1)
		info := ConnInfo{Remote: c.RemoteAddr().String()}
		if direct {
			// The handshake runs in the session's negotiation.
			c = tls.Server(c, s.tlsConf)
		}
		s.Go(func() { s.serveConn(c, info) })
	}
}

// ServeConn serves a client stream on c, which came from another
// transport (a multiplexor link stream, WebSocket...), in goroutines of
// the server's own; it returns at once.
func (s *Server) ServeConn(c net.Conn, info ConnInfo) {
	s.Go(func() { s.serveConn(c, info) })
}

func (s *Server) track(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.sessions[sess] = struct{}{}
	return true
}

func (s *Server) untrack(sess *session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
}

// SessionCount returns the number of open client streams.
func (s *Server) SessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Shutdown stops accepting, sends <system-shutdown/> to every stream,
// waits for them (bounded by ctx), then stops the modules in reverse order.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	lns := s.listeners
	s.listeners = nil
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	for _, ln := range lns {
		_ = ln.Close() // already-closed listeners are fine
	}
	for _, sess := range sessions {
		sess.kick("system-shutdown", "")
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("server: shutdown: %w", ctx.Err())
		s.mu.Lock()
		for sess := range s.sessions {
			sess.fail(errors.New("server: shutdown timeout"))
		}
		s.mu.Unlock()
	}
	s.cancel()
	for i := len(s.modules) - 1; i >= 0; i-- {
		if e := s.modules[i].Stop(ctx); e != nil {
			s.log.Warn("module stop failed", "module", s.modules[i].Name(), "err", e)
		}
	}
	return err
}

func (s *Server) defaultDomain() string { return s.cfg.Server.Domains[0] }

func (sess *session) tlsState() (tls.ConnectionState, bool) {
	if tc, ok := sess.conn.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}

// SessionSummary describes one client stream for operators (xmppctl).
type SessionSummary struct {
	JID    string    `json:"jid"` // "" until a resource is bound
	Remote string    `json:"remote"`
	Via    string    `json:"via,omitempty"` // multiplexor name
	Secure bool      `json:"secure"`
	Since  time.Time `json:"since"`
}

// Sessions lists the open client streams, bound ones first by JID.
func (s *Server) Sessions() []SessionSummary {
	s.mu.Lock()
	out := make([]SessionSummary, 0, len(s.sessions))
	for sess := range s.sessions {
		sess.mu.Lock()
		out = append(out, SessionSummary{
			JID: sess.jid.String(), Remote: sess.info.Remote, Via: sess.info.Via,
			Secure: sess.secure, Since: sess.started,
		})
		sess.mu.Unlock()
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if (out[i].JID == "") != (out[j].JID == "") {
			return out[j].JID == ""
		}
		return out[i].JID < out[j].JID
	})
	return out
}

// Stats are the server's counters.
type Stats struct {
	Sessions      int   `json:"sessions"`
	Accepted      int64 `json:"accepted"`
	AuthFailures  int64 `json:"auth_failures"`
	SlowConsumers int64 `json:"slow_consumers"`
	Routed        int64 `json:"routed"`
	OfflineStored int64 `json:"offline_stored"`
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Sessions: s.SessionCount(), Accepted: s.stats.accepted.Load(),
		AuthFailures: s.stats.authFailures.Load(), SlowConsumers: s.stats.slowConsumers.Load(),
		Routed: s.stats.routed.Load(), OfflineStored: s.stats.offlineStored.Load(),
	}
}
