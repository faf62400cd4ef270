#!/usr/bin/python3
"""Interop client for xmppd built on Debian's python3-aioxmpp.

Run by server/interop (go test): two accounts log in over STARTTLS (the
certificate is checked against --cafile), each sends a chat message to the
other's bare JID and waits for the other's message. Prints one line per
observation, exits 1 with a "FAIL ..." line when something does not happen.

  aiox.py --port P --cafile CA --jid A --password PA --peer B --peer-password PB

Lines printed:
  BOUND <full jid>
  MSG <to> from=<bare> body=<body>
  DONE
"""
import argparse
import asyncio
import logging
import sys

import aioxmpp
import aioxmpp.connector
import aioxmpp.dispatcher
import aioxmpp.security_layer

TIMEOUT = 15


def out(*parts):
    print(*parts, flush=True)


def fail(msg):
    out("FAIL", msg)
    sys.exit(1)


def make_client(jid, password, args):
    def ssl_context():
        ctx = aioxmpp.security_layer.default_ssl_context()
        ctx.load_verify_locations(args.cafile)
        return ctx

    security = aioxmpp.make_security_layer(password, ssl_context_factory=ssl_context)
    peer = [(args.host, args.port, aioxmpp.connector.STARTTLSConnector())]
    return aioxmpp.PresenceManagedClient(aioxmpp.JID.fromstr(jid), security, override_peer=peer)


async def run(args):
    a = make_client(args.jid, args.password, args)
    b = make_client(args.peer, args.peer_password, args)
    inbox = {args.jid: asyncio.Queue(), args.peer: asyncio.Queue()}

    def listen(client, own):
        def on_message(msg):
            if msg.type_ == aioxmpp.MessageType.CHAT:
                inbox[own].put_nowait(msg)
        disp = client.summon(aioxmpp.dispatcher.SimpleMessageDispatcher)
        disp.register_callback(aioxmpp.MessageType.CHAT, None, on_message)

    listen(a, args.jid)
    listen(b, args.peer)
    async with a.connected() as sa, b.connected() as sb:
        del sa, sb
        out("BOUND", str(a.local_jid))
        out("BOUND", str(b.local_jid))
        for src, dst, name in ((a, args.peer, args.jid), (b, args.jid, args.peer)):
            msg = aioxmpp.Message(to=aioxmpp.JID.fromstr(dst), type_=aioxmpp.MessageType.CHAT)
            text = "aioxmpp says hello from %s" % name
            msg.body[None] = text
            await src.send(msg)
            while True:
                try:
                    got = await asyncio.wait_for(inbox[dst].get(), TIMEOUT)
                except asyncio.TimeoutError:
                    fail("%s: no message %r from %s" % (dst, text, name))
                out("MSG", dst, "from=" + str(got.from_.bare()), "body=" + got.body.any())
                if got.body.any() == text:
                    break


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--jid", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--peer-password", required=True)
    ap.add_argument("--debug", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.ERROR,
                        format="%(levelname)s %(name)s %(message)s", stream=sys.stderr)
    try:
        asyncio.run(asyncio.wait_for(run(args), 60))
    except Exception as e:  # noqa: any failure of the peer is a test failure
        fail("%r" % (e,))
    out("DONE")


if __name__ == "__main__":
    main()
