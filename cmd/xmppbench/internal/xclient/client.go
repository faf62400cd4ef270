// Package xclient is xmppbench's lean XMPP client (RFC 6120 streams, STARTTLS,
// SASL PLAIN and SCRAM (RFC 5802, RFC 7677; keys cached per account like real
// clients do), resource binding; RFC 6121 roster get and presence).
//
// It is written for load generation, not for general use: stanzas are
// pre-built strings written as they are, and replies are found by scanning
// the raw bytes for the element that ends a step (the way tsung waits for a
// regexp), so one process can drive thousands of sessions on one core.
package xclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"mellium.im/sasl"
)

// TLSMode selects how the stream is secured.
type TLSMode int

// The TLS modes: plaintext, STARTTLS (RFC 6120 section 5), direct TLS
// (XEP-0368).
const (
	TLSNone TLSMode = iota
	TLSStartTLS
	TLSDirect
)

// Config is shared by all sessions of one run.
type Config struct {
	Addr      string
	Domain    string
	TLS       TLSMode
	TLSConfig *tls.Config
	Mech      string // PLAIN, SCRAM-SHA-256, SCRAM-SHA-1 or "" (best offered)
	Resource  string
	Timeout   time.Duration // per login step
	NoRoster  bool          // skip the roster get (send presence right after bind)
	Nagle     bool          // leave Nagle's algorithm on (Go turns it off by default)
	// SCRAMCache runs SCRAM with our own client, which keeps the keys
	// derived from the salted password per (mechanism, user, password,
	// salt, iterations) for the whole process, as real clients do; false
	// uses mellium's client, which runs PBKDF2 on every login.
	SCRAMCache bool
}

// Timings of one login, measured from the start of the TCP connect.
type Timings struct {
	Connect time.Duration // TCP (and direct TLS) established
	Login   time.Duration // bind result received (tsung's "login" transaction)
	Roster  time.Duration // roster get answered (from the end of bind)
}

// Conn is one logged-in session.
type Conn struct {
	nc   net.Conn
	cfg  *Config
	buf  []byte // bytes read during login and not consumed yet
	JID  string
	rbuf []byte
}

// Errors that classify a failed login.
var (
	ErrAuth    = errors.New("xclient: authentication failed")
	ErrStream  = errors.New("xclient: stream error")
	ErrBind    = errors.New("xclient: bind failed")
	ErrFeature = errors.New("xclient: feature missing")
)

// Login dials addr from local (may be nil) and runs the whole login:
// [TLS], SASL, bind, roster get, initial presence.
func Login(ctx context.Context, cfg *Config, d *net.Dialer, user, pass string) (*Conn, Timings, error) {
	var t Timings
	t0 := time.Now()
	nc, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, t, fmt.Errorf("xclient: connect: %w", err)
	}
	if tc, ok := nc.(*net.TCPConn); ok && cfg.Nagle {
		_ = tc.SetNoDelay(false) // best effort: only changes batching of small writes
	}
	c := &Conn{nc: nc, cfg: cfg}
	if cfg.TLS == TLSDirect {
		if err := c.handshake(); err != nil {
			nc.Close()
			return nil, t, err
		}
	}
	t.Connect = time.Since(t0)
	if err := c.negotiate(user, pass); err != nil {
		nc.Close()
		return nil, t, err
	}
	t.Login = time.Since(t0)
	if err := c.rosterAndPresence(); err != nil {
		nc.Close()
		return nil, t, err
	}
	t.Roster = time.Since(t0) - t.Login
	_ = nc.SetDeadline(time.Time{}) // clearing a deadline cannot fail on a live conn
	return c, t, nil
}

func (c *Conn) handshake() error {
	tc := tls.Client(c.nc, c.cfg.TLSConfig)
	_ = tc.SetDeadline(time.Now().Add(c.cfg.Timeout))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("xclient: tls: %w", err)
	}
	c.nc = tc
	return nil
}

// negotiate runs stream header, [STARTTLS], SASL, restart and bind.
func (c *Conn) negotiate(user, pass string) error {
	_ = c.nc.SetDeadline(time.Now().Add(c.cfg.Timeout))
	feats, err := c.openStream()
	if err != nil {
		return err
	}
	if c.cfg.TLS == TLSStartTLS {
		if !bytes.Contains(feats, []byte("<starttls")) {
			return fmt.Errorf("%w: starttls", ErrFeature)
		}
		if err := c.startTLS(); err != nil {
			return err
		}
		if feats, err = c.openStream(); err != nil {
			return err
		}
	}
	if err := c.auth(feats, user, pass); err != nil {
		return err
	}
	if _, err := c.openStream(); err != nil {
		return err
	}
	return c.bind()
}

func (c *Conn) write(s string) error {
	if _, err := c.nc.Write([]byte(s)); err != nil {
		return fmt.Errorf("xclient: write: %w", err)
	}
	return nil
}

// openStream sends a stream header and returns the stream features.
func (c *Conn) openStream() ([]byte, error) {
	c.buf = c.buf[:0]
	if err := c.write("<?xml version='1.0'?><stream:stream to='" + c.cfg.Domain +
		"' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"); err != nil {
		return nil, err
	}
	for {
		if i := bytes.Index(c.buf, []byte("<stream:features")); i >= 0 {
			if e := bytes.Index(c.buf[i:], []byte("</stream:features>")); e >= 0 {
				feats := append([]byte(nil), c.buf[i:i+e]...)
				c.consume(i + e + len("</stream:features>"))
				return feats, nil
			}
			if bytes.HasPrefix(c.buf[i:], []byte("<stream:features/>")) {
				c.consume(i + len("<stream:features/>"))
				return nil, nil
			}
		}
		if bytes.Contains(c.buf, []byte("<stream:error")) {
			return nil, fmt.Errorf("%w: %.200s", ErrStream, c.buf)
		}
		if err := c.fill(); err != nil {
			return nil, err
		}
	}
}

func (c *Conn) fill() error {
	if c.rbuf == nil {
		c.rbuf = make([]byte, 4096)
	}
	n, err := c.nc.Read(c.rbuf)
	c.buf = append(c.buf, c.rbuf[:n]...)
	if err != nil && n == 0 {
		return fmt.Errorf("xclient: read: %w", err)
	}
	return nil
}

func (c *Conn) consume(n int) {
	c.buf = c.buf[:copy(c.buf, c.buf[n:])]
}

// element is one top-level element read during login.
type element struct {
	name  string
	head  []byte // start tag
	inner []byte // content between start and end tag
}

// nextElement reads the next complete top-level element (skipping
// whitespace). It understands only what login needs: no nested element of
// the same name, no '>' inside attribute values.
func (c *Conn) nextElement() (element, error) {
	for {
		if el, n, ok := splitElement(c.buf); ok {
			c.consume(n)
			return el, nil
		}
		if err := c.fill(); err != nil {
			return element{}, err
		}
	}
}

// splitElement parses one element at the start of b; n is its length.
func splitElement(b []byte) (el element, n int, ok bool) {
	s := 0
	for s < len(b) && (b[s] == ' ' || b[s] == '\n' || b[s] == '\r' || b[s] == '\t') {
		s++
	}
	if s >= len(b) || b[s] != '<' {
		return el, 0, false
	}
	gt := bytes.IndexByte(b[s:], '>')
	if gt < 0 {
		return el, 0, false
	}
	head := b[s : s+gt+1]
	name := head[1:]
	if k := bytes.IndexAny(name, " \t\r\n/>"); k >= 0 {
		name = name[:k]
	}
	el.name, el.head = string(name), head
	if head[len(head)-2] == '/' {
		return el, s + gt + 1, true
	}
	end := bytes.Index(b[s+gt+1:], []byte("</"+el.name+">"))
	if end < 0 {
		return el, 0, false
	}
	el.inner = b[s+gt+1 : s+gt+1+end]
	return el, s + gt + 1 + end + len(el.name) + 3, true
}

func (c *Conn) startTLS() error {
	if err := c.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"); err != nil {
		return err
	}
	el, err := c.nextElement()
	if err != nil {
		return err
	}
	if el.name != "proceed" {
		return fmt.Errorf("%w: starttls answered with %s", ErrFeature, el.name)
	}
	if len(c.buf) != 0 {
		return fmt.Errorf("%w: bytes after <proceed/>", ErrStream)
	}
	return c.handshake()
}

// pickMech chooses the configured mechanism, or the best offered one.
func (c *Conn) pickMech(feats []byte) (sasl.Mechanism, error) {
	offered := func(m string) bool {
		return bytes.Contains(feats, []byte("<mechanism>"+m+"</mechanism>"))
	}
	byName := map[string]sasl.Mechanism{"PLAIN": sasl.Plain, "SCRAM-SHA-1": sasl.ScramSha1, "SCRAM-SHA-256": sasl.ScramSha256}
	if c.cfg.Mech != "" {
		m, ok := byName[strings.ToUpper(c.cfg.Mech)]
		if !ok || !offered(m.Name) {
			return sasl.Mechanism{}, fmt.Errorf("%w: mechanism %s not offered", ErrFeature, c.cfg.Mech)
		}
		return m, nil
	}
	for _, m := range []sasl.Mechanism{sasl.ScramSha256, sasl.ScramSha1, sasl.Plain} {
		if offered(m.Name) {
			return m, nil
		}
	}
	return sasl.Mechanism{}, fmt.Errorf("%w: no usable SASL mechanism", ErrFeature)
}

const nsSASL = "urn:ietf:params:xml:ns:xmpp-sasl"

// auth runs the SASL exchange (RFC 6120 section 6): PLAIN in one message,
// SCRAM with our caching client (Config.SCRAMCache) or mellium's.
func (c *Conn) auth(feats []byte, user, pass string) error {
	m, err := c.pickMech(feats)
	if err != nil {
		return err
	}
	if m.Name == "PLAIN" { // no state machine needed: one message
		resp := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
		if err := c.write("<auth xmlns='" + nsSASL + "' mechanism='PLAIN'>" + resp + "</auth>"); err != nil {
			return err
		}
		return c.saslResult(nil)
	}
	if c.cfg.SCRAMCache {
		return c.authSCRAM(m.Name, user, pass)
	}
	neg := sasl.NewClient(m, sasl.Credentials(func() ([]byte, []byte, []byte) {
		return []byte(user), []byte(pass), nil
	}))
	_, resp, err := neg.Step(nil)
	if err != nil {
		return fmt.Errorf("xclient: sasl: %w", err)
	}
	if err := c.write("<auth xmlns='" + nsSASL + "' mechanism='" + m.Name + "'>" +
		base64.StdEncoding.EncodeToString(resp) + "</auth>"); err != nil {
		return err
	}
	return c.saslResult(neg)
}

// saslResult answers challenges until success or failure.
func (c *Conn) saslResult(neg *sasl.Negotiator) error {
	for n := 0; ; n++ {
		el, err := c.nextElement()
		if err != nil {
			return err
		}
		switch el.name {
		case "success":
			if neg != nil && len(el.inner) > 0 && string(el.inner) != "=" {
				data, err := base64.StdEncoding.DecodeString(string(el.inner))
				if err != nil {
					return fmt.Errorf("%w: bad success data: %w", ErrAuth, err)
				}
				if _, _, err := neg.Step(data); err != nil {
					return fmt.Errorf("%w: server signature: %w", ErrAuth, err)
				}
			}
			return nil
		case "challenge":
			if neg == nil {
				return fmt.Errorf("%w: unexpected challenge", ErrAuth)
			}
			data, err := base64.StdEncoding.DecodeString(string(el.inner))
			if err != nil {
				return fmt.Errorf("%w: bad challenge: %w", ErrAuth, err)
			}
			_, resp, err := neg.Step(data)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrAuth, err)
			}
			if n == 0 { // mellium derived the salted password from the server-first
				cache.pbkdf2.Add(1)
			}
			if err := c.write("<response xmlns='" + nsSASL + "'>" + base64.StdEncoding.EncodeToString(resp) + "</response>"); err != nil {
				return err
			}
		case "failure":
			return fmt.Errorf("%w: %.200s", ErrAuth, el.inner)
		default:
			return fmt.Errorf("%w: unexpected <%s> during SASL", ErrStream, el.name)
		}
	}
}

// authSCRAM runs SCRAM with our own client and the process-wide key cache.
// The login fails unless the server proves it knows the password (v=).
func (c *Conn) authSCRAM(mech, user, pass string) error {
	s, err := newSCRAM(mech, user, pass, "", true)
	if err != nil {
		return err
	}
	if err := c.write("<auth xmlns='" + nsSASL + "' mechanism='" + mech + "'>" +
		base64.StdEncoding.EncodeToString(s.first()) + "</auth>"); err != nil {
		return err
	}
	data, name, err := c.saslElement()
	if err != nil {
		return err
	}
	if name != "challenge" {
		return fmt.Errorf("%w: <%s> instead of the server-first challenge", ErrAuth, name)
	}
	resp, err := s.final(data)
	if err != nil {
		return err
	}
	if err := c.write("<response xmlns='" + nsSASL + "'>" + base64.StdEncoding.EncodeToString(resp) + "</response>"); err != nil {
		return err
	}
	if data, name, err = c.saslElement(); err != nil {
		return err
	}
	if err := s.verify(data); err != nil {
		return err
	}
	if name == "challenge" { // server-final sent as a challenge (RFC 6120 6.3.10)
		if err := c.write("<response xmlns='" + nsSASL + "'/>"); err != nil {
			return err
		}
		if _, name, err = c.saslElement(); err != nil {
			return err
		}
	}
	if name != "success" {
		return fmt.Errorf("%w: <%s> instead of <success/>", ErrAuth, name)
	}
	return nil
}

// saslElement reads the next SASL element and decodes its base64 content;
// a <failure/> is an ErrAuth.
func (c *Conn) saslElement() ([]byte, string, error) {
	el, err := c.nextElement()
	if err != nil {
		return nil, "", err
	}
	switch el.name {
	case "challenge", "success":
	case "failure":
		return nil, el.name, fmt.Errorf("%w: %.200s", ErrAuth, el.inner)
	default:
		return nil, el.name, fmt.Errorf("%w: unexpected <%s> during SASL", ErrStream, el.name)
	}
	in := bytes.TrimSpace(el.inner)
	if len(in) == 0 || string(in) == "=" {
		return nil, el.name, nil
	}
	data, err := base64.StdEncoding.DecodeString(string(in))
	if err != nil {
		return nil, el.name, fmt.Errorf("%w: bad base64 in <%s>: %w", ErrAuth, el.name, err)
	}
	return data, el.name, nil
}
