#!/usr/bin/python3
"""stall.py PORT CAFILE JID PASSWORD: a client that logs in (STARTTLS,
SASL PLAIN, bind, presence) with raw sockets, prints READY, and then never
reads again: the server's messages to it pile up (head-of-line test)."""
import base64
import socket
import ssl
import sys
import time


def until(s, want, buf=b""):
    deadline = time.time() + 15
    while want not in buf:
        if time.time() > deadline:
            sys.exit("FAIL stall.py: waiting for %r, got %r" % (want, buf[-300:]))
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("FAIL stall.py: closed while waiting for %r" % want)
        buf += chunk
    return buf


def header(domain):
    return ("<?xml version='1.0'?><stream:stream to='%s' version='1.0' xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams'>" % domain).encode()


def main(port, cafile, jid, pw):
    user, domain = jid.split("@")
    raw = socket.create_connection(("127.0.0.1", int(port)))
    raw.sendall(header(domain))
    until(raw, b"</stream:features>")
    raw.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    until(raw, b"<proceed")
    ctx = ssl.create_default_context(cafile=cafile)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.sendall(header(domain))
    until(s, b"</stream:features>")
    cred = base64.b64encode(("\0%s\0%s" % (user, pw)).encode()).decode()
    s.sendall(("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>" % cred).encode())
    until(s, b"<success")
    s.sendall(header(domain))
    until(s, b"</stream:features>")
    s.sendall(b"<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
              b"<resource>stall</resource></bind></iq>")
    until(s, b"</iq>")
    s.sendall(b"<presence/>")
    print("READY", flush=True)
    time.sleep(3600)  # never read again


if __name__ == "__main__":
    main(*sys.argv[1:])
