package vcard

import (
	"context"
	"errors"
	"strings"
	"testing"

	mt "github.com/xmppd/xmppd/xmpp/module/moduletest"
)

// romeoCard is the vCard of vcard_temp.scs, indentation included.
const romeoCard = `<vCard xmlns="vcard-temp">
			<FN>Romeo Montague</FN>
			<N>
				<FAMILY>Montague</FAMILY>
				<GIVEN>Romeo</GIVEN>
				<MIDDLE/>
				<PREFIX/>
				<SUFFIX/>
			</N>
		</vCard>`

const (
	empty       = `<vCard xmlns='vcard-temp'/>`
	forbidden   = `<error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
	unavailable = `<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
)

// TestTranscript replays vcard_temp.scs and the error cases, in order:
// later steps see what earlier ones stored.
func TestTranscript(t *testing.T) {
	e := mt.Start(t, New(600))
	ctx := context.Background()
	for _, u := range []string{"romeo@localhost", "juliet@localhost"} {
		if err := e.Host.Mem.Create(ctx, u, "password"); err != nil {
			t.Fatal(err)
		}
	}
	big := `<vCard xmlns='vcard-temp'><DESC>` + strings.Repeat("x", 600) + `</DESC></vCard>`
	steps := []struct{ name, send, want string }{
		{"romeo sets his vCard", `<iq id="lx3" type="set" from="romeo@localhost/r">` + romeoCard + `</iq>`,
			`<iq type="result" id="lx3" to="romeo@localhost/r"/>`},
		{"romeo reads it back", `<iq id="lx4" type="get" from="romeo@localhost/r"><vCard xmlns="vcard-temp"/></iq>`,
			`<iq type="result" id="lx4" to="romeo@localhost/r">` + romeoCard + `</iq>`},
		{"juliet reads romeo's", `<iq type="get" id="lx3" to="romeo@localhost" from="juliet@localhost/j"><vCard xmlns="vcard-temp"/></iq>`,
			`<iq type="result" from="romeo@localhost" id="lx3" to="juliet@localhost/j">` + romeoCard + `</iq>`},
		{"juliet has none", `<iq type="get" id="a" from="juliet@localhost/j"><vCard xmlns="vcard-temp"/></iq>`,
			`<iq type="result" id="a" to="juliet@localhost/j">` + empty + `</iq>`},
		{"no such account", `<iq type="get" id="b" to="nobody@localhost" from="juliet@localhost/j"><vCard xmlns="vcard-temp"/></iq>`,
			`<iq type="error" id="b" from="nobody@localhost" to="juliet@localhost/j">` + unavailable + `</iq>`},
		{"juliet may not set romeo's", `<iq type="set" id="c" to="romeo@localhost" from="juliet@localhost/j"><vCard xmlns="vcard-temp"><FN>x</FN></vCard></iq>`,
			`<iq type="error" id="c" from="romeo@localhost" to="juliet@localhost/j">` + forbidden + `</iq>`},
		{"too large", `<iq type="set" id="d" from="juliet@localhost/j">` + big + `</iq>`,
			`<iq type="error" id="d" to="juliet@localhost/j"><error type='modify'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>vCard larger than 600 bytes</text></error></iq>`},
		{"romeo's unchanged", `<iq type="get" id="e" to="romeo@localhost" from="juliet@localhost/j"><vCard xmlns="vcard-temp"/></iq>`,
			`<iq type="result" id="e" from="romeo@localhost" to="juliet@localhost/j">` + romeoCard + `</iq>`},
		{"own set with 'to' = own bare JID", `<iq type="set" id="f" to="juliet@localhost" from="juliet@localhost/j"><vCard xmlns="vcard-temp"><FN>Juliet</FN></vCard></iq>`,
			`<iq type="result" id="f" from="juliet@localhost" to="juliet@localhost/j"/>`},
		{"romeo empties his", `<iq type="set" id="g" from="romeo@localhost/r"><vCard xmlns="vcard-temp"/></iq>`,
			`<iq type="result" id="g" to="romeo@localhost/r"/>`},
		{"romeo's is empty", `<iq type="get" id="h" to="romeo@localhost" from="juliet@localhost/j"><vCard xmlns="vcard-temp"/></iq>`,
			`<iq type="result" id="h" from="romeo@localhost" to="juliet@localhost/j">` + empty + `</iq>`},
		{"server", `<iq type="get" id="i" to="localhost" from="juliet@localhost/j"><vCard xmlns="vcard-temp"/></iq>`,
			`<iq type="result" id="i" from="localhost" to="juliet@localhost/j">` + empty + `</iq>`},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { mt.Equal(t, e.IQ(t, s.send), s.want) }) {
			return
		}
	}
	if b, ok, _ := e.Host.Mem.GetData(ctx, "juliet@localhost", DataKey); !ok || string(b) != `<vCard xmlns='vcard-temp'><FN>Juliet</FN></vCard>` {
		t.Errorf("stored %q", b)
	}
}

func TestStoreFailure(t *testing.T) {
	e := mt.Start(t, New(0))
	e.Host.Mem.Fail = errors.New("disk on fire")
	got := e.IQ(t, `<iq type="set" id="x" from="romeo@localhost/r"><vCard xmlns="vcard-temp"><FN>R</FN></vCard></iq>`)
	mt.Equal(t, got, `<iq type="error" id="x" to="romeo@localhost/r"><error type='wait'><internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
}
