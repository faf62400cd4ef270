package xclient

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// bind asks for the configured resource (RFC 6120 section 7).
func (c *Conn) bind() error {
	res := ""
	if c.cfg.Resource != "" {
		res = "<resource>" + c.cfg.Resource + "</resource>"
	}
	if err := c.write("<iq type='set' id='xb-bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>" +
		res + "</bind></iq>"); err != nil {
		return err
	}
	el, err := c.waitIQ("xb-bind")
	if err != nil {
		return err
	}
	if !hasAttr(el.head, "type", "result") {
		return fmt.Errorf("%w: %.200s", ErrBind, el.inner)
	}
	if i := bytes.Index(el.inner, []byte("<jid>")); i >= 0 {
		j := el.inner[i+5:]
		if e := bytes.IndexByte(j, '<'); e >= 0 {
			c.JID = string(j[:e])
		}
	}
	return nil
}

// rosterAndPresence gets the roster (RFC 6121 section 2.1.3) and sends the
// initial presence, which makes the session available for messages.
func (c *Conn) rosterAndPresence() error {
	if c.cfg.NoRoster {
		return c.write("<presence/>")
	}
	if err := c.write("<iq type='get' id='xb-roster'><query xmlns='jabber:iq:roster'/></iq>"); err != nil {
		return err
	}
	el, err := c.waitIQ("xb-roster")
	if err != nil {
		return err
	}
	if !hasAttr(el.head, "type", "result") {
		return fmt.Errorf("xclient: roster get failed: %.200s", el.inner)
	}
	return c.write("<presence/>")
}

// waitIQ skips other stanzas until the iq with this id arrives. Skipped
// messages are kept for the scanner (a user may be sent a message as soon
// as its presence is out, but never before: this only matters for bind).
func (c *Conn) waitIQ(id string) (element, error) {
	for {
		el, err := c.nextElement()
		if err != nil {
			return el, err
		}
		switch el.name {
		case "iq":
			if hasAttr(el.head, "id", id) {
				return el, nil
			}
		case "stream:error":
			return el, fmt.Errorf("%w: %.200s", ErrStream, el.inner)
		}
	}
}

// hasAttr reports whether a start tag carries name='value' (either quote).
func hasAttr(head []byte, name, value string) bool {
	return bytes.Contains(head, []byte(" "+name+"='"+value+"'")) ||
		bytes.Contains(head, []byte(" "+name+`="`+value+`"`))
}

// Write sends raw bytes (a pre-built stanza) with a deadline.
func (c *Conn) Write(b []byte, timeout time.Duration) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.nc.Write(b); err != nil {
		return fmt.Errorf("xclient: write: %w", err)
	}
	return nil
}

// ReadLoop feeds every received message element to fn until the stream
// ends. It returns nil on a clean end of stream (EOF or a closed conn after
// Close). bufSize bounds one read.
func (c *Conn) ReadLoop(bufSize int, fn func(elem []byte)) error {
	var sc Scanner
	if len(c.buf) > 0 {
		sc.Feed(c.buf, fn)
		c.buf = nil
	}
	c.rbuf = nil
	buf := make([]byte, bufSize)
	for {
		n, err := c.nc.Read(buf)
		if n > 0 {
			sc.Feed(buf[:n], fn)
		}
		if err != nil {
			if err == io.EOF || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("xclient: read: %w", err)
		}
	}
}

// Close sends unavailable presence and the stream end, then closes the
// socket without waiting for the server's stream end (as tsung does).
func (c *Conn) Close() error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, werr := c.nc.Write([]byte("<presence type='unavailable'/></stream:stream>"))
	if err := c.nc.Close(); err != nil {
		return fmt.Errorf("xclient: close: %w", err)
	}
	if werr != nil {
		return fmt.Errorf("xclient: close: %w", werr)
	}
	return nil
}

// Abort closes the socket without a stream end.
func (c *Conn) Abort() { c.nc.Close() }
