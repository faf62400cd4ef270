package muc

import "testing"

// clients and room are the start shared by the inline transcripts:
// Romeo creates room@conference.localhost as an instant room and Juliet
// connects; later steps are written in the scansion format.
const clients = `[Client] Romeo
	jid: romeo@localhost/orchard
	password: password

[Client] Juliet
	jid: juliet@localhost/balcony
	password: password

[Client] Nurse
	jid: nurse@localhost/kitchen
	password: password

[Client] Admin
	jid: admin@localhost/console
	password: password

-----

`

const createRoom = `Romeo connects

Romeo sends:
	<presence to="room@conference.localhost/Romeo">
		<x xmlns="http://jabber.org/protocol/muc"/>
	</presence>

Romeo receives:
	<message type='groupchat' from='room@conference.localhost'><subject/></message>

Romeo sends:
	<iq id='c1' to='room@conference.localhost' type='set'>
		<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query>
	</iq>

Romeo receives:
	<iq id='c1' type='result' from='room@conference.localhost'/>

Juliet connects

`

const julietJoins = `Juliet sends:
	<presence to="room@conference.localhost/Juliet">
		<x xmlns="http://jabber.org/protocol/muc"/>
	</presence>

Juliet receives:
	<message type='groupchat' from='room@conference.localhost'><subject/></message>

`

func runInline(t *testing.T, script string) error {
	t.Helper()
	defs, actions := parseScriptText(t, t.Name(), clients+script)
	return newScsRun(t, defs).run(actions)
}

func TestScenarios(t *testing.T) {
	tests := []struct{ name, script string }{
		{"private message", createRoom + julietJoins + `Juliet sends:
	<message to='room@conference.localhost/Romeo' type='chat' id='pm1'><body>hi</body></message>

Romeo receives:
	<message from='room@conference.localhost/Juliet' type='chat' id='pm1'>
		<body>hi</body>
		<x xmlns='http://jabber.org/protocol/muc#user'/>
	</message>

Juliet sends:
	<message to='room@conference.localhost/Nobody' type='chat' id='pm2'><body>hi</body></message>

Juliet receives:
	<message from='room@conference.localhost/Nobody' type='error' id='pm2'>
		<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>
	</message>
`},
		{"groupchat from outside", createRoom + `Juliet sends:
	<message to='room@conference.localhost' type='groupchat' id='g1'><body>hi</body></message>

Juliet receives:
	<message from='room@conference.localhost' type='error' id='g1'>
		<error type='cancel'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>
	</message>
`},
		{"locked until configured", `Romeo connects

Romeo sends:
	<presence to="room@conference.localhost/Romeo"><x xmlns="http://jabber.org/protocol/muc"/></presence>

Juliet connects

Juliet sends:
	<presence to="room@conference.localhost/Juliet"><x xmlns="http://jabber.org/protocol/muc"/></presence>

Juliet receives:
	<presence from='room@conference.localhost/Juliet' type='error'>
		<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>
	</presence>
`},
		{"nickname in use", createRoom + `Juliet sends:
	<presence to="room@conference.localhost/Romeo"><x xmlns="http://jabber.org/protocol/muc"/></presence>

Juliet receives:
	<presence from='room@conference.localhost/Romeo' type='error'>
		<error type='cancel' by='room@conference.localhost'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>
	</presence>
`},
		{"members only", createRoom + `Romeo sends:
	<iq id='c2' to='room@conference.localhost' type='set'>
		<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>
			<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>
			<field var='muc#roomconfig_membersonly'><value>1</value></field>
		</x></query>
	</iq>

Romeo receives:
	<iq id='c2' type='result'/>

Romeo receives:
	<message type='groupchat' from='room@conference.localhost'>
		<x xmlns='http://jabber.org/protocol/muc#user'><status code='104'/></x>
	</message>

Juliet sends:
	<presence to="room@conference.localhost/Juliet"><x xmlns="http://jabber.org/protocol/muc"/></presence>

Juliet receives:
	<presence from='room@conference.localhost/Juliet' type='error'>
		<error type='auth'><registration-required xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>
	</presence>

Juliet sends:
	<presence/>

Romeo sends:
	<message to='room@conference.localhost' id='inv'>
		<x xmlns='http://jabber.org/protocol/muc#user'><invite to='juliet@localhost'><reason>come</reason></invite></x>
	</message>

Juliet receives:
	<message from='room@conference.localhost' id='inv'>
		<x xmlns='http://jabber.org/protocol/muc#user'>
			<invite from='room@conference.localhost/Romeo'><reason>come</reason></invite>
		</x>
		<body>room@conference.localhost/Romeo invited you to the room room@conference.localhost (come)</body>
	</message>

` + julietJoins},
		{"ban and kick", createRoom + julietJoins + `Nurse connects

Nurse sends:
	<presence to="room@conference.localhost/Nurse"><x xmlns="http://jabber.org/protocol/muc"/></presence>

Nurse receives:
	<message type='groupchat' from='room@conference.localhost'><subject/></message>

Romeo sends:
	<iq id='k1' to='room@conference.localhost' type='set'>
		<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Nurse' role='none'><reason>Out</reason></item></query>
	</iq>

Nurse receives:
	<presence type='unavailable' from='room@conference.localhost/Nurse'>
		<x xmlns='http://jabber.org/protocol/muc#user'>
			<status code='307'/>
			<item affiliation='none' role='none' jid='nurse@localhost/kitchen'><actor nick='Romeo'/><reason>Out</reason></item>
			<status code='110'/>
		</x>
	</presence>

Juliet receives:
	<presence type='unavailable' from='room@conference.localhost/Nurse'>
		<x xmlns='http://jabber.org/protocol/muc#user'>
			<status code='307'/>
			<item affiliation='none' role='none'><actor nick='Romeo'/><reason>Out</reason></item>
		</x>
	</presence>

Romeo receives:
	<iq id='k1' type='result'/>

Romeo sends:
	<iq id='b1' to='room@conference.localhost' type='set'>
		<query xmlns='http://jabber.org/protocol/muc#admin'><item jid='juliet@localhost' affiliation='outcast'/></query>
	</iq>

Juliet receives:
	<presence type='unavailable' from='room@conference.localhost/Juliet'>
		<x xmlns='http://jabber.org/protocol/muc#user'>
			<status code='301'/>
			<item affiliation='outcast' role='none' jid='juliet@localhost/balcony'><actor nick='Romeo'/></item>
			<status code='110'/>
		</x>
	</presence>

Juliet sends:
	<presence to="room@conference.localhost/Juliet"><x xmlns="http://jabber.org/protocol/muc"/></presence>

Juliet receives:
	<presence from='room@conference.localhost/Juliet' type='error'>
		<error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>
	</presence>
`},
		{"subject permission", createRoom + julietJoins + `Juliet sends:
	<message to='room@conference.localhost' type='groupchat' id='s1'><subject>Mine</subject></message>

Juliet receives:
	<message type='error' id='s1'><error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>

Romeo sends:
	<message to='room@conference.localhost' type='groupchat'><subject>Verona</subject></message>

Juliet receives:
	<message type='groupchat' from='room@conference.localhost/Romeo'><subject>Verona</subject></message>

Nurse connects

Nurse sends:
	<presence to="room@conference.localhost/Nurse"><x xmlns="http://jabber.org/protocol/muc"/></presence>

Nurse receives:
	<message type='groupchat' from='room@conference.localhost/Romeo'>
		<subject>Verona</subject>
		<delay xmlns='urn:xmpp:delay' from='room@conference.localhost' stamp='{scansion:any}'/>
	</message>
`},
		{"history limit", createRoom + `Romeo sends:
	<message to='room@conference.localhost' type='groupchat' id='h1'><body>one</body></message>

Romeo sends:
	<message to='room@conference.localhost' type='groupchat' id='h2'><body>two</body></message>

Juliet sends:
	<presence to="room@conference.localhost/Juliet">
		<x xmlns="http://jabber.org/protocol/muc"><history maxstanzas='1'/></x>
	</presence>

Juliet receives:
	<presence from='room@conference.localhost/Juliet'/>

Juliet receives:
	<message type='groupchat' id='h2' from='room@conference.localhost/Romeo'><body>two</body></message>

Juliet receives:
	<message type='groupchat' from='room@conference.localhost'><subject/></message>
`},
		{"disconnect leaves", createRoom + julietJoins + `Romeo disconnects

Juliet receives:
	<presence type='unavailable' from='room@conference.localhost/Romeo'>
		<x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='owner' role='none'/></x>
	</presence>
`},
		{"disco", createRoom + `Juliet sends:
	<iq id='d1' to='room@conference.localhost' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>

Juliet receives:
	<iq id='d1' type='result' from='room@conference.localhost'>
		<query xmlns='http://jabber.org/protocol/disco#info' scansion:strict='false'>
			<identity category='conference' type='text' name='room'/>
			<feature var='http://jabber.org/protocol/muc'/>
			<feature var='muc_semianonymous'/>
			<feature var='muc_open'/>
			<feature var='muc_temporary'/>
		</query>
	</iq>

Juliet sends:
	<iq id='d2' to='conference.localhost' type='get'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>

Juliet receives:
	<iq id='d2' type='result' from='conference.localhost'>
		<query xmlns='http://jabber.org/protocol/disco#items'><item jid='room@conference.localhost'/></query>
	</iq>

Juliet sends:
	<iq id='d3' to='conference.localhost' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>

Juliet receives:
	<iq id='d3' type='result' from='conference.localhost'>
		<query xmlns='http://jabber.org/protocol/disco#info' scansion:strict='false'>
			<identity category='conference' type='text'/>
			<feature var='http://jabber.org/protocol/muc'/>
		</query>
	</iq>

Juliet sends:
	<iq id='d4' to='room@conference.localhost' type='get'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>

Juliet receives:
	<iq id='d4' type='error'><error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>

Romeo sends:
	<presence to="room@conference.localhost/Romeo" type='unavailable'/>

Juliet sends:
	<iq id='d5' to='room@conference.localhost' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>

Juliet receives:
	<iq id='d5' type='error'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>
`},
		{"config form", createRoom + `Romeo sends:
	<iq id='f1' to='room@conference.localhost' type='get'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>

Romeo receives:
	<iq id='f1' type='result'>
		<query xmlns='http://jabber.org/protocol/muc#owner'>
			<x xmlns='jabber:x:data' type='form' scansion:strict='false'>
				<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/muc#roomconfig</value></field>
				<field var='muc#roomconfig_whois' type='list-single' scansion:strict='false'><value>moderators</value></field>
				<field var='muc#roomconfig_historylength' scansion:strict='false'><value>20</value></field>
			</x>
		</query>
	</iq>
`},
		{"nick change keeps history of room", createRoom + julietJoins + `Juliet sends:
	<presence to="room@conference.localhost/Jules"/>

Romeo receives:
	<presence type='unavailable' from='room@conference.localhost/Juliet'>
		<x xmlns='http://jabber.org/protocol/muc#user'>
			<status code='303'/>
			<item nick='Jules' affiliation='none' role='participant' jid='juliet@localhost/balcony'/>
		</x>
	</presence>

Romeo receives:
	<presence from='room@conference.localhost/Jules'/>

Juliet sends:
	<message to='room@conference.localhost' type='groupchat' id='j1'><body>renamed</body></message>

Romeo receives:
	<message type='groupchat' id='j1' from='room@conference.localhost/Jules'><body>renamed</body></message>
`},
		{"voice in a moderated room", createRoom + `Romeo sends:
	<iq id='m1' to='room@conference.localhost' type='set'>
		<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>
			<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>
			<field var='muc#roomconfig_moderatedroom'><value>1</value></field>
		</x></query>
	</iq>

Romeo receives:
	<iq id='m1' type='result'/>

` + julietJoins + `Juliet sends:
	<message to='room@conference.localhost' type='groupchat' id='v1'><body>may I?</body></message>

Juliet receives:
	<message type='error' id='v1'><error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>

Romeo sends:
	<iq id='m2' to='room@conference.localhost' type='set'>
		<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Juliet' role='participant'/></query>
	</iq>

Juliet receives:
	<presence from='room@conference.localhost/Juliet'>
		<x xmlns='http://jabber.org/protocol/muc#user'>
			<item affiliation='none' role='participant' jid='juliet@localhost/balcony'><actor nick='Romeo'/></item>
			<status code='110'/>
		</x>
	</presence>

Juliet sends:
	<message to='room@conference.localhost' type='groupchat' id='v2'><body>thanks</body></message>

Romeo receives:
	<message type='groupchat' id='v2' from='room@conference.localhost/Juliet'><body>thanks</body></message>

Juliet sends:
	<iq id='m3' to='room@conference.localhost' type='set'>
		<query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Romeo' role='visitor'/></query>
	</iq>

Juliet receives:
	<iq id='m3' type='error'><error type='cancel'><not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>
`},
		{"service admin", createRoom + `Admin connects

Admin sends:
	<iq id='a1' to='room@conference.localhost' type='get'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>

Admin receives:
	<iq id='a1' type='result'><query xmlns='http://jabber.org/protocol/muc#owner' scansion:strict='false'/></iq>

Juliet sends:
	<iq id='a2' to='conference.localhost' type='set'>
		<command xmlns='http://jabber.org/protocol/commands' node='http://prosody.im/protocol/muc#destroy' action='execute'/>
	</iq>

Juliet receives:
	<iq id='a2' type='error'><error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>

Admin sends:
	<iq id='a3' to='conference.localhost' type='set'>
		<command xmlns='http://jabber.org/protocol/commands' node='http://prosody.im/protocol/muc#destroy' action='execute'/>
	</iq>

Admin receives:
	<iq id='a3' type='result'>
		<command xmlns='http://jabber.org/protocol/commands' node='http://prosody.im/protocol/muc#destroy' status='executing' sessionid='{scansion:any}' scansion:strict='false'/>
	</iq>

Admin sends:
	<iq id='a4' to='conference.localhost' type='set'>
		<command xmlns='http://jabber.org/protocol/commands' node='http://prosody.im/protocol/muc#destroy'>
			<x xmlns='jabber:x:data' type='submit'><field var='rooms'><value>room@conference.localhost</value></field></x>
		</command>
	</iq>

Romeo receives:
	<presence type='unavailable' from='room@conference.localhost/Romeo'>
		<x xmlns='http://jabber.org/protocol/muc#user'>
			<destroy/>
			<item affiliation='owner' role='none' jid='romeo@localhost/orchard'/>
			<status code='110'/>
		</x>
	</presence>

Admin receives:
	<iq id='a4' type='result'>
		<command xmlns='http://jabber.org/protocol/commands' node='http://prosody.im/protocol/muc#destroy' status='completed' sessionid='{scansion:any}'>
			<note type='info'>The following rooms were destroyed:&#10;room@conference.localhost</note>
		</command>
	</iq>
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := runInline(t, tc.script); err != nil {
				t.Fatal(err)
			}
		})
	}
}
