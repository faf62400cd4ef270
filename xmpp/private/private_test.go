package private

import (
	"testing"

	mt "github.com/xmppd/xmppd/xmpp/module/moduletest"
)

const (
	prefs       = `<exodus xmlns='exodus:prefs'><defaultnick>Hamlet</defaultnick></exodus>`
	bookmarks   = `<storage xmlns='storage:bookmarks'><conference jid='council@conference.localhost' autojoin='true'/></storage>`
	notAccept   = `<error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
	forbidden   = `<error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
	hamlet      = `from='hamlet@localhost/denmark'`
	toHamlet    = `to='hamlet@localhost/denmark'`
	query       = `<query xmlns='jabber:iq:private'>`
	queryEnd    = `</query>`
	tooBigValue = `<big xmlns='x:big'>0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789</big>`
)

// TestPrivate runs in order: later steps read what earlier ones stored.
func TestPrivate(t *testing.T) {
	e := mt.Start(t, New(120))
	steps := []struct{ name, send, want string }{
		{"nothing stored yet", `<iq type='get' id='1' ` + hamlet + `>` + query + `<exodus xmlns='exodus:prefs'/>` + queryEnd + `</iq>`,
			`<iq type='result' id='1' ` + toHamlet + `>` + query + `<exodus xmlns='exodus:prefs'/>` + queryEnd + `</iq>`},
		{"store two elements in one set", `<iq type='set' id='2' ` + hamlet + `>` + query + prefs + bookmarks + queryEnd + `</iq>`,
			`<iq type='result' id='2' ` + toHamlet + `/>`},
		{"get one", `<iq type='get' id='3' ` + hamlet + `>` + query + `<exodus xmlns='exodus:prefs'/>` + queryEnd + `</iq>`,
			`<iq type='result' id='3' ` + toHamlet + `>` + query + prefs + queryEnd + `</iq>`},
		{"get the other, addressed to own bare JID", `<iq type='get' id='4' to='hamlet@localhost' ` + hamlet + `>` + query + `<storage xmlns='storage:bookmarks'/>` + queryEnd + `</iq>`,
			`<iq type='result' id='4' from='hamlet@localhost' ` + toHamlet + `>` + query + bookmarks + queryEnd + `</iq>`},
		{"same namespace, other name is another key", `<iq type='get' id='5' ` + hamlet + `>` + query + `<other xmlns='exodus:prefs'/>` + queryEnd + `</iq>`,
			`<iq type='result' id='5' ` + toHamlet + `>` + query + `<other xmlns='exodus:prefs'/>` + queryEnd + `</iq>`},
		{"replace", `<iq type='set' id='6' ` + hamlet + `>` + query + `<exodus xmlns='exodus:prefs'><defaultnick>Prince</defaultnick></exodus>` + queryEnd + `</iq>`,
			`<iq type='result' id='6' ` + toHamlet + `/>`},
		{"replaced", `<iq type='get' id='7' ` + hamlet + `>` + query + `<exodus xmlns='exodus:prefs'/>` + queryEnd + `</iq>`,
			`<iq type='result' id='7' ` + toHamlet + `>` + query + `<exodus xmlns='exodus:prefs'><defaultnick>Prince</defaultnick></exodus>` + queryEnd + `</iq>`},
		{"another user's data", `<iq type='set' id='8' to='hamlet@localhost' from='macbeth@localhost/m'>` + query + prefs + queryEnd + `</iq>`,
			`<iq type='error' id='8' from='hamlet@localhost' to='macbeth@localhost/m'>` + forbidden + `</iq>`},
		{"another user's get", `<iq type='get' id='9' to='hamlet@localhost' from='macbeth@localhost/m'>` + query + `<exodus xmlns='exodus:prefs'/>` + queryEnd + `</iq>`,
			`<iq type='error' id='9' from='hamlet@localhost' to='macbeth@localhost/m'>` + forbidden + `</iq>`},
		{"empty query", `<iq type='get' id='10' ` + hamlet + `>` + query + queryEnd + `</iq>`,
			`<iq type='error' id='10' ` + toHamlet + `>` + notAccept + `</iq>`},
		{"jabber:client child", `<iq type='set' id='11' ` + hamlet + `>` + query + `<x xmlns='jabber:client'/>` + queryEnd + `</iq>`,
			`<iq type='error' id='11' ` + toHamlet + `>` + notAccept + `</iq>`},
		{"jabber:server child", `<iq type='get' id='12' ` + hamlet + `>` + query + `<x xmlns='jabber:server'/>` + queryEnd + `</iq>`,
			`<iq type='error' id='12' ` + toHamlet + `>` + notAccept + `</iq>`},
		{"child in jabber:iq:private", `<iq type='set' id='13' ` + hamlet + `>` + query + `<x/>` + queryEnd + `</iq>`,
			`<iq type='error' id='13' ` + toHamlet + `>` + notAccept + `</iq>`},
		{"too large, nothing stored", `<iq type='set' id='14' ` + hamlet + `>` + query + `<exodus xmlns='exodus:prefs'/>` + tooBigValue + queryEnd + `</iq>`,
			`<iq type='error' id='14' ` + toHamlet + `><error type='modify'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>private element larger than 120 bytes</text></error></iq>`},
		{"still the old value", `<iq type='get' id='15' ` + hamlet + `>` + query + `<exodus xmlns='exodus:prefs'/>` + queryEnd + `</iq>`,
			`<iq type='result' id='15' ` + toHamlet + `>` + query + `<exodus xmlns='exodus:prefs'><defaultnick>Prince</defaultnick></exodus>` + queryEnd + `</iq>`},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { mt.Equal(t, e.IQ(t, s.send), s.want) }) {
			return
		}
	}
}
