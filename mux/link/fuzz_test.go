package link

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// scriptConn is a net.Conn that reads from a fixed script and discards
// writes: the fuzz targets run the handshake readers on arbitrary input.
type scriptConn struct {
	net.Conn
	r       *bytes.Reader
	written bytes.Buffer
}

func (c *scriptConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error)      { return c.written.Write(p) }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }
func (c *scriptConn) consumed(total int) int           { return total - c.r.Len() }
func newScript(data []byte) *scriptConn                { return &scriptConn{r: bytes.NewReader(data)} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }

const fuzzHeader = "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept'"

// FuzzAcceptHandshake: the server side never panics, never reads past its
// limit, and never accepts (the stream id is random, so no input can know
// the digest).
func FuzzAcceptHandshake(f *testing.F) {
	for _, s := range []string{
		fuzzHeader + " to='mux1'><handshake>00</handshake>",
		fuzzHeader + " to='mux1'><handshake/>",
		fuzzHeader + " to='mux9'>",
		"<stream:stream xmlns='jabber:client'>",
		"<?xml version='1.0'?><!-- c --><stream:stream>",
		"\x16\x03\x01\x00\xa5",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newScript(data)
		_, err := AcceptHandshake(c, time.Second, peers)
		if err == nil {
			t.Fatal("accepted a handshake without knowing the id")
		}
		if n := c.consumed(len(data)); n > maxHandshakeBytes {
			t.Fatalf("read %d bytes, limit %d", n, maxHandshakeBytes)
		}
	})
}

// FuzzHandshake: the multiplexor side never panics, and when it succeeds
// it has read exactly up to the end of the server's <handshake/>.
func FuzzHandshake(f *testing.F) {
	ok := fuzzHeader + " from='mux1' id='abc'><handshake/>"
	for _, s := range []string{
		ok + "YAMUX",
		fuzzHeader + " id='abc'><handshake></handshake>tail",
		fuzzHeader + "><stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
		fuzzHeader + " id='x'><stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>t</text></stream:error>",
		"<a>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newScript(data)
		err := Handshake(c, time.Second, "mux1", "s3cret")
		n := c.consumed(len(data))
		if n > maxHandshakeBytes {
			t.Fatalf("read %d bytes, limit %d", n, maxHandshakeBytes)
		}
		var se *StreamError
		if errors.As(err, &se) && se.Condition == "" {
			t.Fatal("stream error without condition")
		}
		if err == nil && !(bytes.HasSuffix(data[:n], []byte("/>")) || bytes.HasSuffix(data[:n], []byte("handshake>"))) {
			t.Fatalf("success but consumed %q", data[:n])
		}
	})
}

func TestFuzzHandshakeSeedStopsAtHandshake(t *testing.T) {
	data := []byte(fuzzHeader + " from='mux1' id='abc'><handshake/>YAMUX")
	c := newScript(data)
	if err := Handshake(c, time.Second, "mux1", "s3cret"); err != nil {
		t.Fatal(err)
	}
	if rest := string(data[c.consumed(len(data)):]); rest != "YAMUX" {
		t.Fatalf("left %q unread, want YAMUX", rest)
	}
	if !strings.Contains(c.written.String(), "<handshake>"+Digest("abc", "s3cret")+"</handshake>") {
		t.Fatalf("wrote %q", c.written.String())
	}
}

// FuzzReadHeader: any input either fails or yields a header that reads
// exactly its own length and survives a round trip.
func FuzzReadHeader(f *testing.F) {
	for _, m := range []Meta{
		{Remote: tcpAddr("192.0.2.1:5000"), Local: tcpAddr("127.0.0.1:5222")},
		{Remote: tcpAddr("[2001:db8::1]:5000"), Local: tcpAddr("[::1]:5223"), TLSTerminated: true, TLSVersion: "TLS 1.3", ServerName: "example.org"},
		{},
	} {
		b, err := AppendHeader(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append(b, "<stream:stream"...))
	}
	f.Add([]byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		m, err := ReadHeader(r)
		if err != nil {
			return
		}
		used := len(data) - r.Len()
		if want := 16 + (int(data[14])<<8 | int(data[15])); used != want {
			t.Fatalf("read %d bytes, header is %d", used, want)
		}
		b, err := AppendHeader(m)
		if err != nil {
			return // e.g. a Unix address family, which we never send
		}
		m2, err := ReadHeader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("re-read of %x: %v", b, err)
		}
		if m2.Remote == nil && mixedFamilies(m) {
			return // sent as LOCAL by design
		}
		if m2.TLSTerminated != m.TLSTerminated || addrString(m2.Remote) != addrString(m.Remote) {
			t.Fatalf("round trip %+v -> %+v", m, m2)
		}
	})
}

func mixedFamilies(m Meta) bool {
	ip := func(a net.Addr) net.IP {
		switch a := a.(type) {
		case *net.TCPAddr:
			return a.IP
		case *net.UDPAddr:
			return a.IP
		}
		return nil
	}
	r, l := ip(m.Remote), ip(m.Local)
	return r != nil && l != nil && (r.To4() == nil) != (l.To4() == nil)
}
