package link

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
)

// Peer is one multiplexor allowed to connect: its name (the 'to' of its
// stream header) and its shared secret.
type Peer struct{ Name, Secret string }

// LinkStats describes one connected multiplexor.
type LinkStats struct {
	Name   string    `json:"name"`
	Remote string    `json:"remote"`
	Since  time.Time `json:"since"`
	// Streams is the number of client streams open now, StreamsTotal the
	// number accepted since the link came up.
	Streams      int    `json:"streams"`
	StreamsTotal uint64 `json:"streams_total"`
	// BytesIn counts client bytes read by the server, BytesOut the bytes
	// the server wrote to clients (payload only, without yamux framing).
	BytesIn  uint64 `json:"bytes_in"`
	BytesOut uint64 `json:"bytes_out"`
}

// Server accepts multiplexor links and hands every client stream to
// Handle. Set the exported fields before Serve; they are not changed after.
type Server struct {
	Peers  []Peer
	Logger *slog.Logger
	// Handle is called in its own goroutine per client stream. c's
	// RemoteAddr and LocalAddr are the client's (from the PROXY header).
	// When the link drops, c's Read returns io.EOF promptly.
	Handle func(c net.Conn, m Meta)
	// Tuning sets the yamux parameters (zero fields take the defaults).
	Tuning Tuning
	// HandshakeTimeout bounds the XEP-0114 handshake, HeaderTimeout the
	// wait for a stream's PROXY header (both 10 s when zero).
	HandshakeTimeout, HeaderTimeout time.Duration

	mu     sync.Mutex
	lns    map[net.Listener]struct{}
	links  map[string]*serverLink
	closed bool
	wg     sync.WaitGroup
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("link: server closed")

type serverLink struct {
	name, remote string
	since        time.Time
	sess         *yamux.Session
	total        atomic.Uint64
	in, out      atomic.Uint64
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (s *Server) secret(name string) (string, bool) {
	for _, p := range s.Peers {
		if p.Name == name {
			return p.Secret, true
		}
	}
	return "", false
}

// Serve accepts links on ln until ln or the server is closed; it then
// returns nil (or ErrServerClosed when called after Close).
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	if s.lns == nil {
		s.lns = map[net.Listener]struct{}{}
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of descriptors and the like: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.logger().Warn("mux accept failed", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveLink(c)
		}()
	}
}

func (s *Server) serveLink(c net.Conn) {
	log := s.logger().With("mux_remote", c.RemoteAddr().String())
	name, err := AcceptHandshake(c, orDefault(s.HandshakeTimeout, 10*time.Second), s.secret)
	if err != nil {
		log.Warn("mux link refused", "mux", name, "err", err)
		_ = c.Close()
		return
	}
	sess, err := yamux.Server(newBatchWriter(c, s.Tuning.writeTimeout()), s.Tuning.yamux())
	if err != nil {
		log.Error("mux link: yamux", "mux", name, "err", err)
		_ = c.Close()
		return
	}
	l := &serverLink{name: name, remote: c.RemoteAddr().String(), since: time.Now(), sess: sess}
	if !s.register(l, log) {
		_ = sess.Close()
		return
	}
	log.Info("mux link up", "mux", name)
	defer func() {
		_ = sess.Close()
		s.unregister(l)
		log.Info("mux link down", "mux", name, "streams_total", l.total.Load(),
			"bytes_in", l.in.Load(), "bytes_out", l.out.Load())
	}()
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			return
		}
		l.total.Add(1)
		go s.serveStream(l, st, log)
	}
}

// register makes l the link of its name; an older link of the same name
// (a multiplexor that reconnected before its dead link timed out) is closed.
func (s *Server) register(l *serverLink, log *slog.Logger) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.links == nil {
		s.links = map[string]*serverLink{}
	}
	if old := s.links[l.name]; old != nil {
		log.Warn("mux link replaces an older link of the same name", "mux", l.name, "old_remote", old.remote)
		go old.sess.Close()
	}
	s.links[l.name] = l
	return true
}

func (s *Server) unregister(l *serverLink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.links[l.name] == l {
		delete(s.links, l.name)
	}
}

func (s *Server) serveStream(l *serverLink, st *yamux.Stream, log *slog.Logger) {
	if err := st.SetReadDeadline(time.Now().Add(orDefault(s.HeaderTimeout, 10*time.Second))); err != nil {
		_ = st.Close()
		return
	}
	m, err := ReadHeader(st)
	if err == nil {
		err = st.SetReadDeadline(time.Time{})
	}
	if err != nil {
		log.Warn("mux stream refused", "mux", l.name, "err", err)
		_ = st.Close()
		return
	}
	m.Mux = l.name
	if m.Remote == nil {
		m.Remote = st.RemoteAddr()
	}
	if m.Local == nil {
		m.Local = st.LocalAddr()
	}
	if s.Handle == nil {
		_ = st.Close()
		return
	}
	s.Handle(&Conn{Stream: st, meta: m, link: l}, m)
}

// Close closes every listener and every link, and waits for the link
// goroutines. Handle goroutines are not waited for: their conns return
// errors, so they end as if their TCP connections had closed.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	var errs []error
	for ln := range s.lns {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	links := make([]*serverLink, 0, len(s.links))
	for _, l := range s.links {
		links = append(links, l)
	}
	s.mu.Unlock()
	for _, l := range links {
		_ = l.sess.Close() // always nil
	}
	s.wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("link: close: %w", err)
	}
	return nil
}

// Stats returns one entry per connected multiplexor.
func (s *Server) Stats() []LinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]LinkStats, 0, len(s.links))
	for _, l := range s.links {
		out = append(out, LinkStats{
			Name: l.name, Remote: l.remote, Since: l.since,
			Streams: l.sess.NumStreams(), StreamsTotal: l.total.Load(),
			BytesIn: l.in.Load(), BytesOut: l.out.Load(),
		})
	}
	return out
}
