package last

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/xmppd/xmppd/xmpp/module"
	mt "github.com/xmppd/xmppd/xmpp/module/moduletest"
	"mellium.im/xmpp/jid"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const forbidden = `<error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`

func query(id, from, to string) string {
	if to != "" {
		to = ` to='` + to + `'`
	}
	return `<iq type='get' id='` + id + `' from='` + from + `'` + to + `><query xmlns='jabber:iq:last'/></iq>`
}

// TestLast runs in order, with a clock the steps move forward.
func TestLast(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	e := mt.Start(t, New(c.now))
	ctx := context.Background()
	romeo := jid.MustParse("romeo@localhost/r")
	e.Host.Mem.AddContact("romeo@localhost", "juliet@localhost", "from")
	e.Host.Mem.AddContact("romeo@localhost", "nurse@localhost", "to")

	steps := []struct {
		name   string
		before func()
		send   string
		want   string
	}{
		{"server uptime", func() { c.add(123 * time.Second) }, query("u", "juliet@localhost/j", "localhost"),
			`<iq type='result' id='u' from='localhost' to='juliet@localhost/j'><query xmlns='jabber:iq:last' seconds='123'/></iq>`},
		{"never logged out", nil, query("n", "juliet@localhost/j", "romeo@localhost"),
			`<iq type='error' id='n' from='romeo@localhost' to='juliet@localhost/j'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
		{"available user: 0", func() {
			e.Available(ctx, module.SessionInfo{JID: romeo, Presence: []byte(`<presence from='romeo@localhost/r'><status>Hello</status></presence>`)})
		}, query("o", "juliet@localhost/j", "romeo@localhost"),
			`<iq type='result' id='o' from='romeo@localhost' to='juliet@localhost/j'><query xmlns='jabber:iq:last' seconds='0'/></iq>`},
		// lastactivity.scs: unavailable with a status, still bound, asks for itself.
		{"own query after going unavailable", func() {
			p := mt.Stanza(t, `<presence type='unavailable' from='romeo@localhost/r'><status>Goodbye</status></presence>`)
			if err := e.Outbound(ctx, p); err != nil {
				t.Fatal(err)
			}
			e.Host.SetPresence(romeo, p.Raw, false, 0)
		}, query("a", "romeo@localhost/r", ""),
			`<iq type='result' id='a' to='romeo@localhost/r'><query xmlns='jabber:iq:last' seconds='0'>Goodbye</query></iq>`},
		{"contact with subscription, later", func() {
			c.add(60 * time.Second)
			e.Ended(ctx, module.SessionInfo{JID: romeo, Presence: []byte(`<presence type='unavailable' from='romeo@localhost/r'/>`)})
			c.add(843 * time.Second)
		}, query("b", "juliet@localhost/j", "romeo@localhost"),
			`<iq type='result' id='b' from='romeo@localhost' to='juliet@localhost/j'><query xmlns='jabber:iq:last' seconds='903'>Goodbye</query></iq>`},
		{"contact without subscription to the user", nil, query("c", "nurse@localhost/n", "romeo@localhost"),
			`<iq type='error' id='c' from='romeo@localhost' to='nurse@localhost/n'>` + forbidden + `</iq>`},
		{"stranger", nil, query("d", "iago@example.org/i", "romeo@localhost"),
			`<iq type='error' id='d' from='romeo@localhost' to='iago@example.org/i'>` + forbidden + `</iq>`},
		{"session ends without unavailable presence", func() {
			e.Available(ctx, module.SessionInfo{JID: romeo, Presence: []byte(`<presence from='romeo@localhost/r'><status>Hi</status></presence>`)})
			c.add(10 * time.Second)
			e.Ended(ctx, module.SessionInfo{JID: romeo, Presence: []byte(`<presence from='romeo@localhost/r'><status>Hi</status></presence>`)})
			c.add(5 * time.Second)
		}, query("e", "juliet@localhost/j", "romeo@localhost"),
			`<iq type='result' id='e' from='romeo@localhost' to='juliet@localhost/j'><query xmlns='jabber:iq:last' seconds='5'/></iq>`},
		{"session ends with unavailable presence", func() {
			e.Available(ctx, module.SessionInfo{JID: romeo})
			e.Ended(ctx, module.SessionInfo{JID: romeo, Presence: []byte(`<presence type='unavailable' from='romeo@localhost/r'><status>Gone</status></presence>`)})
			c.add(7 * time.Second)
		}, query("f", "juliet@localhost/j", "romeo@localhost"),
			`<iq type='result' id='f' from='romeo@localhost' to='juliet@localhost/j'><query xmlns='jabber:iq:last' seconds='7'>Gone</query></iq>`},
		{"server uptime later", nil, query("g", "juliet@localhost/j", "localhost"),
			`<iq type='result' id='g' from='localhost' to='juliet@localhost/j'><query xmlns='jabber:iq:last' seconds='1048'/></iq>`},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		if !t.Run(s.name, func(t *testing.T) { mt.Equal(t, e.IQ(t, s.send), s.want) }) {
			return
		}
	}
}

func TestDirectedUnavailableIgnored(t *testing.T) {
	e := mt.Start(t, New(nil))
	p := mt.Stanza(t, `<presence type='unavailable' from='romeo@localhost/r' to='juliet@localhost'/>`)
	if err := e.Outbound(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := e.Host.Mem.GetData(context.Background(), "romeo@localhost", DataKey); ok {
		t.Error("directed unavailable presence recorded as a logout")
	}
}
