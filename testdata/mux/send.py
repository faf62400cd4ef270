#!/usr/bin/python3
"""send.py PORT CAFILE JID PASSWORD TO BODY [COUNT]: log in over STARTTLS
with Debian's python3-slixmpp, send COUNT (1) chat messages, wait for the
server to answer a ping (so they were processed), log out. Prints SENT."""
import asyncio
import sys

import slixmpp


async def main(port, cafile, jid, pw, to, body, count="1"):
    c = slixmpp.ClientXMPP(jid, pw)
    c.ca_certs = cafile
    c.register_plugin("xep_0199")
    started = asyncio.get_event_loop().create_future()
    c.add_event_handler("session_start", lambda _: started.set_result(True))
    c.connect(("127.0.0.1", port), force_starttls=True)
    await asyncio.wait_for(started, 15)
    for _ in range(int(count)):
        c.send_message(mto=to, mbody=body, mtype="chat")
    await c.plugin["xep_0199"].ping(jid=c.boundjid.domain, timeout=15)
    print("SENT", flush=True)
    c.disconnect()
    await asyncio.sleep(0.2)


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.new_event_loop().run_until_complete(main(int(a[0]), *a[1:]))
