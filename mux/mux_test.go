package mux

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func dialMux(t *testing.T, m *Mux) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", m.PlainAddrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func TestManyClientsEcho(t *testing.T) {
	up := startUpstream(t, "127.0.0.1:0")
	m := startMux(t, testConfig(t, up.addr, false))
	waitFor(t, "link", m.Connected)
	const clients, rounds = 50, 20
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		c, r := dialMux(t, m)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < rounds; j++ {
				if err := echoOnce(c, r, fmt.Sprintf("<message id='%d-%d'/>", i, j)); err != nil {
					errs <- fmt.Errorf("client %d round %d: %w", i, j, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s := m.Stats()
	if s.ClientsTotal != clients || s.BytesUp == 0 || s.BytesUp != s.BytesDown {
		t.Fatalf("stats %+v", s)
	}
}

func TestPlainClientMeta(t *testing.T) {
	up := startUpstream(t, "127.0.0.1:0")
	m := startMux(t, testConfig(t, up.addr, false))
	waitFor(t, "link", m.Connected)
	c, r := dialMux(t, m)
	if err := echoOnce(c, r, "hello"); err != nil {
		t.Fatal(err)
	}
	meta := <-up.metas
	if meta.Mux != "mux1" || meta.TLSTerminated || meta.Remote.String() != c.LocalAddr().String() ||
		meta.Local.String() != c.RemoteAddr().String() {
		t.Fatalf("meta %+v for client %v -> %v", meta, c.LocalAddr(), c.RemoteAddr())
	}
}

func TestDirectTLSTerminatedAtMux(t *testing.T) {
	up := startUpstream(t, "127.0.0.1:0")
	cfg := testConfig(t, up.addr, true)
	m := startMux(t, cfg)
	waitFor(t, "link", m.Connected)
	pemBytes, err := os.ReadFile(cfg.Listen.Cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	c, err := tls.Dial("tcp", m.TLSAddrs()[0].String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := echoOnce(c, bufio.NewReader(c), "<stream:stream to='localhost'>"); err != nil {
		t.Fatal(err)
	}
	meta := <-up.metas
	if !meta.TLSTerminated || meta.ServerName != "localhost" || meta.TLSVersion == "" ||
		meta.Remote.String() != c.LocalAddr().String() {
		t.Fatalf("meta %+v", meta)
	}
}

// TestLinkDropClosesClientsAndReconnects: the server goes away, every
// client socket is closed, new clients are refused, and when the server
// comes back on the same address the mux reconnects by itself.
func TestLinkDropClosesClientsAndReconnects(t *testing.T) {
	up := startUpstream(t, "127.0.0.1:0")
	m := startMux(t, testConfig(t, up.addr, false))
	waitFor(t, "link", m.Connected)
	const n = 10
	conns := make([]net.Conn, n)
	for i := range conns {
		c, r := dialMux(t, m)
		if err := echoOnce(c, r, "before"); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	up.stop()
	for i, c := range conns {
		if err := c.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Fatalf("client %d: read after link drop: %v", i, err)
		}
	}
	waitFor(t, "link down", func() bool { return !m.Connected() })
	c, _ := dialMux(t, m)
	if err := c.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("client accepted while the link is down: %v", err)
	}
	// The mux dials this address, so the server must come back on it. The
	// port is free since up.stop: an outgoing connection (the mux's own
	// redials included) may hold it for a moment, so listen until it works.
	var ln net.Listener
	waitFor(t, "the old address to listen on", func() bool {
		var err error
		ln, err = net.Listen("tcp", up.addr)
		return err == nil
	})
	serveUpstream(t, ln)
	waitFor(t, "reconnect", m.Connected)
	c, r := dialMux(t, m)
	if err := echoOnce(c, r, "after"); err != nil {
		t.Fatal(err)
	}
	s := m.Stats()
	if s.Reconnects != 1 || s.LinkDrops != 1 || s.RefusedNoLink != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestSlowReaderDoesNotStallOthers: one client asks the server for a
// flood and never reads; another client's echoes still complete while the
// flood is stuck in the first client's window.
func TestSlowReaderDoesNotStallOthers(t *testing.T) {
	up := startUpstream(t, "127.0.0.1:0")
	m := startMux(t, testConfig(t, up.addr, false))
	waitFor(t, "link", m.Connected)
	slow, _ := dialMux(t, m)
	if _, err := io.WriteString(slow, "flood\n"); err != nil {
		t.Fatal(err)
	}
	// Wait until the flood has filled the slow client's socket buffers and
	// stream window and then stopped growing: it is blocked.
	var last int64 = -1
	same := 0
	waitFor(t, "flood to stall", func() bool {
		cur := up.flooded.Load()
		if cur == last && cur > 1<<20 {
			same++
		} else {
			same = 0
		}
		last = cur
		return same >= 20 // unchanged for 20 polls: blocked on the window
	})
	fast, r := dialMux(t, m)
	for i := 0; i < 200; i++ {
		if err := echoOnce(fast, r, fmt.Sprintf("<message id='%d'/>", i)); err != nil {
			t.Fatalf("fast client round %d while the slow one is stuck: %v", i, err)
		}
	}
	if got := up.flooded.Load(); got >= floodBytes {
		t.Fatalf("the flood completed (%d bytes): the slow client was not stalled", got)
	}
}

func TestMaxClients(t *testing.T) {
	up := startUpstream(t, "127.0.0.1:0")
	cfg := testConfig(t, up.addr, false)
	cfg.Limits.MaxClients = 2
	m := startMux(t, cfg)
	waitFor(t, "link", m.Connected)
	for i := 0; i < 2; i++ {
		c, r := dialMux(t, m)
		if err := echoOnce(c, r, "in"); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := dialMux(t, m)
	if err := c.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("third client not refused: %v", err)
	}
	if s := m.Stats(); s.RefusedFull != 1 || s.Clients != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestWrongSecretRetries(t *testing.T) {
	up := startUpstream(t, "127.0.0.1:0")
	cfg := testConfig(t, up.addr, false)
	cfg.Mux.Secret = "wrong"
	m := startMux(t, cfg)
	waitFor(t, "two failed attempts", func() bool { return m.Stats().ConnectFailures >= 2 })
	if m.Connected() {
		t.Fatal("connected with a wrong secret")
	}
}

func TestStatsEndpoint(t *testing.T) {
	up := startUpstream(t, "127.0.0.1:0")
	cfg := testConfig(t, up.addr, false)
	cfg.Stats.Listen = "127.0.0.1:0"
	m := startMux(t, cfg)
	waitFor(t, "link", m.Connected)
	c, r := dialMux(t, m)
	if err := echoOnce(c, r, "x"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "stats addr", func() bool { return m.StatsAddr() != nil })
	resp, err := http.Get("http://" + m.StatsAddr().String() + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if !s.Connected || s.Clients != 1 || s.BytesUp != 2 || s.Name != "mux1" {
		t.Fatalf("stats %+v", s)
	}
}

// TestLinkOverTLS: the link itself runs over TLS verified with server_ca.
func TestLinkOverTLS(t *testing.T) {
	certFile, keyFile := writeCert(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := serveUpstream(t, tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}}))
	cfg := testConfig(t, up.addr, false)
	cfg.Mux.ServerTLS, cfg.Mux.ServerCA, cfg.Mux.ServerName = true, certFile, "localhost"
	m := startMux(t, cfg)
	waitFor(t, "link", m.Connected)
	c, r := dialMux(t, m)
	big := strings.Repeat("<body>x</body>", 10000) // several frames and records
	for _, msg := range []string{"hello", big} {
		if err := echoOnce(c, r, msg); err != nil {
			t.Fatal(err)
		}
	}
}
