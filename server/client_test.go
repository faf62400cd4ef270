package server

import (
	"bufio"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xmppd/xmppd/xmpp/dom"
)

// testClient is a minimal raw XMPP client for tests.
type testClient struct {
	t    testing.TB
	conn net.Conn
	dec  *xml.Decoder
	jid  string
}

func dialRaw(t testing.TB, addr string) *testClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	tc := &testClient{t: t, conn: c}
	tc.reset()
	return tc
}

func (c *testClient) reset() { c.dec = xml.NewDecoder(bufio.NewReader(c.conn)) }

func (c *testClient) send(s string) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// open sends a stream header and reads the answer header and features.
func (c *testClient) open(to string) *dom.Element {
	c.t.Helper()
	c.reset()
	c.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" + to + "' version='1.0'>")
	c.header()
	return c.next()
}

func (c *testClient) header() {
	c.t.Helper()
	for {
		tok, err := c.token()
		if err != nil {
			c.t.Fatalf("header: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "stream" {
				c.t.Fatalf("expected stream header, got %v", se.Name)
			}
			return
		}
	}
}

func (c *testClient) token() (xml.Token, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	return c.dec.Token()
}

// next reads the next top-level element; it fails the test at stream end.
func (c *testClient) next() *dom.Element {
	c.t.Helper()
	el, err := c.nextErr()
	if err != nil {
		c.t.Fatalf("next: %v", err)
	}
	return el
}

func (c *testClient) nextErr() (*dom.Element, error) {
	for {
		tok, err := c.token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return dom.Read(c.dec, t)
		case xml.EndElement:
			return nil, io.EOF
		}
	}
}

// expect reads elements until one named local arrives (skipping others).
func (c *testClient) expect(local string) *dom.Element {
	c.t.Helper()
	for i := 0; i < 50; i++ {
		el := c.next()
		if el.Local == local {
			return el
		}
	}
	c.t.Fatalf("no <%s/> in 50 elements", local)
	return nil
}

// streamError reads until the stream error and returns its condition.
func (c *testClient) streamError() string {
	c.t.Helper()
	for i := 0; i < 20; i++ {
		el, err := c.nextErr()
		if err != nil {
			c.t.Fatalf("no stream error before %v", err)
		}
		if el.Local == "error" && el.Space == nsStreams {
			for _, ch := range el.Children {
				if ch.Space == "urn:ietf:params:xml:ns:xmpp-streams" && ch.Local != "text" {
					return ch.Local
				}
			}
		}
	}
	c.t.Fatal("no stream error")
	return ""
}

func plainAuth(user, pass string) string {
	return "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "</auth>"
}

// login runs PLAIN (no TLS in tests), bind and initial presence.
func (c *testClient) login(user, pass, res string) {
	c.t.Helper()
	c.open("localhost")
	c.send(plainAuth(user, pass))
	if el := c.next(); el.Local != "success" {
		c.t.Fatalf("auth: %s", el)
	}
	c.open("localhost")
	c.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + res + "</resource></bind></iq>")
	el := c.expect("iq")
	c.jid = el.Child("", "bind").ChildText("", "jid")
	if !strings.HasPrefix(c.jid, user+"@localhost/") {
		c.t.Fatalf("bind: %s", el)
	}
}

func (c *testClient) presence() {
	c.t.Helper()
	c.send("<presence/>")
	p := c.expect("presence")
	if p.Get("from") != c.jid {
		c.t.Fatalf("own presence echo: %s", p)
	}
}

func (c *testClient) String() string { return fmt.Sprintf("client(%s)", c.jid) }
