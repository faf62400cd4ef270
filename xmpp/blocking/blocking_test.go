package blocking

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	mt "github.com/xmppd/xmppd/xmpp/module/moduletest"
	"mellium.im/xmpp/jid"
)

var (
	romeo  = jid.MustParse("blocker@localhost/r")
	phone  = jid.MustParse("blocker@localhost/phone")
	juliet = jid.MustParse("blockee@localhost/j")
)

const (
	unavailable = `<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
	blockedErr  = `<error type='cancel'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>You have blocked this JID</text><blocked xmlns='urn:xmpp:blocking:errors'/></error>`
)

// setup is the state of blocking.scs before the blocking: two accounts
// subscribed to each other, both online; Romeo has a second resource.
func setup(t *testing.T) (*mt.Env, *Module) {
	m := New(3)
	e := mt.Start(t, m)
	ctx := context.Background()
	e.Host.Mem.AddContact("blocker@localhost", "blockee@localhost", "both")
	e.Host.Mem.AddContact("blockee@localhost", "blocker@localhost", "both")
	for _, j := range []jid.JID{romeo, phone, juliet} {
		e.Available(ctx, module.SessionInfo{JID: j, Presence: []byte(`<presence from='` + j.String() + `'><show>away</show></presence>`)})
	}
	return e, m
}

// filter runs the inbound (in) or outbound filters on raw and returns the
// reply the core would send, or nil when the stanza passes.
func filter(t *testing.T, e *mt.Env, in bool, raw string) *dom.Element {
	t.Helper()
	s := mt.Stanza(t, raw)
	f := e.Outbound
	if in {
		f = e.Inbound
	}
	if err := f(context.Background(), s); err != nil {
		return mt.Parse(t, string(s.ErrorReply(err)))
	}
	return nil
}

func TestTranscript(t *testing.T) {
	e, _ := setup(t)
	const hello = `<message type='chat' from='blocker@localhost/r' to='blockee@localhost'><body>hello?</body></message>`
	const ohai = `<message type='chat' from='blockee@localhost/j' to='blocker@localhost'><body>ohai</body></message>`

	if r := filter(t, e, true, ohai); r != nil {
		t.Fatalf("message before blocking refused: %s", r)
	}
	// The phone fetches the list, so it gets the pushes; the other does not.
	mt.Equal(t, e.IQ(t, `<iq type='get' id='bl1' from='blocker@localhost/phone'><blocklist xmlns='urn:xmpp:blocking'/></iq>`),
		`<iq type='result' id='bl1' to='blocker@localhost/phone'><blocklist xmlns='urn:xmpp:blocking'/></iq>`)

	mt.Equal(t, e.IQ(t, `<iq type='set' id='lx2' from='blocker@localhost/r'><block xmlns='urn:xmpp:blocking'><item jid='blockee@localhost'/></block></iq>`),
		`<iq type='result' id='lx2' to='blocker@localhost/r'/>`)
	routed := e.Host.Routed()
	if len(routed) != 2 {
		t.Fatalf("routed %d stanzas, want unavailable presence from both resources: %q", len(routed), routed)
	}
	mt.Equal(t, mt.Parse(t, string(routed[0])), `<presence type='unavailable' from='blocker@localhost/phone' to='blockee@localhost'/>`)
	mt.Equal(t, mt.Parse(t, string(routed[1])), `<presence type='unavailable' from='blocker@localhost/r' to='blockee@localhost'/>`)
	pushes := e.Host.Delivered()
	if len(pushes) != 1 || !pushes[0].To.Equal(phone) {
		t.Fatalf("pushes %+v, want one to the phone", pushes)
	}
	mt.Equal(t, mt.Parse(t, string(pushes[0].Raw)),
		`<iq type='set' id='{any}' to='blocker@localhost/phone'><block xmlns='urn:xmpp:blocking'><item jid='blockee@localhost'/></block></iq>`)

	steps := []struct {
		name string
		in   bool
		send string
		want string
	}{
		{"romeo cannot talk", false, hello,
			`<message type='error' from='blockee@localhost' to='blocker@localhost/r'><body>hello?</body>` + blockedErr + `</message>`},
		{"romeo cannot ping juliet's resource", false, `<iq type='get' id='p' from='blocker@localhost/r' to='blockee@localhost/j'><ping xmlns='urn:xmpp:ping'/></iq>`,
			`<iq type='error' id='p' from='blockee@localhost/j' to='blocker@localhost/r'>` + blockedErr + `</iq>`},
		{"juliet's message bounces", true, `<message type='chat' from='blockee@localhost/j' to='blocker@localhost'/>`,
			`<message type='error' from='blocker@localhost' to='blockee@localhost/j'>` + unavailable + `</message>`},
		{"juliet's IQ bounces", true, `<iq type='get' id='v' from='blockee@localhost/j' to='blocker@localhost'><vCard xmlns='vcard-temp'/></iq>`,
			`<iq type='error' id='v' from='blocker@localhost' to='blockee@localhost/j'>` + unavailable + `</iq>`},
		{"romeo may talk to himself", false, `<message from='blocker@localhost/r' to='blocker@localhost/phone'/>`, ""},
		{"others still reach romeo", true, `<message from='nurse@localhost/n' to='blocker@localhost'/>`, ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got := filter(t, e, s.in, s.send)
			if s.want == "" {
				if got != nil {
					t.Fatalf("refused: %s", got)
				}
				return
			}
			if got == nil {
				t.Fatal("not refused")
			}
			mt.Equal(t, got, s.want)
		})
	}
	// Presence from Juliet is refused (the core drops it silently).
	if err := e.Inbound(context.Background(), mt.Stanza(t, `<presence from='blockee@localhost/j' to='blocker@localhost'/>`)); err == nil {
		t.Error("presence from a blocked contact passes")
	}
	mt.Equal(t, e.IQ(t, `<iq type='get' id='bl2' from='blocker@localhost/r'><blocklist xmlns='urn:xmpp:blocking'/></iq>`),
		`<iq type='result' id='bl2' to='blocker@localhost/r'><blocklist xmlns='urn:xmpp:blocking'><item jid='blockee@localhost'/></blocklist></iq>`)

	e.Host.Reset()
	mt.Equal(t, e.IQ(t, `<iq type='set' id='lx3' from='blocker@localhost/r'><unblock xmlns='urn:xmpp:blocking'><item jid='blockee@localhost'/></unblock></iq>`),
		`<iq type='result' id='lx3' to='blocker@localhost/r'/>`)
	routed = e.Host.Routed()
	if len(routed) != 2 {
		t.Fatalf("routed %q, want the presence of both resources", routed)
	}
	mt.Equal(t, mt.Parse(t, string(routed[1])),
		`<presence from='blocker@localhost/r' to='blockee@localhost'><show>away</show><delay xmlns='urn:xmpp:delay' stamp='{any}' from='localhost'/></presence>`)
	pushes = e.Host.Delivered()
	if len(pushes) != 2 {
		t.Fatalf("pushes %+v, want one to each resource that fetched the list", pushes)
	}
	for _, p := range pushes {
		mt.Equal(t, mt.Parse(t, string(p.Raw)),
			`<iq type='set' id='{any}' to='`+p.To.String()+`'><unblock xmlns='urn:xmpp:blocking'><item jid='blockee@localhost'/></unblock></iq>`)
	}
	if r := filter(t, e, false, hello); r != nil {
		t.Errorf("message after unblocking refused: %s", r)
	}
	if r := filter(t, e, true, ohai); r != nil {
		t.Errorf("message after unblocking refused: %s", r)
	}
}

func TestErrors(t *testing.T) {
	e, _ := setup(t)
	tests := []struct{ name, send, want string }{
		{"block without items", `<iq type='set' id='1' from='blocker@localhost/r'><block xmlns='urn:xmpp:blocking'/></iq>`,
			`<iq type='error' id='1' to='blocker@localhost/r'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
		{"malformed JID", `<iq type='set' id='2' from='blocker@localhost/r'><block xmlns='urn:xmpp:blocking'><item jid='a@b@c'/></block></iq>`,
			`<iq type='error' id='2' to='blocker@localhost/r'><error type='modify'><jid-malformed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
		{"item without jid", `<iq type='set' id='3' from='blocker@localhost/r'><unblock xmlns='urn:xmpp:blocking'><item/></unblock></iq>`,
			`<iq type='error' id='3' to='blocker@localhost/r'><error type='modify'><jid-malformed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
		{"someone else's list", `<iq type='get' id='4' from='blockee@localhost/j' to='blocker@localhost'><blocklist xmlns='urn:xmpp:blocking'/></iq>`,
			`<iq type='error' id='4' from='blocker@localhost' to='blockee@localhost/j'>` + unavailable + `</iq>`},
		{"three fit", `<iq type='set' id='5' from='blocker@localhost/r'><block xmlns='urn:xmpp:blocking'><item jid='a@x'/><item jid='b@x'/><item jid='C@X'/></block></iq>`,
			`<iq type='result' id='5' to='blocker@localhost/r'/>`},
		{"already blocked JIDs do not count twice", `<iq type='set' id='6' from='blocker@localhost/r'><block xmlns='urn:xmpp:blocking'><item jid='c@x'/></block></iq>`,
			`<iq type='result' id='6' to='blocker@localhost/r'/>`},
		{"a fourth does not", `<iq type='set' id='7' from='blocker@localhost/r'><block xmlns='urn:xmpp:blocking'><item jid='d@x'/></block></iq>`,
			`<iq type='error' id='7' to='blocker@localhost/r'><error type='modify'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>a blocklist holds at most 3 JIDs</text></error></iq>`},
		{"list is prepared and sorted", `<iq type='get' id='8' from='blocker@localhost/r'><blocklist xmlns='urn:xmpp:blocking'/></iq>`,
			`<iq type='result' id='8' to='blocker@localhost/r'><blocklist xmlns='urn:xmpp:blocking'><item jid='a@x'/><item jid='b@x'/><item jid='c@x'/></blocklist></iq>`},
		{"unblock all", `<iq type='set' id='9' from='blocker@localhost/r'><unblock xmlns='urn:xmpp:blocking'/></iq>`,
			`<iq type='result' id='9' to='blocker@localhost/r'/>`},
		{"empty again", `<iq type='get' id='10' from='blocker@localhost/r'><blocklist xmlns='urn:xmpp:blocking'/></iq>`,
			`<iq type='result' id='10' to='blocker@localhost/r'><blocklist xmlns='urn:xmpp:blocking'/></iq>`},
	}
	for _, tc := range tests {
		if !t.Run(tc.name, func(t *testing.T) { mt.Equal(t, e.IQ(t, tc.send), tc.want) }) {
			return
		}
	}
	if _, ok, _ := e.Host.Mem.GetData(context.Background(), "blocker@localhost", DataKey); ok {
		t.Error("empty blocklist still stored")
	}
}

// TestOfflineAndCache checks that the list applies to an account with no
// session (read from the store) and is cached only while one is bound.
func TestOfflineAndCache(t *testing.T) {
	e, m := setup(t)
	ctx := context.Background()
	mt.Equal(t, e.IQ(t, `<iq type='set' id='1' from='blocker@localhost/r'><block xmlns='urn:xmpp:blocking'><item jid='spam.example'/></block></iq>`),
		`<iq type='result' id='1' to='blocker@localhost/r'/>`)
	if m.cache.get("blocker@localhost") == nil {
		t.Fatal("list of an online account not cached")
	}
	e.Ended(ctx, module.SessionInfo{JID: romeo})
	if m.cache.get("blocker@localhost") == nil {
		t.Fatal("cache dropped while the phone is still bound")
	}
	e.Ended(ctx, module.SessionInfo{JID: phone})
	if m.cache.get("blocker@localhost") != nil {
		t.Fatal("cache kept after the last session ended")
	}
	const spam = `<message from='bot@spam.example/x' to='blocker@localhost'><body>buy</body></message>`
	if r := filter(t, e, true, spam); r == nil {
		t.Error("offline account's blocklist not applied")
	}
	if m.cache.get("blocker@localhost") != nil {
		t.Error("offline account's list cached")
	}
	e.Host.Mem.Fail = errors.New("store down")
	if err := e.Inbound(ctx, mt.Stanza(t, spam)); err == nil || errors.Is(err, module.ErrServiceUnavailable) {
		t.Errorf("store failure gave %v, want the store's error", err)
	}
}

// TestConcurrent runs the filters while the list changes (for -race).
func TestConcurrent(t *testing.T) {
	m := New(0)
	e := mt.Start(t, m)
	ctx := context.Background()
	e.Available(ctx, module.SessionInfo{JID: romeo})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func(i int) {
			defer wg.Done()
			for n := 0; n < 50; n++ {
				item := `<item jid='u` + strconv.Itoa(i*100+n) + `@x'/>`
				e.IQ(t, `<iq type='set' id='b' from='blocker@localhost/r'><block xmlns='urn:xmpp:blocking'>`+item+`</block></iq>`)
			}
		}(i)
		go func() {
			defer wg.Done()
			for n := 0; n < 200; n++ {
				if err := e.Inbound(ctx, mt.Stanza(t, `<message from='nurse@localhost/n' to='blocker@localhost'/>`)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	l, err := m.list(ctx, "blocker@localhost")
	if err != nil || len(l.items) != 200 {
		t.Errorf("list has %d items (%v), want 200: an update was lost", len(l.items), err)
	}
}
