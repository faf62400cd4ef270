package link

import (
	"net"
	"sync/atomic"
	"time"

	"github.com/hashicorp/yamux"
)

// Conn is one client's stream as the server sees it: a net.Conn whose
// addresses are the client's, as the multiplexor reported them.
type Conn struct {
	*yamux.Stream
	meta   Meta
	link   *serverLink
	closed atomic.Bool
}

var _ net.Conn = (*Conn)(nil)

// Meta returns what the PROXY header said about the client.
func (c *Conn) Meta() Meta { return c.meta }

// RemoteAddr is the client's address.
func (c *Conn) RemoteAddr() net.Addr { return c.meta.Remote }

// LocalAddr is the address the client connected to on the multiplexor.
func (c *Conn) LocalAddr() net.Addr { return c.meta.Local }

func (c *Conn) Read(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	n, err := c.Stream.Read(p)
	c.link.in.Add(uint64(n))
	if err != nil && c.closed.Load() {
		err = net.ErrClosed
	}
	return n, err
}

func (c *Conn) Write(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	n, err := c.Stream.Write(p)
	c.link.out.Add(uint64(n))
	return n, err
}

// Close sends FIN to the multiplexor (which then closes the client's
// socket) and wakes a Read blocked on this conn, as closing a TCP conn does.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	err := c.Stream.Close()
	_ = c.Stream.SetReadDeadline(time.Now()) // never fails on yamux
	return err
}
