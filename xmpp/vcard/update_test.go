package vcard

import (
	"context"
	"testing"

	"github.com/xmppd/xmppd/xmpp/dom"
	mt "github.com/xmppd/xmppd/xmpp/module/moduletest"
)

func TestDecoratePhotoHash(t *testing.T) {
	m := New(0)
	e := mt.Start(t, m)
	ctx := context.Background()
	if err := e.Host.Mem.Create(ctx, "romeo@localhost", "pw"); err != nil {
		t.Fatal(err)
	}
	hash := func() string {
		t.Helper()
		p := dom.New("jabber:client", "presence")
		if !m.Decorate(ctx, "romeo@localhost", p) {
			t.Fatal("not decorated")
		}
		x := p.Child(NSUpdate, "x")
		if x == nil || x.Child(NSUpdate, "photo") == nil {
			t.Fatalf("no photo element: %s", p)
		}
		return x.ChildText(NSUpdate, "photo")
	}
	if h := hash(); h != "" {
		t.Fatalf("no vCard yet, hash %q", h)
	}
	// "abc" in base64 is YWJj; SHA-1("abc") is a9993e36...
	e.IQ(t, `<iq type='set' id='1' from='romeo@localhost/r'><vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>YW
Jj</BINVAL></PHOTO></vCard></iq>`)
	if h := hash(); h != "a9993e364706816aba3e25717850c26c9cd0d89d" {
		t.Fatalf("hash %q", h)
	}
	// A client that says it itself is left alone.
	p := dom.New("jabber:client", "presence").Add(dom.New(NSUpdate, "x"))
	if m.Decorate(ctx, "romeo@localhost", p) {
		t.Fatal("decorated a presence that had its own <x/>")
	}
}
