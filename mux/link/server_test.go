package link

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/yamux"
)

// startServer runs a Server on loopback; handle defaults to echo.
func startServer(t *testing.T, handle func(net.Conn, Meta)) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if handle == nil {
		handle = func(c net.Conn, _ Meta) {
			defer c.Close()
			_, _ = io.Copy(c, c)
		}
	}
	s := &Server{Peers: []Peer{{"mux1", "s3cret"}, {"mux2", "other"}}, Handle: handle}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v", err)
		}
	})
	return s, ln.Addr().String()
}

// connect plays the multiplexor: handshake then yamux client.
func connect(t *testing.T, addr, name, secret string) (*yamux.Session, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := Handshake(c, 20*time.Second, name, secret); err != nil {
		c.Close()
		t.Fatal(err)
	}
	sess, err := Client(c, Tuning{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess, c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func TestServerEchoAndMeta(t *testing.T) {
	metas := make(chan Meta, 1)
	s, addr := startServer(t, func(c net.Conn, m Meta) {
		metas <- m
		if c.RemoteAddr().String() != m.Remote.String() {
			t.Errorf("RemoteAddr %v, meta %v", c.RemoteAddr(), m.Remote)
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	})
	sess, _ := connect(t, addr, "mux1", "s3cret")
	st, err := Open(sess, Meta{Remote: tcpAddr("192.0.2.9:4242"), Local: tcpAddr("127.0.0.1:5223"), TLSTerminated: true, TLSVersion: "TLS 1.3"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write([]byte("<stream:stream>")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 15)
	if _, err := io.ReadFull(st, buf); err != nil || string(buf) != "<stream:stream>" {
		t.Fatalf("echo %q %v", buf, err)
	}
	m := <-metas
	if m.Mux != "mux1" || m.Remote.String() != "192.0.2.9:4242" || !m.TLSTerminated || m.TLSVersion != "TLS 1.3" {
		t.Fatalf("meta %+v", m)
	}
	// The server counts bytes after its Write returns, which may be
	// after the echo reached us: wait for the counters to settle.
	var stats []LinkStats
	waitFor(t, "byte counters", func() bool {
		stats = s.Stats()
		return len(stats) == 1 && stats[0].BytesOut >= 15
	})
	if len(stats) != 1 || stats[0].Name != "mux1" || stats[0].Streams != 1 || stats[0].BytesIn != 15 || stats[0].BytesOut != 15 {
		t.Fatalf("stats %+v", stats)
	}
}

// TestServerLinkDropEndsStreams: when the link's TCP connection dies,
// every Handle conn's Read returns promptly.
func TestServerLinkDropEndsStreams(t *testing.T) {
	const n = 20
	ended := make(chan error, n)
	started := make(chan struct{}, n)
	_, addr := startServer(t, func(c net.Conn, _ Meta) {
		started <- struct{}{}
		_, err := c.Read(make([]byte, 1))
		ended <- err
	})
	sess, raw := connect(t, addr, "mux1", "s3cret")
	for i := 0; i < n; i++ {
		if _, err := Open(sess, Meta{Remote: tcpAddr("127.0.0.1:1"), Local: tcpAddr("127.0.0.1:2")}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		<-started
	}
	raw.Close()
	timeout := time.After(20 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case err := <-ended:
			if err == nil {
				t.Fatal("Read returned no error after the link dropped")
			}
		case <-timeout:
			t.Fatalf("only %d of %d streams ended", i, n)
		}
	}
}

func TestServerReplacesLinkOfSameName(t *testing.T) {
	s, addr := startServer(t, nil)
	old, _ := connect(t, addr, "mux1", "s3cret")
	waitFor(t, "first link", func() bool { return len(s.Stats()) == 1 })
	connect(t, addr, "mux1", "s3cret")
	select {
	case <-old.CloseChan():
	case <-time.After(20 * time.Second):
		t.Fatal("old link not closed")
	}
	waitFor(t, "one link", func() bool { st := s.Stats(); return len(st) == 1 })
}

func TestServerRefusesBadStreamHeader(t *testing.T) {
	handled := make(chan struct{}, 1)
	_, addr := startServer(t, func(c net.Conn, _ Meta) { handled <- struct{}{} })
	sess, _ := connect(t, addr, "mux1", "s3cret")
	st, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write([]byte("<stream:stream xmlns='jabber:client' to='x'>")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("read on refused stream: %v", err)
	}
	select {
	case <-handled:
		t.Fatal("stream without PROXY header reached Handle")
	default:
	}
}

func TestServeAfterClose(t *testing.T) {
	s := &Server{}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Close: %v", err)
	}
}
