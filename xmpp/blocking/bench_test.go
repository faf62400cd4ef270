package blocking

import (
	"context"
	"strconv"
	"testing"

	"github.com/xmppd/xmppd/xmpp/module"
	mt "github.com/xmppd/xmppd/xmpp/module/moduletest"
	"mellium.im/xmpp/jid"
)

// FuzzMatches checks that a blocked JID always matches itself, its bare
// JID's block matches every resource, and nothing panics on odd input.
func FuzzMatches(f *testing.F) {
	for _, s := range []string{"a@x.org/res", "x.org", "x.org/r", "muc.x.org", "a@b", "ü@例え.テスト/Ω"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j, err := jid.Parse(s)
		if err != nil {
			return
		}
		l := decode(newList([]string{j.String()}).encode())
		if !l.matches(j.Localpart(), j.Domainpart(), j.Resourcepart()) {
			t.Fatalf("%q does not match itself", j)
		}
		b := newList([]string{j.Bare().String()})
		if !b.matches(j.Localpart(), j.Domainpart(), "some-resource") {
			t.Fatalf("bare %q does not match a resource", j.Bare())
		}
	})
}

// BenchmarkInbound is the per-message cost of the inbound filter for an
// online account with a 100-entry list, on a stanza from a JID it does not
// block.
func BenchmarkInbound(b *testing.B) {
	m := New(0)
	e := mt.Start(b, m)
	ctx := context.Background()
	e.Available(ctx, module.SessionInfo{JID: romeo})
	var items []string
	for i := 0; i < 100; i++ {
		items = append(items, "u"+strconv.Itoa(i)+"@spam.example")
	}
	if err := m.save(ctx, "blocker@localhost", newList(items)); err != nil {
		b.Fatal(err)
	}
	s := mt.Stanza(b, `<message type='chat' from='friend@localhost/phone' to='blocker@localhost'><body>hi</body></message>`)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.inbound(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
}
