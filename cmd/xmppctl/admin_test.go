package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/mux"
)

// startMux runs a real multiplexor (package mux) linked to addr.
func startMux(t *testing.T, name, secret, addr string) (*mux.Mux, context.CancelFunc) {
	t.Helper()
	mc := mux.Default()
	mc.Mux.Name, mc.Mux.Secret, mc.Mux.Server = name, secret, addr
	mc.Mux.ReconnectMax = mux.Duration{Duration: time.Second}
	mc.Listen.Plain = []string{"127.0.0.1:0"}
	mc.Stats.LogInterval = mux.Duration{}
	m, err := mux.New(mc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("mux: %v", err)
		}
	}
	var once bool
	t.Cleanup(func() {
		if !once {
			stop()
		}
	})
	waitFor(t, "the mux link", m.Connected)
	return m, func() { once = true; stop() }
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// lineMatching returns the first line of out that matches re.
func lineMatching(out, re string) bool {
	return regexp.MustCompile(`(?m)` + re).MatchString(out)
}

// TestAdminCommands: sessions, stats and mux of a running server with a
// client connected directly and one through a real multiplexor.
func TestAdminCommands(t *testing.T) {
	cfg := liveConfig(t)
	cfg.Mux.Listen = "127.0.0.1:0"
	cfg.Mux.Peers = []conf.MuxPeer{{Name: "mux-a", Secret: "s3cret"}}
	path, notYet := writeConfig(t, cfg)
	notRunning := "xmppctl: server not running (no socket at " + notYet.AdminSocketPath() + ")\n"
	for _, c := range []string{"sessions", "stats", "mux", "directory flush"} {
		var out, errOut strings.Builder
		if code := run(append([]string{"-config", path}, strings.Fields(c)...), strings.NewReader(""), &out, &errOut); code != 1 || errOut.String() != notRunning {
			t.Errorf("%s before the server: exit %d, stderr %q, want %q", c, code, errOut.String(), notRunning)
		}
	}

	s := startLive(t, cfg, "alice@localhost", "bob@example.org")
	m, stopMux := startMux(t, "mux-a", "s3cret", s.mux)
	a := dial(t, s.c2s)
	xmppLogin(t, a, "alice@localhost", "pw", "desk")
	b := dial(t, m.PlainAddrs()[0].String())
	xmppLogin(t, b, "bob@example.org", "pw", "phone")
	unbound := dial(t, s.c2s)
	waitFor(t, "3 sessions", func() bool { return s.SessionCount() == 3 })

	tests := []struct {
		name string
		args []string
		want []string // regular expressions, each matching a line
	}{
		{"sessions", []string{"sessions"}, []string{
			`^JID +REMOTE +VIA +TLS +SINCE$`,
			`^alice@localhost/desk +` + regexp.QuoteMeta(a.LocalAddr().String()) + ` +- +no +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`,
			`^bob@example.org/phone +` + regexp.QuoteMeta(b.LocalAddr().String()) + ` +mux-a +no +\d{4}-`,
			`^- +` + regexp.QuoteMeta(unbound.LocalAddr().String()) + ` +- +no `,
			`^3 sessions, 2 bound$`,
		}},
		{"stats", []string{"stats"}, []string{
			`^version +\S+$`, `^started +\S+ \(up \S+\)$`, `^sessions +3$`, `^accepted +3$`,
			`^auth failures +0$`, `^mux links +1 \(1 clients\)$`, `^directory +embedded \(no cache\)$`,
		}},
		{"mux", []string{"mux"}, []string{
			`^NAME +REMOTE +CLIENTS +CLIENTS-TOTAL +BYTES-IN +BYTES-OUT +SINCE$`,
			`^mux-a +127\.0\.0\.1:\d+ +1 +1 +[1-9]\d* +[1-9]\d* +\d{4}-`,
			`^1 links \(configured peers: 1\)$`,
		}},
		{"user show", []string{"user", "show", "alice@localhost"}, []string{
			`^jid +alice@localhost$`, `^display name +-$`, `^groups +-$`, `^backend +embedded$`,
		}},
		{"directory test", []string{"directory", "test"}, []string{
			`^directory.backend = "embedded": no LDAP to test$`, `opens: 2 accounts$`, `^ok$`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := s.ctl(tc.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			t.Logf("xmppctl %s:\n%s", strings.Join(tc.args, " "), out)
			for _, re := range tc.want {
				if !lineMatching(out, re) {
					t.Errorf("no line matches %s in\n%s", re, out)
				}
			}
		})
	}

	code, _, errOut := s.ctl("directory", "flush")
	if code != 1 || !strings.Contains(errOut, `directory flush: the server's directory has no cache (directory.backend = "embedded")`) {
		t.Errorf("flush without a cache: exit %d, %s", code, errOut)
	}

	// The multiplexor goes away: its link and its client's session end.
	stopMux()
	waitFor(t, "the link to go", func() bool {
		_, out, _ := s.ctl("mux")
		return lineMatching(out, `^0 links`)
	})
	waitFor(t, "bob's session to end", func() bool {
		_, out, _ := s.ctl("sessions")
		return !strings.Contains(out, "bob@example.org") && lineMatching(out, `^2 sessions, 1 bound$`)
	})

	// Shutdown removes the socket: xmppctl says the server is not running.
	s.stop()
	if code, _, errOut := s.ctl("sessions"); code != 1 || errOut != notRunning {
		t.Errorf("after shutdown: exit %d, %q", code, errOut)
	}
}

// TestMuxOff: without a mux port, xmppctl mux says so.
func TestMuxOff(t *testing.T) {
	s := startLive(t, liveConfig(t))
	code, out, errOut := s.ctl("mux")
	if code != 0 || out != "the multiplexor port is off (mux.listen is empty)\n" || errOut != "" {
		t.Errorf("exit %d, %q, %q", code, out, errOut)
	}
}
