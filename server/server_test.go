package server

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xmppd/xmppd/archive"
	asqlite "github.com/xmppd/xmppd/archive/sqlite"
	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory/embedded"
)

type testServer struct {
	*Server
	addr  string
	off   archive.Offline
	store *embedded.DB
}

// sessionsOf returns the bound sessions of a bare JID.
func (s *testServer) sessionsOf(bare string) []*session { return s.router.sessions(bare) }

// startServer runs a server without TLS (PLAIN allowed in the clear) on a
// loopback port, with accounts alice, bob, carol (password "pw").
func startServer(t testing.TB, edit func(*conf.Config)) *testServer {
	t.Helper()
	cfg := conf.Default()
	cfg.Server.DataDir = t.TempDir()
	cfg.C2S.Listen = []string{"127.0.0.1:0"}
	cfg.C2S.DirectTLSListen = nil
	cfg.C2S.RequireTLS = false
	cfg.C2S.AllowPlainWithoutTLS = true
	if edit != nil {
		edit(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	store, err := embedded.Open(filepath.Join(cfg.Server.DataDir, embedded.FileName), 4096)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := store.Create(ctx, u+"@localhost", "pw"); err != nil {
			t.Fatal(err)
		}
	}
	off, err := asqlite.Open(filepath.Join(cfg.Server.DataDir, asqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	w := Modules(cfg)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := New(Options{Config: cfg, Logger: log, Store: store, Offline: off, Modules: w.Modules, Presence: w.Presence, Register: w.Register})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Generous: a passing test never waits for it, a loaded CI
		// machine under -race can be slow to end every session.
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		store.Close()
		off.Close()
	})
	return &testServer{Server: srv, addr: srv.Addrs()[0].String(), off: off, store: store}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestChatAndPresence(t *testing.T) {
	s := startServer(t, nil)
	a := dialRaw(t, s.addr)
	a.login("alice", "pw", "laptop")
	a.presence()
	b := dialRaw(t, s.addr)
	b.login("bob", "pw", "phone")
	b.presence()

	a.send("<message to='bob@localhost' type='chat' id='m1'><body>hi bob</body></message>")
	m := b.expect("message")
	if m.Get("from") != a.jid || m.ChildText("", "body") != "hi bob" {
		t.Fatalf("bob got %s", m)
	}
	// Full JID addressing and a prefixed payload pass through untouched.
	b.send("<message to='" + a.jid + "' type='chat'><body>hi</body><x:y xmlns:x='urn:test' x:a='1'/></message>")
	m = a.expect("message")
	if m.Get("from") != b.jid || m.Child("urn:test", "y") == nil {
		t.Fatalf("alice got %s", m)
	}
	// IQ routed between users, answered by the other client.
	a.send("<iq type='get' id='q1' to='" + b.jid + "'><query xmlns='jabber:iq:version'/></iq>")
	iq := b.expect("iq")
	if iq.Get("from") != a.jid || iq.Get("id") != "q1" {
		t.Fatalf("bob got %s", iq)
	}
	b.send("<iq type='result' id='q1' to='" + a.jid + "'/>")
	if iq := a.expect("iq"); iq.Get("type") != "result" || iq.Get("from") != b.jid {
		t.Fatalf("alice got %s", iq)
	}
	// Unknown user: service-unavailable.
	a.send("<message to='nobody@localhost' id='m2'><body>x</body></message>")
	if e := a.expect("message"); e.Get("type") != "error" || e.Child("", "error").Child("", "service-unavailable") == nil {
		t.Fatalf("alice got %s", e)
	}
}

func TestOfflineDelivery(t *testing.T) {
	s := startServer(t, nil)
	a := dialRaw(t, s.addr)
	a.login("alice", "pw", "r")
	a.presence()
	a.send("<message to='bob@localhost' type='chat' id='o1'><body>while you were out</body></message>")
	a.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	if iq := a.expect("iq"); iq.Get("id") != "p1" || iq.Get("type") != "result" {
		t.Fatalf("ping: %s", iq)
	}
	b := dialRaw(t, s.addr)
	b.login("bob", "pw", "r")
	b.send("<presence/>")
	m := b.expect("message")
	if m.ChildText("", "body") != "while you were out" || m.Child("urn:xmpp:delay", "delay") == nil {
		t.Fatalf("offline message: %s", m)
	}
}

func TestBadInput(t *testing.T) {
	s := startServer(t, func(c *conf.Config) { c.C2S.MaxStanzaSize = 16 << 10 })
	cases := []struct {
		name, want string
		run        func(c *testClient)
	}{
		{"wrong domain", "host-unknown", func(c *testClient) {
			c.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='evil.example' version='1.0'>")
			c.header()
		}},
		{"wrong namespace", "invalid-namespace", func(c *testClient) {
			c.send("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>")
			c.header()
		}},
		{"malformed xml", "not-well-formed", func(c *testClient) {
			c.login("alice", "pw", "bad1")
			c.send("<message><body>x</bod></message>")
		}},
		{"oversized stanza", "policy-violation", func(c *testClient) {
			c.login("alice", "pw", "bad2")
			c.send("<message to='bob@localhost'><body>" + strings.Repeat("A", 20<<10) + "</body></message>")
		}},
		{"billion laughs", "restricted-xml", func(c *testClient) {
			c.send("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;'>]><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>")
			c.header()
		}},
		{"undeclared entity", "not-well-formed", func(c *testClient) {
			c.login("alice", "pw", "bad3")
			c.send("<message to='bob@localhost'><body>&xxe;</body></message>")
		}},
		{"stanza before auth", "not-authorized", func(c *testClient) {
			c.open("localhost")
			c.send("<message to='bob@localhost'><body>x</body></message>")
		}},
		{"wrong password thrice", "policy-violation", func(c *testClient) {
			c.open("localhost")
			for i := 0; i < 3; i++ {
				c.send(plainAuth("alice", "nope"))
				if i < 2 {
					if f := c.next(); f.Local != "failure" || f.Child("", "not-authorized") == nil {
						t.Fatalf("attempt %d: %s", i, f)
					}
				}
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, s.addr)
			c.t = t
			tc.run(c)
			if got := c.streamError(); got != tc.want {
				t.Fatalf("stream error %q, want %q", got, tc.want)
			}
		})
	}
	// The server still serves others.
	c := dialRaw(t, s.addr)
	c.login("carol", "pw", "after")
	c.presence()
}

func TestSlowConsumerIsCutOff(t *testing.T) {
	s := startServer(t, func(c *conf.Config) { c.C2S.QueueBytes = 64 << 10; c.Offline.Quota = 1000000 })
	a := dialRaw(t, s.addr)
	a.login("alice", "pw", "fast")
	a.presence()
	b := dialRaw(t, s.addr)
	b.login("bob", "pw", "stuck")
	b.presence()
	// Bob stops reading. Alice floods him; she must never block, and Bob
	// must be cut off once his queue is over the limit.
	body := strings.Repeat("x", 4000)
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; s.stats.slowConsumers.Load() == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("bob was never cut off")
		}
		a.send("<message to='" + b.jid + "' type='chat'><body>" + body + "</body></message>")
	}
	// Alice is still served promptly.
	a.send("<iq type='get' id='alive'><ping xmlns='urn:xmpp:ping'/></iq>")
	for {
		el := a.next()
		if el.Local == "iq" && el.Get("id") == "alive" {
			break
		}
	}
	// What Bob never got was kept offline, not lost.
	deadline = time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if n, _ := s.off.Count(context.Background(), "bob@localhost"); n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("undelivered messages were not stored offline")
}

func TestOfflineWithUnavailableResources(t *testing.T) {
	s := startServer(t, nil)
	a := dialRaw(t, s.addr)
	a.login("alice", "pw", "r")
	a.presence()
	b1 := dialRaw(t, s.addr)
	b1.login("bob", "pw", "one")
	b2 := dialRaw(t, s.addr)
	b2.login("bob", "pw", "two")
	// Bob is bound twice but available nowhere: the message waits offline.
	a.send("<message to='bob@localhost' type='chat'><body>are you there?</body></message>")
	a.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	a.expect("iq")
	b2.send("<presence/>")
	m := b2.expect("message")
	if m.ChildText("", "body") != "are you there?" || m.Child("urn:xmpp:delay", "delay") == nil {
		t.Fatalf("bob/two got %s", m)
	}
}

func TestIQToUnknownAccount(t *testing.T) {
	s := startServer(t, nil)
	a := dialRaw(t, s.addr)
	a.login("alice", "pw", "r")
	a.send("<iq type='get' id='v1' to='ghost@localhost'><vCard xmlns='vcard-temp'/></iq>")
	iq := a.expect("iq")
	if iq.Get("type") != "error" || iq.Child("", "error").Child("", "service-unavailable") == nil {
		t.Fatalf("got %s", iq)
	}
}

func TestResourceConflictAndLimit(t *testing.T) {
	s := startServer(t, func(c *conf.Config) { c.C2S.MaxResources = 2 })
	old := dialRaw(t, s.addr)
	old.login("alice", "pw", "same")
	old.presence()
	nw := dialRaw(t, s.addr)
	nw.login("alice", "pw", "same")
	if got := old.streamError(); got != "conflict" {
		t.Fatalf("old session got %q", got)
	}
	two := dialRaw(t, s.addr)
	two.login("alice", "pw", "other")
	three := dialRaw(t, s.addr)
	three.open("localhost")
	three.send(plainAuth("alice", "pw"))
	three.expect("success")
	three.open("localhost")
	three.send("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>third</resource></bind></iq>")
	iq := three.expect("iq")
	if iq.Get("type") != "error" || iq.Child("", "error").Child("", "resource-constraint") == nil {
		t.Fatalf("third resource: %s", iq)
	}
}

func TestShutdownSendsSystemShutdown(t *testing.T) {
	s := startServer(t, nil)
	a := dialRaw(t, s.addr)
	a.login("alice", "pw", "r")
	a.presence()
	half := dialRaw(t, s.addr) // still negotiating
	half.open("localhost")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { _ = s.Shutdown(ctx) }()
	for _, c := range []*testClient{a, half} {
		if got := c.streamError(); got != "system-shutdown" {
			t.Fatalf("got %q", got)
		}
	}
}

func TestInBandRegistration(t *testing.T) {
	s := startServer(t, func(c *conf.Config) { c.Registration.Enabled = true })
	c := dialRaw(t, s.addr)
	f := c.open("localhost")
	if f.Child("http://jabber.org/features/iq-register", "register") == nil {
		t.Fatalf("no register feature: %s", f)
	}
	c.send("<iq type='get' id='r1'><query xmlns='jabber:iq:register'/></iq>")
	if iq := c.expect("iq"); iq.Get("type") != "result" || iq.Child("jabber:iq:register", "query") == nil {
		t.Fatalf("form: %s", iq)
	}
	c.send("<iq type='set' id='r2'><query xmlns='jabber:iq:register'><username>dave</username><password>longenough1</password></query></iq>")
	if iq := c.expect("iq"); iq.Get("type") != "result" {
		t.Fatalf("register: %s", iq)
	}
	d := dialRaw(t, s.addr)
	d.login("dave", "longenough1", "r")
	// A taken name is refused.
	c.send("<iq type='set' id='r3'><query xmlns='jabber:iq:register'><username>alice</username><password>longenough1</password></query></iq>")
	if iq := c.expect("iq"); iq.Get("type") != "error" || iq.Child("", "error").Child("", "conflict") == nil {
		t.Fatalf("taken name: %s", iq)
	}
}

func TestSharedGroupRoster(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	for _, u := range []string{"alice@localhost", "bob@localhost"} {
		if err := s.store.AddGroupMember(ctx, "Team", u); err != nil {
			t.Fatal(err)
		}
	}
	a := dialRaw(t, s.addr)
	a.login("alice", "pw", "r")
	a.send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>")
	q := a.expect("iq").Child("jabber:iq:roster", "query")
	it := q.Child("", "item")
	if it == nil || it.Get("jid") != "bob@localhost" || it.Get("subscription") != "both" || it.ChildText("", "group") != "Team" {
		t.Fatalf("roster: %s", q)
	}
	a.presence()
	b := dialRaw(t, s.addr)
	b.login("bob", "pw", "r")
	b.send("<presence/>")
	// Bob gets Alice's presence (probe answered) and Alice gets Bob's.
	for _, c := range []struct {
		cl   *testClient
		from string
	}{{b, a.jid}, {a, b.jid}} {
		for {
			p := c.cl.expect("presence")
			if p.Get("from") == c.from {
				break
			}
		}
	}
}

func TestCarbons(t *testing.T) {
	s := startServer(t, nil)
	a1 := dialRaw(t, s.addr)
	a1.login("alice", "pw", "desk")
	a1.presence()
	a2 := dialRaw(t, s.addr)
	a2.login("alice", "pw", "phone")
	a2.presence()
	a2.send("<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
	if iq := a2.expect("iq"); iq.Get("type") != "result" {
		t.Fatalf("enable: %s", iq)
	}
	b := dialRaw(t, s.addr)
	b.login("bob", "pw", "r")
	b.presence()
	// Bob writes to alice's desk: her phone gets a <received/> copy.
	b.send("<message to='" + a1.jid + "' type='chat'><body>to desk</body></message>")
	m := a2.expect("message")
	fw := m.Child("urn:xmpp:carbons:2", "received").Child("urn:xmpp:forward:0", "forwarded").Child("jabber:client", "message")
	if m.Get("from") != "alice@localhost" || fw == nil || fw.ChildText("", "body") != "to desk" || fw.Get("from") != b.jid {
		t.Fatalf("received carbon: %s", m)
	}
	// Alice's desk writes to bob: her phone gets a <sent/> copy.
	a1.send("<message to='bob@localhost' type='chat'><body>from desk</body></message>")
	m = a2.expect("message")
	fw = m.Child("urn:xmpp:carbons:2", "sent").Child("urn:xmpp:forward:0", "forwarded").Child("jabber:client", "message")
	if fw == nil || fw.ChildText("", "body") != "from desk" || fw.Get("from") != a1.jid {
		t.Fatalf("sent carbon: %s", m)
	}
	// Private messages are not copied: the next thing the phone sees is
	// the ping answer.
	a1.send("<message to='bob@localhost' type='chat'><body>secret</body><private xmlns='urn:xmpp:carbons:2'/></message>")
	a1.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
	for a1.next().Local != "iq" {
	}
	a2.send("<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>")
	if el := a2.next(); el.Local != "iq" {
		t.Fatalf("private message copied: %s", el)
	}
}

// go-sendxmpp opens every stream, restarts included, with an XML
// declaration after a newline.
func TestRestartWithXMLDeclaration(t *testing.T) {
	s := startServer(t, nil)
	c := dialRaw(t, s.addr)
	c.open("localhost")
	c.send(plainAuth("alice", "pw"))
	c.expect("success")
	c.reset()
	c.send("\n<?xml version='1.0'?>\n<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>")
	c.header()
	if f := c.next(); f.Child(nsBind, "bind") == nil {
		t.Fatalf("features after restart: %s", f)
	}
}

// An idle stream gives its read buffer back and still reads what comes
// later; a silent one is still closed at idle_timeout. The idle timeout
// also runs for bob, who only reads: it must outlast everything before the
// final silence on a slow machine, hence 10 s rather than a few.
func TestIdleStreamReleasesBufferAndTimesOut(t *testing.T) {
	s := startServer(t, func(c *conf.Config) { c.C2S.IdleTimeout = conf.Duration{Duration: 10 * time.Second} })
	s.releaseAfter = 100 * time.Millisecond
	a := dialRaw(t, s.addr)
	a.login("alice", "pw", "r")
	a.presence()
	b := dialRaw(t, s.addr)
	b.login("bob", "pw", "r")
	b.presence()
	released := func() bool {
		for _, sess := range s.sessionsOf("alice@localhost") {
			if sess.released.Load() > 0 {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(10 * time.Second)
	for !released() {
		if time.Now().After(deadline) {
			t.Fatal("the idle stream kept its read buffer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Woken by one byte: the message must arrive whole.
	a.send("<message to='bob@localhost' type='chat'><body>after a nap</body></message>")
	if m := b.expect("message"); m.ChildText("", "body") != "after a nap" {
		t.Fatalf("bob got %s", m)
	}
	// Written in two pieces with a pause longer than releaseAfter between
	// them: the half-read stanza must not be lost.
	a.send("<message to='bob@localhost' type='chat'><bo")
	time.Sleep(300 * time.Millisecond)
	a.send("dy>split</body></message>")
	if m := b.expect("message"); m.ChildText("", "body") != "split" {
		t.Fatalf("bob got %s", m)
	}
	// Then silence: connection-timeout after idle_timeout.
	if got := a.streamError(); got != "connection-timeout" {
		t.Fatalf("got %q", got)
	}
}
