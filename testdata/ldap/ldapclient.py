#!/usr/bin/python3
"""slixmpp client for the LDAP end-to-end test (directory/ldap/e2e_test.go).

  ldapclient.py --port P --cafile F --jid J --password PW login
  ldapclient.py --port P --cafile F --jid J --password PW register

Always SASL PLAIN over STARTTLS (what an LDAP deployment offers). Lines:
  LOGIN-OK <jid> <mechanism>
  LOGIN-FAIL <jid> <sasl condition>
  ROSTER <jid> <contact> group=<name>     (login: shared groups)
  REGISTERED <jid>                        (register: XEP-0077 before login)
  REGISTER-FAIL <jid> <stanza error condition>
"""
import argparse
import asyncio
import logging
import sys

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout

TIMEOUT = 15


def out(*parts):
    print(*parts, flush=True)


class Client(slixmpp.ClientXMPP):
    def __init__(self, args):
        super().__init__(args.jid, args.password, sasl_mech="PLAIN")
        self.args = args
        self.ca_certs = args.cafile
        self.done = asyncio.get_event_loop().create_future()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("failed_auth", self.on_failed_auth)
        self.add_event_handler("disconnected", self.on_disconnected)
        if args.cmd == "register":
            self.register_plugin("xep_0077")
            self["xep_0077"].force_registration = True
            # slixmpp 1.8 queues every stanza until the session starts, which
            # would hold back the pre-login registration IQs of XEP-0077.
            self._always_send_everything = True
            self.add_event_handler("register", self.on_register)

    def finish(self):
        if not self.done.done():
            self.done.set_result(True)

    async def on_register(self, _):
        iq = self.Iq()
        iq["type"] = "set"
        iq["register"]["username"] = self.boundjid.user
        iq["register"]["password"] = self.password
        try:
            await iq.send(timeout=TIMEOUT)
            out("REGISTERED", self.boundjid.bare)
        except IqError as e:
            out("REGISTER-FAIL", self.boundjid.bare, e.iq["error"]["condition"])
            self.disconnect()
        except IqTimeout:
            out("REGISTER-FAIL", self.boundjid.bare, "timeout")
            self.disconnect()

    def on_failed_auth(self, failure):
        cond = failure["condition"] if failure is not None and "condition" in failure.keys() else "?"
        out("LOGIN-FAIL", self.boundjid.bare, cond)
        self.disconnect()

    def on_disconnected(self, _):
        self.finish()

    async def on_start(self, _):
        out("LOGIN-OK", self.boundjid.bare, self["feature_mechanisms"].mech.name)
        iq = self.Iq()
        iq["type"] = "get"
        iq.enable("roster")
        res = await iq.send(timeout=TIMEOUT)
        for item in res.xml.findall("{jabber:iq:roster}query/{jabber:iq:roster}item"):
            for g in item.findall("{jabber:iq:roster}group"):
                out("ROSTER", self.boundjid.bare, item.get("jid"), "group=" + (g.text or ""))
        self.disconnect()


async def run(args):
    c = Client(args)
    c.connect((args.host, args.port), force_starttls=True)
    await asyncio.wait_for(c.done, TIMEOUT * 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--jid", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--debug", action="store_true")
    ap.add_argument("cmd", choices=["login", "register"])
    args = ap.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.CRITICAL, stream=sys.stderr)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(run(args))
    except Exception as e:  # the Go test reads stdout; say what went wrong
        out("ERROR", repr(e))
        sys.exit(1)
    out("DONE")


if __name__ == "__main__":
    main()
