package caps

import (
	"testing"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
)

const (
	nsCaps  = "http://jabber.org/protocol/caps"
	nsInfo  = "http://jabber.org/protocol/disco#info"
	nsItems = "http://jabber.org/protocol/disco#items"
	nsMUC   = "http://jabber.org/protocol/muc"
)

// The complex example's extended form (XEP-0115 5.3), in document order
// that differs from the sorted order on purpose.
const softwareInfo = `<x xmlns='jabber:x:data' type='result'>
  <field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>
  <field var='ip_version' type='text-multi'><value>ipv4</value><value>ipv6</value></field>
  <field var='os'><value>Mac</value></field>
  <field var='os_version'><value>10.5.1</value></field>
  <field var='software'><value>Psi</value></field>
  <field var='software_version'><value>0.11</value></field>
</x>`

func TestVer(t *testing.T) {
	form, err := dom.Parse([]byte(softwareInfo))
	if err != nil {
		t.Fatal(err)
	}
	noType, err := dom.Parse([]byte(`<x xmlns='jabber:x:data'><field var='a'><value>b</value></field></x>`))
	if err != nil {
		t.Fatal(err)
	}
	simple := []identity{{Identity: module.Identity{Category: "client", Type: "pc", Name: "Exodus 0.9.1"}}}
	simpleFeatures := []string{nsInfo, nsMUC, nsCaps, nsItems}
	tests := []struct {
		name     string
		ids      []identity
		features []string
		forms    []*dom.Element
		want     string
	}{
		{"XEP-0115 5.2 simple", simple, simpleFeatures, nil, "QgayPKawpkPSDYmwT/WM94uAlu0="},
		{"form without FORM_TYPE ignored", simple, simpleFeatures, []*dom.Element{noType}, "QgayPKawpkPSDYmwT/WM94uAlu0="},
		{"XEP-0115 5.3 complex", []identity{
			{module.Identity{Category: "client", Type: "pc", Name: "Psi 0.11"}, "en"},
			{module.Identity{Category: "client", Type: "pc", Name: "Ψ 0.11"}, "el"},
		}, []string{nsMUC, nsInfo, nsCaps, nsItems}, []*dom.Element{form}, "q07IKJEyjvHSyhy//CH0CxmKi8w="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ver(tc.ids, tc.features, tc.forms); got != tc.want {
				t.Errorf("ver = %s, want %s", got, tc.want)
			}
		})
	}
	// The exported form (no xml:lang) agrees on the simple example.
	if got := Ver([]module.Identity{simple[0].Identity}, simpleFeatures); got != "QgayPKawpkPSDYmwT/WM94uAlu0=" {
		t.Errorf("Ver = %s", got)
	}
}

func TestElement(t *testing.T) {
	got := Element("https://xmppd.example/", "abc=").String()
	want := `<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://xmppd.example/' ver='abc='/>`
	if got != want {
		t.Errorf("Element = %s, want %s", got, want)
	}
}
