package link

import (
	"encoding/binary"
	"net"
	"sync"
)

// yamux frame header (hashicorp/yamux spec.md): version, type, flags,
// stream id, length; 12 bytes. A data frame with a length is always
// followed by its body in the next Write of yamux's send loop.
const (
	yamuxHeaderSize = 12
	yamuxTypeData   = 0
)

// coalescer merges a yamux data frame header with the body that follows
// it into one writev, halving the syscalls (and TLS records) per frame.
// yamux's send loop is the only writer, but the mutex keeps Close safe.
type coalescer struct {
	net.Conn // yamux asks it for the addresses too
	mu       sync.Mutex
	hdr      [yamuxHeaderSize]byte
	held     bool
	bufs     net.Buffers
}

func (c *coalescer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.held && len(p) == yamuxHeaderSize && p[1] == yamuxTypeData && binary.BigEndian.Uint32(p[8:12]) > 0 {
		copy(c.hdr[:], p)
		c.held = true
		return len(p), nil
	}
	if !c.held {
		return c.Conn.Write(p)
	}
	c.held = false
	if _, isTCP := c.Conn.(*net.TCPConn); isTCP {
		c.bufs = append(c.bufs[:0], c.hdr[:], p) // writev
		n, err := c.bufs.WriteTo(c.Conn)
		return max(int(n)-yamuxHeaderSize, 0), err
	}
	// Other conns (TLS): one write, so one record, for header and body.
	b := make([]byte, 0, yamuxHeaderSize+len(p))
	b = append(append(b, c.hdr[:]...), p...)
	n, err := c.Conn.Write(b)
	return max(n-yamuxHeaderSize, 0), err
}
