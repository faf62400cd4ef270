package mux

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xmppd/xmppd/mux/link"
)

// floodBytes is what the server writes to a client that asks for "flood".
const floodBytes = 256 << 20

// upstream is an in-process link.Server standing in for xmppd. Handle
// reads one line: "flood" makes it write floodBytes (counting progress),
// anything else is echoed back, then the rest of the stream is echoed.
type upstream struct {
	srv     *link.Server
	addr    string
	metas   chan link.Meta
	flooded atomic.Int64
	done    chan error
}

func startUpstream(t *testing.T, addr string) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return serveUpstream(t, ln)
}

func serveUpstream(t *testing.T, ln net.Listener) *upstream {
	u := &upstream{addr: ln.Addr().String(), metas: make(chan link.Meta, 1000), done: make(chan error, 1)}
	u.srv = &link.Server{
		Peers:  []link.Peer{{Name: "mux1", Secret: "s3cret"}},
		Logger: quietLog(),
		Handle: u.handle,
	}
	go func() { u.done <- u.srv.Serve(ln) }()
	t.Cleanup(u.stop)
	return u
}

func (u *upstream) stop() {
	if u.srv == nil {
		return
	}
	_ = u.srv.Close()
	<-u.done
	u.srv = nil
}

func (u *upstream) handle(c net.Conn, m link.Meta) {
	defer c.Close()
	select {
	case u.metas <- m:
	default:
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return
	}
	if line == "flood\n" {
		chunk := make([]byte, 32<<10)
		for u.flooded.Load() < floodBytes {
			n, err := c.Write(chunk)
			u.flooded.Add(int64(n))
			if err != nil {
				return
			}
		}
		return
	}
	if _, err := io.WriteString(c, line); err != nil {
		return
	}
	_, _ = r.WriteTo(c)
}

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testConfig returns a config for a mux in front of server.
func testConfig(t *testing.T, server string, withTLS bool) *Config {
	t.Helper()
	c := Default()
	c.Mux.Name, c.Mux.Secret, c.Mux.Server = "mux1", "s3cret", server
	c.Mux.ReconnectMax = Duration{time.Second}
	c.Listen.Plain = []string{"127.0.0.1:0"}
	c.Stats.LogInterval = Duration{}
	if withTLS {
		c.Listen.TLS = []string{"127.0.0.1:0"}
		c.Listen.Cert, c.Listen.Key = writeCert(t)
	}
	return c
}

// startMux runs a multiplexor until the test ends.
func startMux(t *testing.T, cfg *Config) *Mux {
	t.Helper()
	m, err := New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return m
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
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

// echoOnce writes msg (one line) and reads it back, within a deadline.
func echoOnce(c net.Conn, r *bufio.Reader, msg string) error {
	if err := c.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		return err
	}
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return err
	}
	got, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if got != msg+"\n" {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// writeCert writes a self-signed certificate for localhost/127.0.0.1.
func writeCert(t testing.TB) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
