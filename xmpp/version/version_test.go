package version

import (
	"runtime"
	"testing"

	mt "github.com/xmppd/xmppd/xmpp/module/moduletest"
)

func TestVersion(t *testing.T) {
	const get = `<iq id='lx2' to='localhost' type='get' from='romeo@localhost/dfaZpuxV'><query xmlns='jabber:iq:version'/></iq>`
	tests := []struct {
		name   string
		showOS bool
		send   string
		want   string
	}{
		{"without os (version.scs)", false, get,
			`<iq id='lx2' from='localhost' type='result' to='romeo@localhost/dfaZpuxV'><query xmlns='jabber:iq:version'><name>xmppd</name><version>1.2.3</version></query></iq>`},
		{"with os", true, get,
			`<iq id='lx2' from='localhost' type='result' to='romeo@localhost/dfaZpuxV'><query xmlns='jabber:iq:version'><name>xmppd</name><version>1.2.3</version><os>` + runtime.GOOS + "/" + runtime.GOARCH + `</os></query></iq>`},
		{"not for accounts", false, `<iq id='a' to='juliet@localhost' type='get' from='romeo@localhost/r'><query xmlns='jabber:iq:version'/></iq>`,
			`<iq id='a' from='juliet@localhost' type='error' to='romeo@localhost/r'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := mt.Start(t, New("1.2.3", tc.showOS))
			mt.Equal(t, e.IQ(t, tc.send), tc.want)
		})
	}
}
