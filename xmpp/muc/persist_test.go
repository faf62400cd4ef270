package muc

import (
	"context"
	"testing"
)

// TestPersistentRoom configures a persistent room, restarts the module on
// the same store and checks the room came back empty but configured;
// then makes it temporary and checks it is gone from the store.
func TestPersistentRoom(t *testing.T) {
	first := createRoom + `Romeo sends:
	<iq id='p1' to='room@conference.localhost' type='set'>
		<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>
			<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>
			<field var='muc#roomconfig_persistentroom'><value>1</value></field>
			<field var='muc#roomconfig_roomname'><value>The Garden</value></field>
		</x></query>
	</iq>

Romeo receives:
	<iq id='p1' type='result'/>

Romeo sends:
	<iq id='p2' to='room@conference.localhost' type='set'>
		<query xmlns='http://jabber.org/protocol/muc#admin'><item jid='juliet@localhost' affiliation='member' nick='Jules'/></query>
	</iq>

Romeo receives:
	<iq id='p2' type='result'/>

Romeo sends:
	<presence to="room@conference.localhost/Romeo" type='unavailable'/>
`
	second := `Juliet connects

Juliet sends:
	<iq id='d1' to='conference.localhost' type='get'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>

Juliet receives:
	<iq id='d1' type='result'>
		<query xmlns='http://jabber.org/protocol/disco#items'><item jid='room@conference.localhost' name='The Garden'/></query>
	</iq>

Juliet sends:
	<iq id='d2' to='room@conference.localhost' type='get'><query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'/></iq>

Juliet receives:
	<iq id='d2' type='result'>
		<query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'>
			<identity category='conference' type='text' name='Jules'/>
		</query>
	</iq>

Romeo connects

Romeo sends:
	<presence to="room@conference.localhost/Romeo"><x xmlns="http://jabber.org/protocol/muc"/></presence>

Romeo receives:
	<presence from='room@conference.localhost/Romeo'>
		<x xmlns='http://jabber.org/protocol/muc#user'>
			<item affiliation='owner' role='moderator' jid='romeo@localhost/orchard'/>
			<status code='110'/>
		</x>
	</presence>

Romeo sends:
	<iq id='p3' to='room@conference.localhost' type='set'>
		<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>
			<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>
			<field var='muc#roomconfig_persistentroom'><value>0</value></field>
		</x></query>
	</iq>

Romeo receives:
	<iq id='p3' type='result'/>

Romeo sends:
	<presence to="room@conference.localhost/Romeo" type='unavailable'/>
`
	defs, actions := parseScriptText(t, "first", clients+first)
	s := newScsRun(t, defs)
	if err := s.run(actions); err != nil {
		t.Fatal(err)
	}
	defs, actions = parseScriptText(t, "second", clients+second)
	s = newScsRunOn(t, defs, s.host)
	if err := s.run(actions); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, ok, err := s.host.Store().GetData(ctx, "room@conference.localhost", roomKey); err != nil || ok {
		t.Fatalf("temporary room still stored (ok=%v, err=%v)", ok, err)
	}
	if b, _, err := s.host.Store().GetData(ctx, "conference.localhost", indexKey); err != nil || string(b) != "[]" {
		t.Fatalf("room list %q (err %v), want []", b, err)
	}
}
