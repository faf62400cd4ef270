// Package version implements XEP-0092: Software Version, for the server
// itself.
package version

import (
	"context"
	"runtime"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
)

// NS is the XEP-0092 namespace.
const NS = "jabber:iq:version"

// Software is the name the server reports.
const Software = "xmppd"

// Module answers jabber:iq:version queries to the server.
type Module struct {
	version string
	os      string
}

var _ module.Module = (*Module)(nil)

// New returns the module reporting version. The operating system is
// disclosed only when showOS is set (it helps attackers more than users).
func New(version string, showOS bool) *Module {
	m := &Module{version: version}
	if showOS {
		m.os = runtime.GOOS + "/" + runtime.GOARCH
	}
	return m
}

// Name implements module.Module.
func (m *Module) Name() string { return "version" }

// Start implements module.Module.
func (m *Module) Start(ctx context.Context, h module.Host, r *module.Registry) error {
	r.Feature(module.ToHost, NS)
	r.HandleIQ(module.ToHost, "get", NS, "query", m.query)
	return nil
}

// Stop implements module.Module.
func (m *Module) Stop(ctx context.Context) error { return nil }

func (m *Module) query(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	q := dom.New(NS, "query")
	q.Add(dom.New(NS, "name").SetText(Software), dom.New(NS, "version").SetText(m.version))
	if m.os != "" {
		q.Add(dom.New(NS, "os").SetText(m.os))
	}
	return q, nil
}
