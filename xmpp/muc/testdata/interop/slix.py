#!/usr/bin/python3
"""Smoke test of the MUC with slixmpp (XEP-0045 plugin) as two real clients."""
import asyncio, ssl, sys
import slixmpp
from slixmpp.jid import JID

PORT = int(sys.argv[1])
ROOM = JID("garden@conference.localhost")

def client(jid):
    c = slixmpp.ClientXMPP(jid, "password")
    c.register_plugin("xep_0030"); c.register_plugin("xep_0045"); c.register_plugin("xep_0004")
    c.ssl_context.check_hostname = False
    c.ssl_context.verify_mode = ssl.CERT_NONE
    return c

async def connect(c):
    ev = asyncio.Event()
    c.add_event_handler("session_start", lambda _: ev.set())
    c.connect(("127.0.0.1", PORT))
    await asyncio.wait_for(ev.wait(), 10)
    c.send_presence()

async def main():
    romeo, juliet = client("romeo@localhost/orchard"), client("juliet@localhost/balcony")
    await connect(romeo); await connect(juliet)
    muc_r, muc_j = romeo.plugin["xep_0045"], juliet.plugin["xep_0045"]
    own, subj, occupants, hist = await muc_r.join_muc_wait(ROOM, "Romeo", maxstanzas=0, timeout=10)
    print("romeo joined; own status codes:", sorted(own["muc"]["status_codes"]), "role", own["muc"]["role"])
    form = await muc_r.get_room_config(ROOM)
    print("config form fields:", len(form["fields"]))
    form["type"] = "submit"
    form.set_values({"muc#roomconfig_roomname": "The Garden", "muc#roomconfig_whois": "anyone"})
    await muc_r.set_room_config(ROOM, form)
    info = await romeo.plugin["xep_0030"].get_info(jid=ROOM)
    print("room features:", sorted(f for f in info["disco_info"]["features"] if f.startswith("muc_")))
    got = asyncio.get_event_loop().create_future()
    juliet.add_event_handler("groupchat_message", lambda m: got.done() or m["body"] == "Hello" and got.set_result(m))
    own, subj, occupants, hist = await muc_j.join_muc_wait(ROOM, "Juliet", timeout=10)
    print("juliet sees occupants:", sorted(str(p["from"].resource) for p in occupants), "her codes", sorted(own["muc"]["status_codes"]), "romeo's jid visible:", [str(p["muc"]["jid"]) for p in occupants])
    romeo.send_message(mto=ROOM, mbody="Hello", mtype="groupchat")
    m = await asyncio.wait_for(got, 5)
    print("juliet got groupchat from", m["from"], ":", m["body"])
    await muc_r.set_affiliation(ROOM, "member", jid=JID("juliet@localhost"))
    members = await muc_r.get_affiliation_list(ROOM, "member")
    print("members:", members)
    print("romeo's roster of the room:", sorted(muc_r.get_roster(ROOM)))
    await muc_r.destroy(ROOM, reason="done")
    print("destroyed")
    romeo.disconnect(); juliet.disconnect()

asyncio.run(main())
