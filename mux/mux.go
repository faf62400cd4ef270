// Package mux is the multiplexor (xmppmux): it accepts XMPP client
// connections (RFC 6120 c2s, passed through untouched, or XEP-0368 direct
// TLS terminated here) and carries each one as a stream over a single
// authenticated link to xmppd (package mux/link: XEP-0114 handshake, yamux,
// PROXY v2). It never parses the client protocol and never authenticates
// users.
package mux

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/yamux"
)

// Mux is a running multiplexor. New opens its listeners; Run serves.
type Mux struct {
	cfg    *Config
	log    *slog.Logger
	plain  []net.Listener
	direct []net.Listener // TLS terminated here
	tlsCfg *tls.Config

	sess atomic.Pointer[yamux.Session]

	mu      sync.Mutex
	clients map[net.Conn]struct{}
	wg      sync.WaitGroup
	ctr     counters
	statsLn net.Listener
}

// New validates cfg and opens every client listener (so the ports are
// taken even before the link is up; clients are refused until it is).
func New(cfg *Config, log *slog.Logger) (*Mux, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	m := &Mux{cfg: cfg, log: log.With("mux", cfg.Mux.Name), clients: map[net.Conn]struct{}{}}
	if len(cfg.Listen.TLS) > 0 {
		cert, err := tls.LoadX509KeyPair(cfg.Listen.Cert, cfg.Listen.Key)
		if err != nil {
			return nil, fmt.Errorf("mux: listen.cert: %w", err)
		}
		m.tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
			NextProtos: []string{"xmpp-client"}}
	}
	if a := cfg.Stats.Listen; a != "" {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return nil, fmt.Errorf("mux: stats.listen: %w", err)
		}
		m.statsLn = ln
	}
	for _, a := range cfg.Listen.Plain {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			m.closeListeners()
			return nil, fmt.Errorf("mux: listen.plain: %w", err)
		}
		m.plain = append(m.plain, ln)
	}
	for _, a := range cfg.Listen.TLS {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			m.closeListeners()
			return nil, fmt.Errorf("mux: listen.tls: %w", err)
		}
		m.direct = append(m.direct, ln)
	}
	return m, nil
}

// Run runs a multiplexor from cfg until ctx is done.
func Run(ctx context.Context, cfg *Config) error {
	m, err := New(cfg, nil)
	if err != nil {
		return err
	}
	return m.Run(ctx)
}

// PlainAddrs and TLSAddrs return the bound client addresses.
func (m *Mux) PlainAddrs() []net.Addr { return addrs(m.plain) }

// TLSAddrs returns the addresses of the TLS-terminating listeners.
func (m *Mux) TLSAddrs() []net.Addr { return addrs(m.direct) }

func addrs(lns []net.Listener) []net.Addr {
	out := make([]net.Addr, len(lns))
	for i, ln := range lns {
		out[i] = ln.Addr()
	}
	return out
}

func (m *Mux) closeListeners() {
	all := append(append([]net.Listener{}, m.plain...), m.direct...)
	if m.statsLn != nil {
		all = append(all, m.statsLn)
	}
	for _, ln := range all {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			m.log.Warn("mux: close listener", "addr", ln.Addr().String(), "err", err)
		}
	}
}

// Run keeps the link up and serves clients until ctx is done; it then
// closes the listeners, the link and every client, and returns nil.
func (m *Mux) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop, err := m.startStats(ctx)
	if err != nil {
		m.closeListeners()
		return err
	}
	for _, ln := range m.plain {
		m.goTracked(func() { m.acceptLoop(ln, false) })
	}
	for _, ln := range m.direct {
		m.goTracked(func() { m.acceptLoop(ln, true) })
	}
	m.linkLoop(ctx)
	stop()
	m.closeListeners()
	m.closeClients()
	m.wg.Wait()
	return nil
}

// goTracked starts f so that Run waits for it before returning.
func (m *Mux) goTracked(f func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}

// Connected reports whether the link to the server is up.
func (m *Mux) Connected() bool { return m.sess.Load() != nil }

func (m *Mux) addClient(c net.Conn) {
	m.mu.Lock()
	m.clients[c] = struct{}{}
	m.mu.Unlock()
}

func (m *Mux) removeClient(c net.Conn) {
	m.mu.Lock()
	delete(m.clients, c)
	m.mu.Unlock()
}

// closeClients closes every client socket at once (the link dropped or
// the multiplexor stops).
func (m *Mux) closeClients() int {
	m.mu.Lock()
	cs := make([]net.Conn, 0, len(m.clients))
	for c := range m.clients {
		cs = append(cs, c)
	}
	m.mu.Unlock()
	for _, c := range cs {
		_ = c.Close() // the client may be gone already
	}
	return len(cs)
}
