#!/usr/bin/python3
"""Interop client for xmppd built on Debian's python3-slixmpp.

Run by server/interop (go test). Every observation is printed on stdout as
one line that the Go test asserts on; the script itself also exits 1 with a
"FAIL ..." line as soon as something expected does not happen in time.

  slix.py [common flags] roundtrip --peer JID --peer-password PW
  slix.py [common flags] login
  slix.py [common flags] receive --body TEXT

Lines printed:
  MECH <jid> <mechanism>            SASL mechanism that succeeded
  TLS <jid> <starttls|direct> <version> <cipher>
  BOUND <full jid>
  MSG <to> from=<bare> body=<body>
  ROSTER <owner> <contact> subscription=<value>
  PRESENCE <to> from=<bare> type=<type>
  OFFLINE <to> from=<bare> delay=<stamp> body=<body>
  READY                             (receive: logged in, waiting)
  DONE
"""
import argparse
import asyncio
import logging
import ssl
import sys

import slixmpp

TIMEOUT = 15


def out(*parts):
    print(*parts, flush=True)


def fail(msg):
    out("FAIL", msg)
    sys.exit(1)


class Client(slixmpp.ClientXMPP):
    """A client that queues what it receives so the scenario can await it."""

    def __init__(self, jid, password, args):
        super().__init__(jid, password, sasl_mech=args.mech)
        self.args = args
        self.ca_certs = args.cafile
        self.auto_authorize = None  # None: leave requests to us (False rejects them)
        self.auto_subscribe = False
        self.messages = asyncio.Queue()
        self.presences = asyncio.Queue()
        self.subscribes = asyncio.Queue()
        self.started = asyncio.get_event_loop().create_future()
        self.ended = asyncio.get_event_loop().create_future()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("auth_success", self.on_auth)
        self.add_event_handler("failed_auth", self.on_failed_auth)
        self.add_event_handler("disconnected", self.on_disconnected)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("presence_subscribe", self.on_subscribe)
        self.add_event_handler("presence_subscribed", self.on_presence)
        self.add_event_handler("presence_unavailable", self.on_presence)
        self.add_event_handler("presence_available", self.on_presence)

    def on_auth(self, _):
        out("MECH", self.boundjid.bare, self["feature_mechanisms"].mech.name)

    def on_failed_auth(self, _):
        if not self.started.done():
            self.started.set_exception(RuntimeError("authentication failed for %s" % self.boundjid.bare))

    def on_disconnected(self, reason):
        if not self.started.done():
            self.started.set_exception(RuntimeError("disconnected before session start: %s" % (reason,)))
        if not self.ended.done():
            self.ended.set_result(True)

    async def on_start(self, _):
        sslobj = self.transport.get_extra_info("ssl_object")
        if sslobj is None:
            self.started.set_exception(RuntimeError("session started without TLS"))
            return
        how = "direct" if self.args.direct_tls else "starttls"
        out("TLS", self.boundjid.bare, how, sslobj.version(), sslobj.cipher()[0])
        out("BOUND", self.boundjid.full)
        # an "interested resource" (RFC 6121 2.1.6): only those get roster
        # pushes and subscription approvals
        await self.get_roster(timeout=TIMEOUT)
        self.send_presence()
        self.started.set_result(True)

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal"):
            self.messages.put_nowait(msg)

    def on_subscribe(self, pres):
        self.subscribes.put_nowait(pres)

    def on_presence(self, pres):
        self.presences.put_nowait(pres)

    async def login(self):
        host, port = self.args.host, self.args.port
        self.connect((host, port), use_ssl=self.args.direct_tls,
                     force_starttls=not self.args.direct_tls,
                     disable_starttls=self.args.direct_tls)
        await asyncio.wait_for(self.started, TIMEOUT)

    async def logout(self):
        self.disconnect()
        await asyncio.wait_for(self.ended, TIMEOUT)


async def wait_msg(client, sender, what):
    """Waits for a message from sender (bare JID) and returns it."""
    while True:
        try:
            msg = await asyncio.wait_for(client.messages.get(), TIMEOUT)
        except asyncio.TimeoutError:
            fail("%s: no message from %s (%s)" % (client.boundjid.bare, sender, what))
        if msg["from"].bare == sender:
            return msg


async def wait_presence(client, sender, ptype):
    while True:
        try:
            pres = await asyncio.wait_for(client.presences.get(), TIMEOUT)
        except asyncio.TimeoutError:
            fail("%s: no presence type=%s from %s" % (client.boundjid.bare, ptype, sender))
        got = pres["type"] if pres["type"] in ("subscribed", "unavailable") else "available"
        if pres["from"].bare == sender and got == ptype:
            out("PRESENCE", client.boundjid.bare, "from=" + sender, "type=" + ptype)
            return pres


async def exchange(a, b, text):
    """a sends text to b's bare JID; b must receive it."""
    a.send_message(mto=b.boundjid.bare, mbody=text, mtype="chat")
    msg = await wait_msg(b, a.boundjid.bare, text)
    out("MSG", b.boundjid.bare, "from=" + msg["from"].bare, "body=" + msg["body"])


async def subscribe(a, b):
    """a asks to see b's presence, b approves, a learns it was approved."""
    a.send_presence(pto=b.boundjid.bare, ptype="subscribe")
    while True:
        try:
            pres = await asyncio.wait_for(b.subscribes.get(), TIMEOUT)
        except asyncio.TimeoutError:
            fail("%s: no subscription request from %s" % (b.boundjid.bare, a.boundjid.bare))
        if pres["from"].bare == a.boundjid.bare:
            break
    b.send_presence(pto=a.boundjid.bare, ptype="subscribed")
    await wait_presence(a, b.boundjid.bare, "subscribed")


async def show_roster(client, contact):
    """Fetches the roster from the server (not the local cache) and prints
    the subscription state of contact."""
    # no roster versioning here: the server would answer "nothing changed"
    iq = client.Iq()
    iq["type"] = "get"
    iq.enable("roster")
    res = await iq.send(timeout=TIMEOUT)
    for item in res.xml.findall("{jabber:iq:roster}query/{jabber:iq:roster}item"):
        if item.get("jid") == contact:
            sub = item.get("subscription", "none")
            out("ROSTER", client.boundjid.bare, contact, "subscription=" + sub)
            return sub
    out("ROSTER", client.boundjid.bare, contact, "subscription=absent")
    return "absent"


async def roundtrip(args):
    a = Client(args.jid, args.password, args)
    b = Client(args.peer, args.peer_password, args)
    await a.login()
    await b.login()
    ja, jb = a.boundjid.bare, b.boundjid.bare
    await exchange(a, b, "hello %s, this is %s" % (jb, ja))
    await exchange(b, a, "hello %s, this is %s" % (ja, jb))
    await subscribe(a, b)
    await subscribe(b, a)
    await show_roster(a, jb)
    await show_roster(b, ja)
    # a sees b's presence now; b going offline must reach a as unavailable,
    # which also tells us the server has ended b's session.
    await b.logout()
    await wait_presence(a, jb, "unavailable")
    body = "stored while %s was offline" % jb
    a.send_message(mto=jb, mbody=body, mtype="chat")
    b2 = Client(args.peer, args.peer_password, args)
    await b2.login()
    msg = await wait_msg(b2, ja, "offline message")
    # the raw attribute, as the server wrote it (XEP-0203)
    delay = msg.xml.find("{urn:xmpp:delay}delay")
    stamp = delay.get("stamp") if delay is not None else "none"
    out("OFFLINE", jb, "from=" + msg["from"].bare, "delay=" + stamp, "body=" + msg["body"])
    await b2.logout()
    await a.logout()


async def login(args):
    c = Client(args.jid, args.password, args)
    await c.login()
    # a round trip through the server proves the session is usable
    c.send_message(mto=c.boundjid.full, mbody="note to self", mtype="chat")
    msg = await wait_msg(c, c.boundjid.bare, "message to self")
    out("MSG", c.boundjid.bare, "from=" + msg["from"].bare, "body=" + msg["body"])
    await c.logout()


async def receive(args):
    c = Client(args.jid, args.password, args)
    await c.login()
    out("READY")
    while True:
        try:
            msg = await asyncio.wait_for(c.messages.get(), TIMEOUT)
        except asyncio.TimeoutError:
            fail("%s: no message with body %r" % (c.boundjid.bare, args.body))
        out("MSG", c.boundjid.bare, "from=" + msg["from"].bare, "body=" + msg["body"].strip())
        if msg["body"].strip() == args.body:
            break
    await c.logout()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--jid", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--mech", default="SCRAM-SHA-256", help="the only SASL mechanism allowed")
    ap.add_argument("--direct-tls", action="store_true", help="XEP-0368 direct TLS instead of STARTTLS")
    ap.add_argument("--debug", action="store_true")
    sub = ap.add_subparsers(dest="cmd", required=True)
    rt = sub.add_parser("roundtrip")
    rt.add_argument("--peer", required=True)
    rt.add_argument("--peer-password", required=True)
    sub.add_parser("login")
    rc = sub.add_parser("receive")
    rc.add_argument("--body", required=True)
    args = ap.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.ERROR,
                        format="%(levelname)s %(name)s %(message)s", stream=sys.stderr)
    # slixmpp leaves its filter tasks pending at exit; not our concern
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    run = {"roundtrip": roundtrip, "login": login, "receive": receive}[args.cmd]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(asyncio.wait_for(run(args), 120))
    except (asyncio.TimeoutError, RuntimeError, ssl.SSLError, OSError) as e:
        fail("%s: %r" % (args.cmd, e))
    out("DONE")


if __name__ == "__main__":
    main()
