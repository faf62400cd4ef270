package xclient

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net"
	"regexp"
	"testing"
	"time"

	"mellium.im/sasl"
)

// scramServer accepts one client, runs SCRAM-SHA-256 with mellium's server
// negotiator (user "user", password "pencil"), passes its server-final
// message through forge and, when the client goes on, answers bind and the
// roster get.
func scramServer(t *testing.T, forge func(serverFinal string) string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	salt := []byte("0123456789abcdef")
	salted := sasl.SCRAMSaltPassword(sha256.New, []byte("pencil"), salt, 4096)
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
		srv := sasl.NewServer(sasl.ScramSha256, nil, sasl.SaltedCredentials(func([]byte, []byte, string) ([]byte, []byte, int64, error) {
			return salt, salted, 4096, nil
		}))
		serveSCRAM(nc, srv, forge)
	}()
	return ln.Addr().String()
}

var b64Content = regexp.MustCompile(`>([A-Za-z0-9+/=]*)</`)

func serveSCRAM(nc net.Conn, srv *sasl.Negotiator, forge func(string) string) {
	r := bufio.NewReader(nc)
	until := func(tok string) []byte {
		var b []byte
		for !bytes.HasSuffix(b, []byte(tok)) {
			c, err := r.ReadByte()
			if err != nil {
				return nil
			}
			b = append(b, c)
		}
		return b
	}
	step := func(el []byte) []byte {
		m := b64Content.FindSubmatch(el)
		if m == nil {
			return nil
		}
		in, _ := base64.StdEncoding.DecodeString(string(m[1]))
		_, out, err := srv.Step(in)
		if err != nil {
			return nil
		}
		return out
	}
	const hdr = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='s' from='localhost' version='1.0'>"
	until("version='1.0'>")
	nc.Write([]byte(hdr + "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-256</mechanism></mechanisms></stream:features>"))
	first := step(until("</auth>"))
	nc.Write([]byte("<challenge xmlns='" + nsSASL + "'>" + base64.StdEncoding.EncodeToString(first) + "</challenge>"))
	final := forge(string(step(until("</response>"))))
	nc.Write([]byte("<success xmlns='" + nsSASL + "'>" + base64.StdEncoding.EncodeToString([]byte(final)) + "</success>"))
	until("version='1.0'>")
	nc.Write([]byte(hdr + "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"))
	until("</iq>")
	nc.Write([]byte("<iq type='result' id='xb-bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>user@localhost/r</jid></bind></iq>"))
	until("</iq>")
	nc.Write([]byte("<iq type='result' id='xb-roster'><query xmlns='jabber:iq:roster'/></iq>"))
	until("<presence/>")
}

// TestSCRAMLoginServerSignature: a login over the wire succeeds only when
// <success/> carries the server signature computed from the password.
func TestSCRAMLoginServerSignature(t *testing.T) {
	// clients: true is ours (cache), false mellium's. The old mellium path
	// accepts a <success/> without data, so "no signature" is ours only.
	both := []bool{true, false}
	cases := []struct {
		name    string
		forge   func(string) string
		ok      bool
		clients []bool
	}{
		{"genuine", func(v string) string { return v }, true, both},
		{"forged signature", func(v string) string { return v[:len(v)-4] + "AAA=" }, false, both},
		{"no signature", func(string) string { return "" }, false, []bool{true}},
		{"server error", func(string) string { return "e=other-error" }, false, both},
	}
	for _, tc := range cases {
		for _, useCache := range tc.clients {
			name := tc.name + map[bool]string{true: " cached client", false: " mellium client"}[useCache]
			t.Run(name, func(t *testing.T) {
				addr := scramServer(t, tc.forge)
				cfg := &Config{Addr: addr, Domain: "localhost", Mech: "SCRAM-SHA-256", Timeout: 30 * time.Second, SCRAMCache: useCache}
				c, _, err := Login(context.Background(), cfg, &net.Dialer{}, "user", "pencil")
				if tc.ok {
					if err != nil {
						t.Fatalf("login: %v", err)
					}
					c.Abort()
					return
				}
				if !errors.Is(err, ErrAuth) {
					t.Fatalf("login = %v, want ErrAuth", err)
				}
			})
		}
	}
}
