// Package offline implements XEP-0160 delivery of offline messages: the
// core stores messages for accounts without an available resource (see
// server/router.go); this module hands them to the first session that
// sends initial presence, stamped with XEP-0203 <delay/>, and deletes them
// once queued.
package offline

import (
	"context"
	"time"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
)

// NSDelay is the XEP-0203 namespace.
const NSDelay = "urn:xmpp:delay"

// Module delivers stored messages.
type Module struct{ h module.Host }

// New returns the module.
func New() *Module { return &Module{} }

// Name implements module.Module.
func (m *Module) Name() string { return "offline" }

// Start implements module.Module.
func (m *Module) Start(_ context.Context, h module.Host, r *module.Registry) error {
	m.h = h
	r.Feature(module.ToHost, "msgoffline")
	r.OnAvailable(m.deliver)
	return nil
}

// Stop implements module.Module.
func (m *Module) Stop(context.Context) error { return nil }

func (m *Module) deliver(ctx context.Context, info module.SessionInfo) {
	user := info.JID.Bare().String()
	msgs, err := m.h.Offline().Fetch(ctx, user)
	if err != nil {
		m.h.Logger().Error("offline: fetch failed", "user", user, "err", err)
		return
	}
	if len(msgs) == 0 {
		return
	}
	ids := make([]int64, 0, len(msgs))
	for _, msg := range msgs {
		raw := Stamp(msg.Stanza, info.JID.Domainpart(), msg.Stamp)
		if !m.h.Deliver(info.JID, raw) {
			break // session gone: keep the rest for next time
		}
		ids = append(ids, msg.ID)
	}
	if err := m.h.Offline().Delete(ctx, user, ids); err != nil {
		m.h.Logger().Error("offline: delete failed", "user", user, "err", err)
	}
}

// Stamp adds a <delay/> to a stored stanza.
func Stamp(raw []byte, from string, t time.Time) []byte {
	el, err := dom.Parse(raw)
	if err != nil {
		return raw
	}
	el.Space = module.NSClient
	el.Add(dom.New(NSDelay, "delay", "from", from, "stamp", t.UTC().Format("2006-01-02T15:04:05.000Z")).SetText("Offline Storage"))
	return el.Append(nil, module.NSClient)
}
