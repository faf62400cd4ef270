// Package disco implements XEP-0030: Service Discovery for the server and
// its accounts. disco#info lists the identities and features the other
// modules registered (plus XEP-0128 extended forms for the server), and
// answers the XEP-0115 capabilities node of the server; disco#items lists
// the hosted services.
package disco

import (
	"context"
	"fmt"

	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/xmpp/caps"
	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// Namespaces of XEP-0030.
const (
	NSInfo  = "http://jabber.org/protocol/disco#info"
	NSItems = "http://jabber.org/protocol/disco#items"
	// NS is the info namespace, the one clients query first.
	NS = NSInfo
)

// DefaultCapsNode is the XEP-0115 node URI of this software.
const DefaultCapsNode = "https://github.com/xmppd/xmppd"

// Options configure the module; the zero value is usable.
type Options struct {
	// Name is the name of the server's identity ("xmppd" when empty).
	Name string
	// CapsNode is the XEP-0115 node (DefaultCapsNode when empty).
	CapsNode string
	// Forms are XEP-0128 extended information forms (jabber:x:data
	// elements of type result) added to the server's disco#info.
	Forms []*dom.Element
	// Items are extra disco#items of the server, added to the service
	// domains of the configuration.
	Items []string
}

// Module answers disco#info and disco#items.
type Module struct {
	opts Options
	host module.Host
	reg  *module.Registry
}

var _ module.Module = (*Module)(nil)

// New returns the module.
func New(o Options) *Module {
	if o.Name == "" {
		o.Name = "xmppd"
	}
	if o.CapsNode == "" {
		o.CapsNode = DefaultCapsNode
	}
	return &Module{opts: o}
}

// Name implements module.Module.
func (m *Module) Name() string { return "disco" }

// Start implements module.Module.
func (m *Module) Start(ctx context.Context, h module.Host, r *module.Registry) error {
	m.host, m.reg = h, r
	r.AddIdentity(module.ToHost, module.Identity{Category: "server", Type: "im", Name: m.opts.Name})
	r.AddIdentity(module.ToAccount, module.Identity{Category: "account", Type: "registered"})
	for _, t := range []module.Target{module.ToHost, module.ToAccount} {
		r.Feature(t, NSInfo, NSItems)
	}
	r.HandleIQ(module.ToHost, "get", NSInfo, "query", m.hostInfo)
	r.HandleIQ(module.ToHost, "get", NSItems, "query", m.hostItems)
	r.HandleIQ(module.ToAccount, "get", NSInfo, "query", m.accountInfo)
	r.HandleIQ(module.ToAccount, "get", NSItems, "query", m.accountItems)
	return nil
}

// Stop implements module.Module.
func (m *Module) Stop(ctx context.Context) error { return nil }

// Ver is the XEP-0115 verification string of the server's disco#info. It
// is only meaningful once every module has started.
func (m *Module) Ver() string {
	return caps.Ver(m.reg.Identities(module.ToHost), m.reg.Features(module.ToHost), m.opts.Forms...)
}

// Caps is the <c/> element for the server's stream features.
func (m *Module) Caps() *dom.Element { return caps.Element(m.opts.CapsNode, m.Ver()) }

func (m *Module) hostInfo(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	node := iq.Payload().Get("node")
	if node != "" && node != m.opts.CapsNode+"#"+m.Ver() {
		return nil, module.ErrItemNotFound
	}
	q := m.info(module.ToHost, node)
	for _, f := range m.opts.Forms {
		q.Add(f.Copy())
	}
	return q, nil
}

func (m *Module) hostItems(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	if iq.Payload().Get("node") != "" {
		return nil, module.ErrItemNotFound
	}
	q := dom.New(NSItems, "query")
	svc := m.host.Config().Services
	for _, d := range append([]string{svc.Conference, svc.PubSub}, m.opts.Items...) {
		if d != "" {
			q.Add(dom.New(NSItems, "item", "jid", d))
		}
	}
	return q, nil
}

func (m *Module) accountInfo(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	if err := m.visible(ctx, iq); err != nil {
		return nil, err
	}
	if iq.Payload().Get("node") != "" {
		return nil, module.ErrItemNotFound
	}
	return m.info(module.ToAccount, ""), nil
}

func (m *Module) accountItems(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	if err := m.visible(ctx, iq); err != nil {
		return nil, err
	}
	if iq.Payload().Get("node") != "" {
		return nil, module.ErrItemNotFound
	}
	return dom.New(NSItems, "query"), nil
}

func (m *Module) info(t module.Target, node string) *module.Element {
	q := dom.New(NSInfo, "query")
	if node != "" {
		q.Set("node", node)
	}
	for _, id := range m.reg.Identities(t) {
		e := dom.New(NSInfo, "identity", "category", id.Category, "type", id.Type)
		if id.Name != "" {
			e.Set("name", id.Name)
		}
		q.Add(e)
	}
	for _, f := range m.reg.Features(t) {
		q.Add(dom.New(NSInfo, "feature", "var", f))
	}
	return q
}

// visible returns nil when the requester may learn about the account: it is
// the account itself, or it has a subscription to the account's presence
// (XEP-0030 section 7, RFC 6121 presence leaks). Others get
// service-unavailable, the answer for an account that does not exist.
func (m *Module) visible(ctx context.Context, iq *module.Stanza) error {
	user := iq.From.Bare()
	if !iq.To.Equal(jid.JID{}) {
		user = iq.To.Bare()
	}
	requester := iq.From.Bare().String()
	if requester == user.String() {
		return nil
	}
	it, ok, err := m.host.Store().Item(ctx, user.String(), requester)
	if err != nil {
		return fmt.Errorf("disco: roster of %s: %w", user, err)
	}
	if ok && (it.Subscription == directory.SubFrom || it.Subscription == directory.SubBoth) {
		return nil
	}
	return module.ErrServiceUnavailable
}
