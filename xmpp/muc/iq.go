package muc

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// iqToOccupant forwards an IQ between occupants (XEP-0045 section 7.5
// for messages; IQs follow the same rule). The forwarded id encodes the
// target session, the original id and a keyed hash of the sender, so the
// response can be routed back without keeping state and without telling
// the target who the sender is.
func (r *room) iqToOccupant(el *dom.Element, from jid.JID, nick string) {
	typ := el.Get("type")
	target := r.occupants[nick]
	if typ == "result" || typ == "error" {
		r.iqResponse(el, from, target)
		return
	}
	sender := r.occupantOf(from.String())
	switch {
	case sender == nil:
		r.send(errorReply(el, errNotInRoom, r.jid.String()))
		return
	case target == nil:
		r.send(errorReply(el, module.Err("item-not-found", "Recipient not in room"), r.jid.String()))
		return
	}
	q := el.First()
	if target == sender && typ == "get" && q != nil && q.Space == nsPing && q.Local == "ping" {
		// XEP-0410 self-ping: the client is still in the room.
		r.send(iqResult(el, nil))
		return
	}
	to := target.primary
	fwd := el.Copy()
	fwd.Set("id", r.encodeID(to, el.Get("id"), from.String()))
	fwd.Set("from", r.occJID(sender.nick))
	fwd.Set("to", to)
	if q != nil && (q.Space == "vcard-temp" || q.Space == "urn:ietf:params:xml:ns:vcard-4.0") {
		if j, err := jid.Parse(to); err == nil {
			fwd.Set("to", j.Bare().String())
		}
	}
	r.send(fwd)
}

func (r *room) mac(full string) []byte {
	h := hmac.New(sha256.New, r.salt)
	h.Write([]byte(full))
	return h.Sum(nil)[:8]
}

func (r *room) encodeID(to, id, from string) string {
	b := append([]byte(to+"\x00"+id+"\x00"), r.mac(from)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// iqResponse routes a result or error back to the session that asked.
func (r *room) iqResponse(el *dom.Element, from jid.JID, asker *occupant) {
	if asker == nil {
		return
	}
	raw, err := base64.RawURLEncoding.DecodeString(el.Get("id"))
	if err != nil {
		return
	}
	parts := bytes.SplitN(raw, []byte{0}, 3)
	if len(parts) != 3 {
		return
	}
	to, id, mac := string(parts[0]), string(parts[1]), parts[2]
	if tj, err := jid.Parse(to); err != nil || (from.String() != to && !from.Equal(tj.Bare())) {
		return
	}
	responder := r.occupantOf(to)
	if responder == nil {
		return
	}
	for _, s := range asker.sessions {
		if hmac.Equal(r.mac(s.jid.String()), mac) {
			fwd := el.Copy().Set("id", id).Set("from", r.occJID(responder.nick)).Set("to", s.jid.String())
			r.send(fwd)
			return
		}
	}
}
