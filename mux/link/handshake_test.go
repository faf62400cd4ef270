package link

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t testing.TB) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- nil
			return
		}
		ch <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-ch
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func peers(name string) (string, bool) {
	if name == "mux1" {
		return "s3cret", true
	}
	return "", false
}

type result struct {
	name string
	err  error
}

func TestHandshake(t *testing.T) {
	cases := []struct {
		name, as, secret string
		cond             string // "" for success
	}{
		{"right secret", "mux1", "s3cret", ""},
		{"wrong secret", "mux1", "guess", "not-authorized"},
		{"unknown name", "mux9", "s3cret", "host-unknown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cc, sc := tcpPair(t)
			res := make(chan result, 1)
			go func() {
				name, err := AcceptHandshake(sc, 20*time.Second, peers)
				if err == nil {
					// Bytes written right after <handshake/> must reach the
					// multiplexor unread by its handshake reader.
					_, err = sc.Write([]byte("AFTER"))
				}
				res <- result{name, err}
			}()
			err := Handshake(cc, 20*time.Second, tc.as, tc.secret)
			srv := <-res
			if tc.cond == "" {
				if err != nil || srv.err != nil {
					t.Fatalf("client %v, server %v", err, srv.err)
				}
				if srv.name != tc.as {
					t.Fatalf("server saw name %q", srv.name)
				}
				buf := make([]byte, 5)
				if _, err := io.ReadFull(cc, buf); err != nil || string(buf) != "AFTER" {
					t.Fatalf("bytes after handshake: %q %v", buf, err)
				}
				return
			}
			for side, e := range map[string]error{"client": err, "server": srv.err} {
				var se *StreamError
				if !errors.As(e, &se) || se.Condition != tc.cond {
					t.Errorf("%s error = %v, want %s", side, e, tc.cond)
				}
			}
		})
	}
}

// TestAcceptHandshakeBadInput sends raw bytes and checks the stream error
// the server writes before closing.
func TestAcceptHandshakeBadInput(t *testing.T) {
	const hdr = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' to='mux1'>"
	cases := []struct{ name, in, cond string }{
		{"wrong content namespace", "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' to='mux1'>", "invalid-namespace"},
		{"wrong stream namespace", "<stream:stream xmlns:stream='urn:bad' xmlns='jabber:component:accept' to='mux1'>", "invalid-namespace"},
		{"undeclared prefix", "<stream:stream xmlns='jabber:component:accept' to='mux1'>", "invalid-namespace"},
		{"garbage bytes", "\x00\x01\x02<<<>>>", "not-well-formed"},
		{"http request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "not-well-formed"},
		{"text before header", " \n<?xml version='1.0'?>hello<stream:stream>", "bad-format"},
		{"wrong root", "<foo/>", "bad-format"},
		{"doctype", "<!DOCTYPE x [<!ENTITY a 'b'>]>", "restricted-xml"},
		{"missing to", "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept'>", "improper-addressing"},
		{"oversized header", "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' a='" + strings.Repeat("x", 5000) + "'>", "policy-violation"},
		{"not a handshake", hdr + "<message/>", "not-authorized"},
		{"handshake with child", hdr + "<handshake><x/></handshake>", "bad-format"},
		{"broken handshake", hdr + "<handshake>abc</hand>", "not-well-formed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cc, sc := tcpPair(t)
			res := make(chan error, 1)
			go func() {
				_, err := AcceptHandshake(sc, 20*time.Second, peers)
				sc.Close()
				res <- err
			}()
			if _, err := cc.Write([]byte(tc.in)); err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(cc) // until the server closes
			err := <-res
			var se *StreamError
			if !errors.As(err, &se) || se.Condition != tc.cond {
				t.Fatalf("server error = %v, want %s", err, tc.cond)
			}
			if !bytes.Contains(out, []byte("<"+tc.cond+" xmlns='"+NSStreamErr+"'/>")) ||
				!bytes.HasPrefix(out, []byte("<?xml version='1.0'?><stream:stream")) {
				t.Fatalf("server wrote %q", out)
			}
		})
	}
}

// TestHandshakeTimeouts: a peer that stalls at any step is dropped when
// the deadline passes.
func TestHandshakeTimeouts(t *testing.T) {
	cases := []struct {
		name string
		run  func(cc, sc net.Conn) error
	}{
		{"server waits for header", func(cc, sc net.Conn) error {
			_, err := AcceptHandshake(sc, 100*time.Millisecond, peers)
			return err
		}},
		{"server waits for handshake", func(cc, sc net.Conn) error {
			go io.Copy(io.Discard, cc)
			if _, err := io.WriteString(cc, clientHeader("mux1")); err != nil {
				return err
			}
			_, err := AcceptHandshake(sc, 100*time.Millisecond, peers)
			return err
		}},
		{"mux waits for server", func(cc, sc net.Conn) error {
			go io.Copy(io.Discard, sc)
			return Handshake(cc, 100*time.Millisecond, "mux1", "s3cret")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cc, sc := tcpPair(t)
			res := make(chan error, 1)
			go func() { res <- tc.run(cc, sc) }()
			select {
			case err := <-res:
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("err = %v, want a deadline error", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("handshake did not time out")
			}
		})
	}
}

func TestDigest(t *testing.T) {
	// sha1("3BF96D32secret") computed independently (Python hashlib).
	const want = "b09ea9b3b7f586be8a08d0a3dd7466f110aeb136"
	if got := Digest("3BF96D32", "secret"); got != want {
		t.Fatalf("Digest = %s, want %s", got, want)
	}
}
