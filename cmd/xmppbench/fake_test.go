package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
)

// fakeServer is just enough of an XMPP server (PLAIN, bind, roster,
// routing of chat messages to bound users by bare JID) to exercise the
// client and the scenario code. It is no evidence that the figures are
// right: that is the cross-check against prosody and ejabberd
// (docs/performance.md).
type fakeServer struct {
	ln    net.Listener
	mu    sync.Mutex
	users map[string]*fakeConn // bare JID -> bound session
	wg    sync.WaitGroup
}

type fakeConn struct {
	mu sync.Mutex
	nc net.Conn
}

func (c *fakeConn) write(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = c.nc.Write([]byte(s)) // a client that left just loses the stanza
}

func startFake(t *testing.T) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{ln: ln, users: map[string]*fakeConn{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer nc.Close()
				s.serve(&fakeConn{nc: nc})
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.users {
			c.nc.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

type fakeElem struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Body    string     `xml:"body"`
}

func (e *fakeElem) attr(name string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// next returns the next top-level element, or nil at a stream start (a
// restart) and an error at the stream end.
func next(dec *xml.Decoder) (*fakeElem, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch se := tok.(type) {
		case xml.StartElement:
			if se.Name.Local == "stream" {
				return nil, nil
			}
			var e fakeElem
			if err := dec.DecodeElement(&e, &se); err != nil {
				return nil, err
			}
			return &e, nil
		case xml.EndElement:
			return nil, fmt.Errorf("stream end")
		}
	}
}

const fakeHeader = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='localhost' id='x' version='1.0'>"

func (s *fakeServer) serve(c *fakeConn) {
	br := bufio.NewReader(c.nc)
	dec := xml.NewDecoder(br)
	user, bare := "", ""
	defer func() {
		s.mu.Lock()
		if s.users[bare] == c {
			delete(s.users, bare)
		}
		s.mu.Unlock()
	}()
	for {
		e, err := next(dec)
		if err != nil {
			return
		}
		switch {
		case e == nil && user == "": // first stream
			c.write(fakeHeader + "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>")
		case e == nil: // restart after auth
			dec = xml.NewDecoder(br)
			c.write(fakeHeader + "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>")
		case e.XMLName.Local == "auth":
			raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(e.Text))
			parts := bytes.Split(raw, []byte{0})
			if len(parts) != 3 || string(parts[2]) != "pw" {
				c.write("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>")
				continue
			}
			user, bare = string(parts[1]), string(parts[1])+"@localhost"
			c.write("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")
		case e.XMLName.Local == "iq":
			// Routable from bind on: the bench counts a user online once
			// its initial presence is written, so a message from another
			// connection can reach the fake before that presence does. A
			// real server keeps such a message offline and delivers it on
			// presence; the fake delivers it to the bound session.
			s.mu.Lock()
			s.users[bare] = c
			s.mu.Unlock()
			c.write("<iq type='result' id='" + e.attr("id") + "'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>" + bare + "/bench</jid></bind></iq>")
		case e.XMLName.Local == "message":
			s.mu.Lock()
			dst := s.users[e.attr("to")]
			s.mu.Unlock()
			if dst != nil {
				var body bytes.Buffer
				_ = xml.EscapeText(&body, []byte(e.Body))
				dst.write("<message from='" + bare + "/bench' to='" + e.attr("to") + "' type='chat'><body>" + body.String() + "</body></message>")
			}
		}
	}
}

func testBench(t *testing.T, addr string, args ...string) (*bench, *bytes.Buffer) {
	t.Helper()
	// -timeout bounds each login step: generous, a loaded machine under
	// -race can be slow, and a passing run never waits for it.
	o, err := parseFlags(append([]string{"-addr", addr, "-domain", "localhost", "-timeout", "30s"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	b, err := newBench(o)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	b.out = &out
	return b, &out
}

func lastJSON(t *testing.T, out *bytes.Buffer) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	return m
}

func TestChatAgainstFake(t *testing.T) {
	s := startFake(t)
	// Each user lingers 3 s after its last message before it leaves, so
	// that what others sent it last arrives even on a slow machine.
	b, out := testBench(t, s.ln.Addr().String(), "-scenario", "chat", "-users", "20", "-arrival", "100ms",
		"-msgs", "3", "-interval", "20ms", "-linger", "3s", "-sources", "127.0.0.1,127.0.0.2")
	if err := b.runChat(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := lastJSON(t, out)
	for k, want := range map[string]float64{"users_started": 20, "logins_ok": 20, "msgs_sent": 60, "msgs_recv_stamped": 60, "msgs_lost_or_uncounted": 0} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v (%s)", k, m[k], want, out)
		}
	}
	if lat, _ := m["msg_latency_ms"].(map[string]any); lat == nil || lat["count"] != 60.0 {
		t.Errorf("latency distribution %v", m["msg_latency_ms"])
	}
}

func TestLoginAgainstFake(t *testing.T) {
	cases := []struct {
		name     string
		password string
		ok       float64
		errKey   string
	}{
		{"good password", "pw", 10, ""},
		{"wrong password", "nope", 0, "error_auth"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startFake(t)
			b, out := testBench(t, s.ln.Addr().String(), "-scenario", "login", "-users", "5", "-password", tc.password,
				"-rates", "50", "-step", "200ms", "-hold", "10ms", "-arrivals", "uniform")
			if err := b.runLogin(context.Background()); err != nil {
				t.Fatal(err)
			}
			first := strings.SplitN(out.String(), "\n", 2)[0]
			var st loginStep
			if err := json.Unmarshal([]byte(first), &st); err != nil {
				t.Fatal(err)
			}
			if st.UsersStarted != 10 || float64(st.LoginsOK) != tc.ok {
				t.Fatalf("started %d ok %d, want 10 and %v", st.UsersStarted, st.LoginsOK, tc.ok)
			}
			if tc.errKey != "" && st.Errors[tc.errKey] != 10 {
				t.Fatalf("errors %v, want 10 x %s", st.Errors, tc.errKey)
			}
		})
	}
}

func TestSaturateAgainstFake(t *testing.T) {
	s := startFake(t)
	// The count is taken -linger after the last send: 3 s lets the last
	// messages arrive on a slow machine. Sends are counted by their due
	// time, so a slow machine sends late, not fewer.
	b, out := testBench(t, s.ln.Addr().String(), "-scenario", "saturate", "-users", "10", "-arrival", "50ms",
		"-settle", "10ms", "-rates", "200", "-step", "300ms", "-warmup", "100ms", "-linger", "3s", "-pause", "10ms")
	if err := b.runSaturate(context.Background()); err != nil {
		t.Fatal(err)
	}
	var st msgResult
	if err := json.Unmarshal([]byte(strings.SplitN(out.String(), "\n", 2)[0]), &st); err != nil {
		t.Fatal(err)
	}
	// 10 users x one message every 50 ms for 300 ms, phase-shifted: 60 in the window
	if st.Sent < 50 || st.Sent > 70 || st.Recv != st.Sent {
		t.Fatalf("step sent %d recv %d (want ~60, all delivered): %s", st.Sent, st.Recv, out)
	}
	if b.rec(0).sent.Load() == 0 {
		t.Fatal("no warm-up messages were sent")
	}
}

func TestFlagValidation(t *testing.T) {
	cases := []struct {
		name string
		args []string
		bad  string
	}{
		{"unknown scenario", []string{"-scenario", "x"}, "unknown -scenario"},
		{"idle without pid", []string{"-scenario", "idle"}, "idle needs -pid"},
		{"bad rate", []string{"-scenario", "login", "-rates", "10,x"}, "bad rate"},
		{"tiny size", []string{"-size", "8"}, "-size"},
		{"ok", []string{"-scenario", "login"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args)
			if (err == nil) != (tc.bad == "") || (err != nil && !strings.Contains(err.Error(), tc.bad)) {
				t.Fatalf("parseFlags(%v) = %v, want error containing %q", tc.args, err, tc.bad)
			}
		})
	}
}
