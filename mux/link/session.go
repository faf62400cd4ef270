package link

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/hashicorp/yamux"
)

// Tuning holds the yamux settings both ends of a link use. The stream
// window is the per-client buffer: a client that stops reading fills its
// own window and blocks only its own stream, never the link.
type Tuning struct {
	// Window is the largest receive window of one stream, in bytes
	// (yamux's minimum, 256 KiB, is also the default).
	Window uint32
	// KeepAlive is the interval of yamux pings that detect a dead link.
	KeepAlive time.Duration
	// WriteTimeout closes the link when a frame cannot be written for
	// that long (the peer or the network is stuck).
	WriteTimeout time.Duration
	// Backlog is the number of opened streams waiting to be accepted.
	Backlog int
}

// DefaultTuning returns the settings used when a field is zero.
func DefaultTuning() Tuning {
	return Tuning{Window: 256 << 10, KeepAlive: 10 * time.Second, WriteTimeout: 15 * time.Second, Backlog: 1024}
}

func (t Tuning) writeTimeout() time.Duration {
	if t.WriteTimeout == 0 {
		return DefaultTuning().WriteTimeout
	}
	return t.WriteTimeout
}

func (t Tuning) yamux() *yamux.Config {
	d := DefaultTuning()
	if t.Window == 0 {
		t.Window = d.Window
	}
	if t.KeepAlive == 0 {
		t.KeepAlive = d.KeepAlive
	}
	if t.WriteTimeout == 0 {
		t.WriteTimeout = d.WriteTimeout
	}
	if t.Backlog == 0 {
		t.Backlog = d.Backlog
	}
	c := yamux.DefaultConfig()
	c.AcceptBacklog = t.Backlog
	c.EnableKeepAlive = true
	c.KeepAliveInterval = t.KeepAlive
	c.ConnectionWriteTimeout = t.WriteTimeout
	c.MaxStreamWindowSize = max(t.Window, d.Window)
	c.StreamOpenTimeout = 30 * time.Second
	c.StreamCloseTimeout = 30 * time.Second
	c.LogOutput = io.Discard
	return c
}

// Client starts the multiplexor's side of the yamux session on c, after
// Handshake succeeded. The multiplexor opens one stream per client.
func Client(c net.Conn, t Tuning) (*yamux.Session, error) {
	return yamux.Client(newBatchWriter(c, t.writeTimeout()), t.yamux())
}

// Open opens a stream for one client on the multiplexor's session and
// writes its PROXY v2 header; the caller then copies the client's bytes.
func Open(s *yamux.Session, m Meta) (*yamux.Stream, error) {
	hdr, err := AppendHeader(m)
	if err != nil {
		return nil, err
	}
	st, err := s.OpenStream()
	if err != nil {
		return nil, fmt.Errorf("link: open stream: %w", err)
	}
	if _, err := st.Write(hdr); err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("link: write proxy header: %w", err)
	}
	return st, nil
}
