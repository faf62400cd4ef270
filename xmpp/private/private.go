// Package private implements XEP-0049: Private XML Storage. Each child of
// the query is stored under its namespace and name in the directory's
// per-user data; only the account itself may read or write it.
package private

import (
	"context"
	"fmt"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// NS is the jabber:iq:private namespace.
const NS = "jabber:iq:private"

// DefaultMaxBytes bounds one stored element when New is given 0.
const DefaultMaxBytes = 64 << 10

// reserved namespaces may not be stored (XEP-0049 section 2.3): the
// stream's own and the storage namespace itself.
var reserved = map[string]bool{module.NSClient: true, "jabber:server": true, NS: true}

// Module answers jabber:iq:private get and set.
type Module struct {
	max  int
	host module.Host
}

var _ module.Module = (*Module)(nil)

// New returns the module; one element larger than maxBytes once serialised
// is refused with policy-violation.
func New(maxBytes int) *Module {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Module{max: maxBytes}
}

// Name implements module.Module.
func (m *Module) Name() string { return "private" }

// Start implements module.Module.
func (m *Module) Start(ctx context.Context, h module.Host, r *module.Registry) error {
	m.host = h
	r.Feature(module.ToHost, NS)
	r.HandleIQ(module.ToAccount, "get", NS, "query", m.get)
	r.HandleIQ(module.ToAccount, "set", NS, "query", m.set)
	return nil
}

// Stop implements module.Module.
func (m *Module) Stop(ctx context.Context) error { return nil }

// Key is the directory data key of a stored element.
func Key(space, local string) string { return "private:{" + space + "}" + local }

// check returns the account and the query's children, or the XEP's error.
func check(iq *module.Stanza) (string, []*dom.Element, error) {
	user := iq.From.Bare().String()
	if !iq.To.Equal(jid.JID{}) && iq.To.Bare().String() != user {
		return "", nil, module.ErrForbidden
	}
	kids := iq.Payload().Children
	if len(kids) == 0 {
		return "", nil, module.ErrNotAcceptable
	}
	for _, c := range kids {
		if reserved[c.Space] {
			return "", nil, module.ErrNotAcceptable
		}
	}
	return user, kids, nil
}

func (m *Module) get(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	user, kids, err := check(iq)
	if err != nil {
		return nil, err
	}
	q := dom.New(NS, "query")
	for _, c := range kids {
		b, ok, err := m.host.Store().GetData(ctx, user, Key(c.Space, c.Local))
		if err != nil {
			return nil, fmt.Errorf("private: get %s: %w", user, err)
		}
		if !ok {
			// Nothing stored: the empty element of the request.
			q.Add(dom.New(c.Space, c.Local))
			continue
		}
		el, err := dom.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("private: stored %s of %s: %w", c.Local, user, err)
		}
		q.Add(el)
	}
	return q, nil
}

func (m *Module) set(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	user, kids, err := check(iq)
	if err != nil {
		return nil, err
	}
	vals := make([][]byte, len(kids))
	for i, c := range kids {
		vals[i] = c.Bytes()
		if len(vals[i]) > m.max {
			return nil, module.Err("policy-violation", fmt.Sprintf("private element larger than %d bytes", m.max))
		}
	}
	for i, c := range kids {
		if err := m.host.Store().PutData(ctx, user, Key(c.Space, c.Local), vals[i]); err != nil {
			return nil, fmt.Errorf("private: set %s: %w", user, err)
		}
	}
	return nil, nil
}
