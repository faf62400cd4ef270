#!/usr/bin/python3
"""Smoke test of the MUC with aioxmpp's MUCClient."""
import asyncio, sys
import aioxmpp, aioxmpp.muc

PORT = int(sys.argv[1])
ROOM = aioxmpp.JID.fromstr("hall@conference.localhost")

def client(jid):
    return aioxmpp.PresenceManagedClient(aioxmpp.JID.fromstr(jid),
        aioxmpp.make_security_layer("password", no_verify=True),
        override_peer=[("127.0.0.1", PORT, aioxmpp.connector.STARTTLSConnector())])

async def main():
    r, j = client("romeo@localhost/a"), client("juliet@localhost/b")
    async with r.connected() as rs, j.connected() as js:
        rmuc, jmuc = r.summon(aioxmpp.MUCClient), j.summon(aioxmpp.MUCClient)
        room, fut = rmuc.join(ROOM, "Romeo")
        await asyncio.wait_for(fut, 10)
        print("romeo joined, me:", room.me.nick, room.me.role, room.me.affiliation)
        form = await rmuc.get_room_config(ROOM)
        conf = aioxmpp.muc.ConfigurationForm.from_xso(form)
        conf.roomname.value = "Hall"
        await rmuc.set_room_config(ROOM, conf.render_reply())
        jroom, jfut = jmuc.join(ROOM, "Juliet")
        await asyncio.wait_for(jfut, 10)
        print("juliet joined, members:", sorted(m.nick for m in jroom.members), "romeo direct jid:", [str(m.direct_jid) for m in jroom.members if m.nick == "Romeo"])
        got = asyncio.get_event_loop().create_future()
        def on_msg(msg, member, source, **kw):
            if not got.done() and msg.body:
                got.set_result((member.nick, msg.body.any()))
        jroom.on_message.connect(on_msg)
        msg = aioxmpp.Message(type_=aioxmpp.MessageType.GROUPCHAT)
        msg.body[None] = "Hello hall"
        await room.send_message(msg)
        print("juliet got:", await asyncio.wait_for(got, 5))
        left = asyncio.get_event_loop().create_future()
        room.on_leave.connect(lambda member, **kw: left.done() or left.set_result(member.nick))
        await jroom.leave()
        print("romeo saw leave of:", await asyncio.wait_for(left, 5))
        await room.leave()
        print("done")

asyncio.run(main())
