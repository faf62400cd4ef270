package disco

import (
	"testing"

	"github.com/xmppd/xmppd/xmpp/caps"
	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	mt "github.com/xmppd/xmppd/xmpp/module/moduletest"
)

const contactInfo = `<x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/network/serverinfo</value></field><field var='admin-addresses' type='list-multi'><value>xmpp:admin@localhost</value></field></x>`

func start(t *testing.T, forms ...*dom.Element) (*mt.Env, *Module) {
	m := New(Options{Forms: forms})
	e := mt.Start(t, m)
	e.Reg.Feature(module.ToHost, "urn:xmpp:ping")
	e.Reg.Feature(module.ToAccount, "urn:xmpp:ping")
	e.Host.Cfg.Services.Conference = "conference.localhost"
	e.Host.Mem.AddContact("juliet@localhost", "romeo@localhost", "both")
	e.Host.Mem.AddContact("juliet@localhost", "nurse@localhost", "to")
	e.Host.Mem.AddContact("juliet@localhost", "tybalt@localhost", "from")
	return e, m
}

const (
	hostFeatures = `<feature var='http://jabber.org/protocol/disco#info'/><feature var='http://jabber.org/protocol/disco#items'/><feature var='urn:xmpp:ping'/>`
	serverID     = `<identity category='server' type='im' name='xmppd'/>`
	accountInfo  = `<query xmlns='http://jabber.org/protocol/disco#info'><identity category='account' type='registered'/>` + hostFeatures + `</query>`
	unavailable  = `<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
	notFound     = `<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
)

func TestDisco(t *testing.T) {
	e, m := start(t)
	capsNode := DefaultCapsNode + "#" + m.Ver()
	tests := []struct{ name, send, want string }{
		{"host info",
			`<iq type='get' id='1' from='romeo@localhost/r' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			`<iq type='result' id='1' from='localhost' to='romeo@localhost/r'><query xmlns='http://jabber.org/protocol/disco#info'>` + serverID + hostFeatures + `</query></iq>`},
		{"host caps node",
			`<iq type='get' id='2' from='romeo@localhost/r' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info' node='` + capsNode + `'/></iq>`,
			`<iq type='result' id='2' from='localhost' to='romeo@localhost/r'><query xmlns='http://jabber.org/protocol/disco#info' node='` + capsNode + `'>` + serverID + hostFeatures + `</query></iq>`},
		{"host unknown node",
			`<iq type='get' id='3' from='romeo@localhost/r' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info' node='x'/></iq>`,
			`<iq type='error' id='3' from='localhost' to='romeo@localhost/r'>` + notFound + `</iq>`},
		{"host items",
			`<iq type='get' id='4' from='romeo@localhost/r' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
			`<iq type='result' id='4' from='localhost' to='romeo@localhost/r'><query xmlns='http://jabber.org/protocol/disco#items'><item jid='conference.localhost'/></query></iq>`},
		{"host items node",
			`<iq type='get' id='5' from='romeo@localhost/r' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items' node='n'/></iq>`,
			`<iq type='error' id='5' from='localhost' to='romeo@localhost/r'>` + notFound + `</iq>`},
		{"own account, no to",
			`<iq type='get' id='6' from='juliet@localhost/balcony'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			`<iq type='result' id='6' to='juliet@localhost/balcony'>` + accountInfo + `</iq>`},
		{"account, subscribed contact (both)",
			`<iq type='get' id='7' from='romeo@localhost/r' to='juliet@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			`<iq type='result' id='7' from='juliet@localhost' to='romeo@localhost/r'>` + accountInfo + `</iq>`},
		{"account, subscribed contact (from)",
			`<iq type='get' id='8' from='tybalt@localhost/r' to='juliet@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			`<iq type='result' id='8' from='juliet@localhost' to='tybalt@localhost/r'>` + accountInfo + `</iq>`},
		{"account, contact without subscription to the user",
			`<iq type='get' id='9' from='nurse@localhost/r' to='juliet@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
			`<iq type='error' id='9' from='juliet@localhost' to='nurse@localhost/r'>` + unavailable + `</iq>`},
		{"account, stranger",
			`<iq type='get' id='10' from='iago@example.org/r' to='juliet@localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
			`<iq type='error' id='10' from='juliet@localhost' to='iago@example.org/r'>` + unavailable + `</iq>`},
		{"account items",
			`<iq type='get' id='11' from='romeo@localhost/r' to='juliet@localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
			`<iq type='result' id='11' from='juliet@localhost' to='romeo@localhost/r'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`},
		{"account node",
			`<iq type='get' id='12' from='juliet@localhost/b'><query xmlns='http://jabber.org/protocol/disco#info' node='x'/></iq>`,
			`<iq type='error' id='12' to='juliet@localhost/b'>` + notFound + `</iq>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mt.Equal(t, e.IQ(t, tc.send), tc.want)
		})
	}
}

func TestForms(t *testing.T) {
	form, err := dom.Parse([]byte(contactInfo))
	if err != nil {
		t.Fatal(err)
	}
	e, m := start(t, form)
	got := e.IQ(t, `<iq type='get' id='1' from='romeo@localhost/r' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	mt.Equal(t, got, `<iq type='result' id='1' from='localhost' to='romeo@localhost/r'><query xmlns='http://jabber.org/protocol/disco#info'>`+serverID+hostFeatures+contactInfo+`</query></iq>`)
	// The caps hash covers the form, and matches what a client computes
	// from the answer it received.
	q := got.First()
	var ids []module.Identity
	var features []string
	for _, c := range q.Children {
		switch c.Local {
		case "identity":
			ids = append(ids, module.Identity{Category: c.Get("category"), Type: c.Get("type"), Name: c.Get("name")})
		case "feature":
			features = append(features, c.Get("var"))
		}
	}
	if v := caps.Ver(ids, features, q.Child(caps.NSData, "x")); v != m.Ver() {
		t.Errorf("client-side ver %s, server Ver %s", v, m.Ver())
	}
	if v := caps.Ver(ids, features); v == m.Ver() {
		t.Error("Ver ignores the extended form")
	}
	mt.Equal(t, m.Caps(), `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='`+DefaultCapsNode+`' ver='`+m.Ver()+`'/>`)
}
