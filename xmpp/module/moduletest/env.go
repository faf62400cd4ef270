package moduletest

import (
	"context"
	"testing"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

// Env is a started set of modules on a test Host.
type Env struct {
	Host *Host
	Reg  *module.Registry
}

// Start starts mods on a new Host and Registry, in order, and stops them
// in reverse order when the test ends.
func Start(t testing.TB, mods ...module.Module) *Env {
	t.Helper()
	e := &Env{Host: NewHost(), Reg: module.NewRegistry()}
	ctx := context.Background()
	for _, m := range mods {
		if err := m.Start(ctx, e.Host, e.Reg); err != nil {
			t.Fatalf("moduletest: start %s: %v", m.Name(), err)
		}
	}
	t.Cleanup(func() {
		for i := len(mods) - 1; i >= 0; i-- {
			if err := mods[i].Stop(ctx); err != nil {
				t.Errorf("moduletest: stop %s: %v", mods[i].Name(), err)
			}
		}
	})
	return e
}

// Stanza parses raw (a stanza as the core would hand it to a module: from
// stamped, no xmlns on the root) and fills the Stanza fields from it.
func Stanza(t testing.TB, raw string) *module.Stanza {
	t.Helper()
	el, err := dom.Parse([]byte(raw))
	if err != nil {
		t.Fatalf("moduletest: stanza %q: %v", raw, err)
	}
	s := &module.Stanza{Name: el.Local, Type: el.Get("type"), ID: el.Get("id"), Raw: []byte(raw)}
	if s.From, err = jid.Parse(el.Get("from")); err != nil {
		t.Fatalf("moduletest: stanza from %q: %v", el.Get("from"), err)
	}
	if v := el.Get("to"); v != "" {
		if s.To, err = jid.Parse(v); err != nil {
			t.Fatalf("moduletest: stanza to %q: %v", v, err)
		}
	}
	return s
}

// Target says how the core would dispatch an IQ to s.To: no 'to' or a
// bare account JID is ToAccount, a hosted domain ToHost. ok is false for
// anything else (a full JID or a remote domain: not for modules).
func (e *Env) Target(s *module.Stanza) (module.Target, bool) {
	switch {
	case s.To.Equal(jid.JID{}):
		return module.ToAccount, true
	case s.To.Resourcepart() != "":
		return 0, false
	case s.To.Localpart() == "":
		return module.ToHost, e.Host.IsLocal(s.To.Domainpart())
	default:
		return module.ToAccount, e.Host.IsLocal(s.To.Domainpart())
	}
}

// IQ sends raw (an IQ get or set) through the registry as the core would and
// returns the parsed reply. IQs without a handler get service-unavailable.
func (e *Env) IQ(t testing.TB, raw string) *dom.Element {
	t.Helper()
	s := Stanza(t, raw)
	reply := e.Dispatch(context.Background(), s)
	el, err := dom.Parse(reply)
	if err != nil {
		t.Fatalf("moduletest: reply %q: %v", reply, err)
	}
	return el
}

// Dispatch runs the IQ handler for s and returns the serialised reply.
func (e *Env) Dispatch(ctx context.Context, s *module.Stanza) []byte {
	p := s.Payload()
	target, ok := e.Target(s)
	if p == nil || !ok {
		return s.ErrorReply(module.ErrServiceUnavailable)
	}
	h := e.Reg.IQ(target, s.Type, p.Space, p.Local)
	if h == nil {
		return s.ErrorReply(module.ErrServiceUnavailable)
	}
	payload, err := h(ctx, s)
	if err != nil {
		return s.ErrorReply(err)
	}
	return s.Result(payload)
}

// Inbound runs the inbound filters on s and returns the first error.
func (e *Env) Inbound(ctx context.Context, s *module.Stanza) error {
	for _, f := range e.Reg.Inbound() {
		if err := f(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// Outbound runs the outbound filters on s and returns the first error.
func (e *Env) Outbound(ctx context.Context, s *module.Stanza) error {
	for _, f := range e.Reg.Outbound() {
		if err := f(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// Available declares the session and runs the OnAvailable hooks.
func (e *Env) Available(ctx context.Context, info module.SessionInfo) {
	info.Available = true
	e.Host.AddSession(info)
	for _, h := range e.Reg.AvailableHooks() {
		h(ctx, info)
	}
}

// Ended forgets the session and runs the OnEnded hooks.
func (e *Env) Ended(ctx context.Context, info module.SessionInfo) {
	e.Host.RemoveSession(info.JID)
	for _, h := range e.Reg.EndedHooks() {
		h(ctx, info)
	}
}
