// Package ping implements XEP-0199: XMPP Ping, answered by the server for
// itself and on behalf of its accounts.
package ping

import (
	"context"

	"github.com/xmppd/xmppd/xmpp/module"
)

// NS is the XEP-0199 namespace.
const NS = "urn:xmpp:ping"

// Module answers pings.
type Module struct{}

var _ module.Module = (*Module)(nil)

// New returns the module.
func New() *Module { return &Module{} }

// Name implements module.Module.
func (m *Module) Name() string { return "ping" }

// Start implements module.Module.
func (m *Module) Start(ctx context.Context, h module.Host, r *module.Registry) error {
	for _, t := range []module.Target{module.ToHost, module.ToAccount} {
		r.Feature(t, NS)
		r.HandleIQ(t, "get", NS, "ping", pong)
	}
	return nil
}

// Stop implements module.Module.
func (m *Module) Stop(ctx context.Context) error { return nil }

// pong returns an empty result (XEP-0199 section 4.2 and 4.4).
func pong(ctx context.Context, iq *module.Stanza) (*module.Element, error) { return nil, nil }
