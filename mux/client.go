package mux

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/xmppd/xmppd/mux/link"
)

// acceptLoop accepts clients on ln until it is closed. Temporary errors
// (out of descriptors) back off from 5 ms to 1 s, as net/http does.
func (m *Mux) acceptLoop(ln net.Listener, terminate bool) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if isClosed(err) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			m.log.Warn("mux accept failed", "addr", ln.Addr().String(), "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		sess := m.sess.Load()
		switch {
		case sess == nil:
			m.ctr.refusedNoLink.Add(1)
			_ = c.Close() // refused: nothing to report to the client
			continue
		case m.ctr.clients.Add(1) > int64(m.cfg.Limits.MaxClients):
			m.ctr.clients.Add(-1)
			m.ctr.refusedFull.Add(1)
			_ = c.Close()
			continue
		}
		m.ctr.clientsTotal.Add(1)
		m.addClient(c)
		m.goTracked(func() { m.serveClient(sess, c, terminate) })
	}
}

// serveClient opens the client's stream and copies bytes both ways. The
// goroutine that reads the client also waits for the other direction, so
// a client counts as gone only when both directions are done.
func (m *Mux) serveClient(sess *yamux.Session, c net.Conn, terminate bool) {
	defer m.ctr.clients.Add(-1)
	defer m.removeClient(c)
	defer c.Close()
	meta := link.Meta{Remote: c.RemoteAddr(), Local: c.LocalAddr()}
	if terminate {
		tc := tls.Server(c, m.tlsCfg)
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.Listen.TLSHandshakeTimeout.Duration)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			m.log.Debug("mux client tls handshake failed", "remote", meta.Remote.String(), "err", err)
			return
		}
		st := tc.ConnectionState()
		meta.TLSTerminated, meta.TLSVersion, meta.ServerName = true, tls.VersionName(st.Version), st.ServerName
		c = tc
	}
	st, err := link.Open(sess, meta)
	if err != nil {
		m.log.Debug("mux open stream failed", "remote", meta.Remote.String(), "err", err)
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.down(st, c)
	}()
	m.up(c, st)
	<-done
}

// Buffers: an idle client holds only the small buffers; a read that fills
// one switches to a pooled large buffer until the data is drained.
const (
	smallBuf = 1 << 10
	largeBuf = 32 << 10
)

var largePool = sync.Pool{New: func() any { b := make([]byte, largeBuf); return &b }}

// copier copies src to dst with the adaptive buffer.
type copier struct {
	small [smallBuf]byte
	large *[]byte
}

func (cp *copier) buf() []byte {
	if cp.large != nil {
		return *cp.large
	}
	return cp.small[:]
}

// adapt grows after a full read and shrinks after a short one.
func (cp *copier) adapt(n, size int) {
	switch {
	case n == size && cp.large == nil:
		cp.large = largePool.Get().(*[]byte)
	case n < size && cp.large != nil:
		largePool.Put(cp.large)
		cp.large = nil
	}
}

func (cp *copier) release() {
	if cp.large != nil {
		largePool.Put(cp.large)
		cp.large = nil
	}
}

// up copies client -> server. On the client's EOF it half-closes the
// stream (FIN), so the server sees the client's end of input.
func (m *Mux) up(c net.Conn, st *yamux.Stream) {
	cp := new(copier)
	defer cp.release()
	for {
		b := cp.buf()
		n, err := c.Read(b)
		if n > 0 {
			m.ctr.bytesUp.Add(uint64(n))
			if _, werr := st.Write(b[:n]); werr != nil {
				_ = c.Close()
				return
			}
		}
		if err != nil {
			_ = st.Close() // sends FIN; the stream may already be gone
			return
		}
		cp.adapt(n, len(b))
	}
}

// down copies server -> client with a write deadline, so a client that
// never reads is cut off after limits.write_timeout. Its stream's window
// (limits.client_buffer_bytes) fills meanwhile and the server is held back
// on that stream only: other clients on the link are not affected.
func (m *Mux) down(st *yamux.Stream, c net.Conn) {
	cp := new(copier)
	defer cp.release()
	defer c.Close() // the server closed the stream or the link dropped
	wt := m.cfg.Limits.WriteTimeout.Duration
	var deadline time.Time
	for {
		b := cp.buf()
		n, err := st.Read(b)
		if n > 0 {
			m.ctr.bytesDown.Add(uint64(n))
			// Moving the deadline costs a timer update: do it only when
			// it has drifted by more than an eighth of the timeout.
			if now := time.Now(); now.Add(wt).Sub(deadline) > wt/8 {
				deadline = now.Add(wt)
				if derr := c.SetWriteDeadline(deadline); derr != nil {
					_ = st.Close()
					return
				}
			}
			if _, werr := c.Write(b[:n]); werr != nil {
				m.ctr.writeTimeouts.Add(boolToU64(isTimeout(werr)))
				_ = st.Close()
				return
			}
		}
		if err != nil {
			return
		}
		if n < len(b) {
			st.Shrink() // release yamux's receive buffer while idle
		}
		cp.adapt(n, len(b))
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func boolToU64(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// counters are the multiplexor's statistics.
type counters struct {
	clients                     atomic.Int64
	clientsTotal                atomic.Uint64
	refusedNoLink, refusedFull  atomic.Uint64
	bytesUp, bytesDown          atomic.Uint64
	linksUp, linkDrops          atomic.Uint64
	reconnects, connectFailures atomic.Uint64
	writeTimeouts               atomic.Uint64
	linkSince                   atomic.Int64
}

var _ io.Closer = (*yamux.Stream)(nil)
