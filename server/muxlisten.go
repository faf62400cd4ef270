package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/xmppd/xmppd/mux/link"
)

// ListenMux opens the multiplexor port ([mux] listen; "" disables it and
// returns nil, nil) and serves links on it in the background. Every client
// stream of every link goes to the ordinary c2s code through ServeConn,
// with the client's real address, the multiplexor's name, and Secure set
// when the multiplexor terminated TLS. The returned link.Server gives the
// per-link statistics (xmppctl); Shutdown closes the port with the other
// listeners, and the links once the sessions are drained.
func (s *Server) ListenMux() (*link.Server, error) {
	mc := s.cfg.Mux
	if mc.Listen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", mc.Listen)
	if err != nil {
		return nil, fmt.Errorf("server: mux listen %s: %w", mc.Listen, err)
	}
	if mc.TLS {
		if s.tlsConf == nil {
			_ = ln.Close()
			return nil, errors.New("server: mux.tls without TLS configuration")
		}
		ln = tls.NewListener(ln, s.tlsConf)
	}
	if !s.addListener(ln) {
		_ = ln.Close()
		return nil, errors.New("server: shutting down")
	}
	peers := make([]link.Peer, 0, len(mc.Peers))
	for _, p := range mc.Peers {
		peers = append(peers, link.Peer{Name: p.Name, Secret: p.Secret})
	}
	ls := &link.Server{
		Peers:  peers,
		Logger: s.log.With("listener", "mux"),
		Handle: func(c net.Conn, m link.Meta) {
			s.stats.accepted.Add(1)
			s.ServeConn(c, ConnInfo{Remote: m.Remote.String(), Via: m.Mux, Secure: m.TLSTerminated})
		},
	}
	s.log.Info("listening for multiplexors", "addr", ln.Addr().String(), "tls", mc.TLS, "peers", len(peers))
	s.Go(func() {
		if err := ls.Serve(ln); err != nil && !errors.Is(err, link.ErrServerClosed) {
			s.log.Error("mux listener", "err", err)
		}
	})
	// Not s.Go: Shutdown waits for s.Go goroutines before it cancels baseCtx.
	go func() {
		<-s.baseCtx.Done()
		if err := ls.Close(); err != nil {
			s.log.Warn("closing mux links", "err", err)
		}
	}()
	return ls, nil
}
