// Package link implements the wire protocol between xmppmux and xmppd: an
// XEP-0114 (Jabber Component Protocol) handshake authenticates the
// multiplexor, then hashicorp/yamux carries one flow-controlled stream per
// client connection, each opened by a PROXY protocol v2 header (haproxy
// proxy-protocol.txt) naming the client's addresses and whether the
// multiplexor terminated TLS. See docs/mux-protocol.md.
package link
