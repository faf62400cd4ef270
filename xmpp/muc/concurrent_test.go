package muc

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	mt "github.com/xmppd/xmppd/xmpp/module/moduletest"
	"mellium.im/xmpp/jid"
)

// TestConcurrentUse joins, talks in and leaves two rooms from many
// goroutines at once (run with -race); every temporary room must be gone
// once everyone has left.
func TestConcurrentUse(t *testing.T) {
	host := mt.NewHost()
	host.Cfg.Services.Conference = "conference.localhost"
	reg := module.NewRegistry()
	m := New()
	ctx := context.Background()
	if err := m.Start(ctx, host, reg); err != nil {
		t.Fatal(err)
	}
	h := reg.Service("conference.localhost")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := fmt.Sprintf("user%d@localhost/r", i)
			for round := range 20 {
				room := fmt.Sprintf("room%d@conference.localhost", round%2)
				for _, raw := range []string{
					`<presence from='%[1]s' to='%[2]s/n%[3]d'><x xmlns='http://jabber.org/protocol/muc'/></presence>`,
					`<iq from='%[1]s' to='%[2]s' type='set' id='c'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`,
					`<message from='%[1]s' to='%[2]s' type='groupchat'><body>hi</body></message>`,
					`<presence from='%[1]s' to='%[2]s/m%[3]d'/>`,
					`<message from='%[1]s' to='%[2]s/n0' type='chat'><body>pm</body></message>`,
					`<presence from='%[1]s' to='%[2]s/m%[3]d' type='unavailable'/>`,
				} {
					st, err := parseStanza(fmt.Sprintf(raw, from, room, i))
					if err != nil {
						t.Error(err)
						return
					}
					h(ctx, st)
				}
			}
		}()
	}
	wg.Wait()
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.rooms) != 0 {
		t.Fatalf("%d rooms left after everyone left", len(m.rooms))
	}
	if len(host.Routed()) == 0 {
		t.Fatal("nothing was routed")
	}
}

// parseStanza is moduletest.Stanza for goroutines (no t.Fatal).
func parseStanza(raw string) (*module.Stanza, error) {
	el, err := dom.Parse([]byte(raw))
	if err != nil {
		return nil, err
	}
	st := &module.Stanza{Name: el.Local, Type: el.Get("type"), ID: el.Get("id"), Raw: []byte(raw)}
	if st.From, err = jid.Parse(el.Get("from")); err != nil {
		return nil, err
	}
	st.To, err = jid.Parse(el.Get("to"))
	return st, err
}
