package ping

import (
	"testing"

	"github.com/xmppd/xmppd/xmpp/module"
	mt "github.com/xmppd/xmppd/xmpp/module/moduletest"
)

func TestPing(t *testing.T) {
	e := mt.Start(t, New())
	tests := []struct{ name, send, want string }{
		{"server", `<iq type='get' id='c2s1' from='juliet@localhost/balcony' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`,
			`<iq type='result' id='c2s1' from='localhost' to='juliet@localhost/balcony'/>`},
		{"no to", `<iq type='get' id='c2s2' from='juliet@localhost/balcony'><ping xmlns='urn:xmpp:ping'/></iq>`,
			`<iq type='result' id='c2s2' to='juliet@localhost/balcony'/>`},
		{"account", `<iq type='get' id='e2e1' from='romeo@localhost/orchard' to='juliet@localhost'><ping xmlns='urn:xmpp:ping'/></iq>`,
			`<iq type='result' id='e2e1' from='juliet@localhost' to='romeo@localhost/orchard'/>`},
		{"set is not a ping", `<iq type='set' id='x' from='juliet@localhost/balcony' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`,
			`<iq type='error' id='x' from='localhost' to='juliet@localhost/balcony'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { mt.Equal(t, e.IQ(t, tc.send), tc.want) })
	}
	for _, target := range []module.Target{module.ToHost, module.ToAccount} {
		if f := e.Reg.Features(target); len(f) != 1 || f[0] != NS {
			t.Errorf("features of %v = %v", target, f)
		}
	}
}
