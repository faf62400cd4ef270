package muc

import (
	"strings"
	"testing"

	"github.com/xmppd/xmppd/xmpp/dom"
	"mellium.im/xmpp/jid"
)

func TestNickprep(t *testing.T) {
	tests := []struct{ name, in, want, cond string }{
		{"plain", "Romeo", "Romeo", ""},
		{"inner space", "Romeo Montague", "Romeo Montague", ""},
		{"variation selector removed", "Ju\uFE0Fliet", "Juliet", ""},
		{"robot face", "\U0001F916\uFE0F", "", "jid-malformed"},
		{"robot face bare", "\U0001F916", "", "jid-malformed"},
		{"blank", "   ", "", "not-allowed"},
		{"control", "a\u0007b", "", "jid-malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, se := prepNick(tc.in)
			cond := ""
			if se != nil {
				cond = se.Condition
			}
			if got != tc.want || cond != tc.cond {
				t.Errorf("prepNick(%q) = %q, %q; want %q, %q", tc.in, got, cond, tc.want, tc.cond)
			}
		})
	}
}

// TestIQBetweenOccupants checks that an IQ to an occupant reaches it from
// the sender's occupant JID and that the answer finds its way back.
func TestIQBetweenOccupants(t *testing.T) {
	defs, actions := parseScriptText(t, t.Name(), clients+createRoom+julietJoins)
	s := newScsRun(t, defs)
	if err := s.run(actions); err != nil {
		t.Fatal(err)
	}
	romeo, juliet := s.clients["Romeo"], s.clients["Juliet"]
	romeo.queue, juliet.queue = nil, nil
	s.send(juliet, `<iq type='get' id='v1' to='room@conference.localhost/Romeo'><query xmlns='jabber:iq:version'/></iq>`)
	if len(romeo.queue) != 1 {
		t.Fatalf("Romeo got %d stanzas, want the IQ", len(romeo.queue))
	}
	fwd := romeo.queue[0]
	if fwd.Get("from") != "room@conference.localhost/Juliet" || fwd.Get("id") == "v1" || strings.Contains(fwd.String(), "balcony") {
		t.Fatalf("forwarded IQ %s: want it from the occupant JID with a new id hiding the sender", fwd)
	}
	reply := dom.New("jabber:client", "iq", "type", "result", "id", fwd.Get("id"), "to", "room@conference.localhost/Juliet", "from", romeo.full.String())
	to, _ := jid.Parse("room@conference.localhost/Juliet")
	s.dispatch(reply, to)
	if len(juliet.queue) != 1 {
		t.Fatalf("Juliet got %d stanzas, want the result", len(juliet.queue))
	}
	if got := juliet.queue[0]; got.Get("id") != "v1" || got.Get("from") != "room@conference.localhost/Romeo" || got.Get("type") != "result" {
		t.Fatalf("result %s: want id v1 from room@conference.localhost/Romeo", got)
	}
	// A forged answer from someone else is dropped.
	s.dispatch(dom.New("jabber:client", "iq", "type", "result", "id", fwd.Get("id"), "to", "room@conference.localhost/Juliet", "from", "nurse@localhost/kitchen"), to)
	if len(juliet.queue) != 1 {
		t.Fatalf("a forged result was forwarded: %s", juliet.queue[len(juliet.queue)-1])
	}
}

// TestHistoryBounds checks the history keeps the configured number of
// messages and no more than maxHistoryBytes.
func TestHistoryBounds(t *testing.T) {
	tests := []struct {
		name      string
		length    int
		body      int
		sent      int
		wantCount int
	}{
		{"by count", 20, 10, 30, 20},
		{"by size", 200, 300 << 10, 10, 3},
		{"disabled", 0, 10, 5, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoom(New(), "room")
			r.m.domain = "conference.localhost"
			r.cfg.HistoryLength = tc.length
			for range tc.sent {
				r.addHistory(stanza("message", "type", "groupchat", "from", "room@conference.localhost/a").
					Add(stanza("body").SetText(strings.Repeat("x", tc.body))))
			}
			if len(r.history) != tc.wantCount {
				t.Fatalf("history has %d messages, want %d", len(r.history), tc.wantCount)
			}
		})
	}
}
