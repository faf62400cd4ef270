package muc

import (
	"context"
	"testing"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	mt "github.com/xmppd/xmppd/xmpp/module/moduletest"
	"mellium.im/xmpp/jid"
)

// startRoom starts the module with room@conference.localhost created and
// configured by romeo@localhost/orchard, who stays in it.
func startRoom(tb testing.TB) (module.ServiceHandler, *mt.Host) {
	host := mt.NewHost()
	host.Cfg.Services.Conference = "conference.localhost"
	reg := module.NewRegistry()
	m := New()
	if err := m.Start(context.Background(), host, reg); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := m.Stop(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	h := reg.Service("conference.localhost")
	for _, raw := range []string{
		`<presence from='romeo@localhost/orchard' to='room@conference.localhost/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>`,
		`<iq from='romeo@localhost/orchard' to='room@conference.localhost' type='set' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`,
	} {
		h(context.Background(), mt.Stanza(tb, raw))
	}
	host.Reset()
	return h, host
}

// FuzzHandle sends arbitrary stanzas from a client to the service: the
// module must never panic and must only route well-formed stanzas with a
// valid 'to'.
func FuzzHandle(f *testing.F) {
	for _, s := range []string{
		`<presence to='room@conference.localhost/Juliet'><x xmlns='http://jabber.org/protocol/muc'><history maxchars='10'/></x></presence>`,
		`<presence to='room@conference.localhost/Juliet' type='error'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`,
		`<message to='room@conference.localhost' type='groupchat'><body>hi</body></message>`,
		`<message to='room@conference.localhost'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='a@b'/></x></message>`,
		`<iq to='room@conference.localhost' type='set' id='1'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Romeo' role='none'/></query></iq>`,
		`<iq to='room@conference.localhost' type='set' id='2'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>`,
		`<iq to='room@conference.localhost' type='set' id='3'><query xmlns='jabber:iq:register'><remove/></query></iq>`,
		`<iq to='room@conference.localhost/Romeo' type='result' id='AAAA'/>`,
		`<iq to='conference.localhost' type='set' id='4'><command xmlns='http://jabber.org/protocol/commands' node='http://prosody.im/protocol/muc#destroy'/></iq>`,
	} {
		f.Add(s, "juliet@localhost/balcony")
		f.Add(s, "romeo@localhost/orchard")
	}
	f.Fuzz(func(t *testing.T, raw, from string) {
		el, err := dom.Parse([]byte(raw))
		if err != nil {
			return
		}
		fj, err := jid.Parse(from)
		if err != nil || fj.Resourcepart() == "" {
			return
		}
		to, err := jid.Parse(el.Get("to"))
		if err != nil || to.Domainpart() != "conference.localhost" {
			return
		}
		el.Set("from", fj.String())
		st := &module.Stanza{Name: el.Local, Type: el.Get("type"), ID: el.Get("id"), From: fj, To: to, Raw: el.Append(nil, "")}
		h, host := startRoom(t)
		h(context.Background(), st)
		h(context.Background(), st)
		for _, out := range host.Routed() {
			got, err := dom.Parse(out)
			if err != nil {
				t.Fatalf("routed malformed %q: %v", out, err)
			}
			if _, err := jid.Parse(got.Get("to")); err != nil || got.Get("to") == "" {
				t.Fatalf("routed without a valid to: %q", out)
			}
		}
	})
}

// BenchmarkGroupchat measures one groupchat message broadcast to a room
// of 50 occupants.
func BenchmarkGroupchat(b *testing.B) {
	h, host := startRoom(b)
	ctx := context.Background()
	for i := range 49 {
		from := "user" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@localhost/r"
		h(ctx, mt.Stanza(b, `<presence from='`+from+`' to='room@conference.localhost/n`+from[:6]+`'><x xmlns='http://jabber.org/protocol/muc'/></presence>`))
	}
	host.RouteFunc = func(context.Context, []byte) error { return nil }
	msg := mt.Stanza(b, `<message from='romeo@localhost/orchard' to='room@conference.localhost' type='groupchat' id='m'><body>Where art thou?</body></message>`)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		h(ctx, msg)
		if b.N > 1000 {
			host.Reset()
		}
	}
}
