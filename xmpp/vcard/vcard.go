// Package vcard implements XEP-0054: vcard-temp. Anyone may read an
// account's vCard (an empty one when none was stored, as Prosody answers);
// only the account itself may replace it. The vCard is kept in the
// directory's per-user data as the serialised element.
package vcard

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// NS is the vcard-temp namespace.
const NS = "vcard-temp"

// DefaultMaxBytes bounds a stored vCard when New is given 0.
const DefaultMaxBytes = 64 << 10

// DataKey is the directory data key of the stored vCard.
const DataKey = "vcard"

// Module answers vcard-temp get and set.
type Module struct {
	max    int
	host   module.Host
	hashes sync.Map // bare JID -> photo hash (XEP-0153)
}

var _ module.Module = (*Module)(nil)

// New returns the module; vCards larger than maxBytes once serialised are
// refused with policy-violation.
func New(maxBytes int) *Module {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Module{max: maxBytes}
}

// Name implements module.Module.
func (m *Module) Name() string { return "vcard" }

// Start implements module.Module.
func (m *Module) Start(ctx context.Context, h module.Host, r *module.Registry) error {
	m.host = h
	r.Feature(module.ToHost, NS)
	r.Feature(module.ToAccount, NS)
	r.HandleIQ(module.ToHost, "get", NS, "vCard", m.getHost)
	r.HandleIQ(module.ToAccount, "get", NS, "vCard", m.get)
	r.HandleIQ(module.ToAccount, "set", NS, "vCard", m.set)
	return nil
}

// Stop implements module.Module.
func (m *Module) Stop(ctx context.Context) error { return nil }

// getHost answers for the server, which has no vCard of its own.
func (m *Module) getHost(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	return dom.New(NS, "vCard"), nil
}

func account(iq *module.Stanza) string {
	if iq.To.Equal(jid.JID{}) {
		return iq.From.Bare().String()
	}
	return iq.To.Bare().String()
}

func (m *Module) get(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	user := account(iq)
	b, ok, err := m.host.Store().GetData(ctx, user, DataKey)
	if err != nil {
		return nil, fmt.Errorf("vcard: get %s: %w", user, err)
	}
	if ok {
		el, err := dom.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("vcard: stored vCard of %s: %w", user, err)
		}
		return el, nil
	}
	if user != iq.From.Bare().String() {
		exists, err := m.host.Store().Exists(ctx, user)
		if err != nil {
			return nil, fmt.Errorf("vcard: get %s: %w", user, err)
		}
		if !exists {
			return nil, module.ErrServiceUnavailable
		}
	}
	return dom.New(NS, "vCard"), nil
}

func (m *Module) set(ctx context.Context, iq *module.Stanza) (*module.Element, error) {
	user := account(iq)
	if user != iq.From.Bare().String() {
		return nil, module.ErrForbidden
	}
	v := iq.Payload().Copy()
	trim(v)
	if len(v.Children) == 0 && v.Text == "" {
		if err := m.host.Store().DeleteData(ctx, user, DataKey); err != nil {
			return nil, fmt.Errorf("vcard: delete %s: %w", user, err)
		}
		m.hashes.Store(user, "")
		return nil, nil
	}
	b := v.Bytes()
	if len(b) > m.max {
		return nil, module.Err("policy-violation", fmt.Sprintf("vCard larger than %d bytes", m.max))
	}
	if err := m.host.Store().PutData(ctx, user, DataKey, b); err != nil {
		return nil, fmt.Errorf("vcard: set %s: %w", user, err)
	}
	m.hashes.Store(user, photoHash(v))
	return nil, nil
}

// trim drops the indentation between child elements so it is not stored.
func trim(e *dom.Element) {
	if len(e.Children) > 0 && strings.TrimSpace(e.Text) == "" {
		e.Text = ""
	}
	for _, c := range e.Children {
		trim(c)
	}
}
