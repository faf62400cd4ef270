package module

import (
	"context"
	"sort"
	"sync"
)

// Target says whom an IQ is addressed to.
type Target int

const (
	// ToHost is an IQ to a hosted domain itself.
	ToHost Target = iota
	// ToAccount is an IQ to a local account's bare JID, or without 'to' from
	// a client (processed on behalf of the sender's account).
	ToAccount
)

type iqKey struct {
	target      Target
	typ         string // "get" or "set"
	space, name string
}

// Identity is a disco#info identity.
type Identity struct{ Category, Type, Name string }

// Registry collects what modules register. It is filled during Start and
// read concurrently afterwards; registering after start is not supported.
type Registry struct {
	mu         sync.RWMutex
	iq         map[iqKey]IQHandler
	features   map[Target]map[string]bool
	identities map[Target][]Identity
	inbound    []Filter
	outbound   []Filter
	available  []SessionHook
	ended      []SessionHook
	services   map[string]ServiceHandler
}

// ServiceHandler receives every stanza addressed to a hosted service
// domain or to a JID at it (rooms, nodes): st.From is already stamped and
// the outbound filters have run. It answers through Host.Route.
type ServiceHandler func(ctx context.Context, st *Stanza)

// HandleDomain makes h the handler of a service domain (e.g.
// conference.localhost).
func (r *Registry) HandleDomain(domain string, h ServiceHandler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.services == nil {
		r.services = map[string]ServiceHandler{}
	}
	r.services[domain] = h
}

// Service returns the handler of a service domain, or nil.
func (r *Registry) Service(domain string) ServiceHandler {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.services[domain]
}

// Services returns the service domains with a handler, sorted.
func (r *Registry) Services() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.services))
	for d := range r.services {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{
		iq:         map[iqKey]IQHandler{},
		features:   map[Target]map[string]bool{ToHost: {}, ToAccount: {}},
		identities: map[Target][]Identity{},
	}
}

// HandleIQ registers h for IQs of type typ ("get" or "set") whose payload is
// space/name, addressed to target.
func (r *Registry) HandleIQ(target Target, typ, space, name string, h IQHandler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.iq[iqKey{target, typ, space, name}] = h
}

// IQ returns the handler for an IQ, or nil.
func (r *Registry) IQ(target Target, typ, space, name string) IQHandler {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.iq[iqKey{target, typ, space, name}]
}

// HasPayload reports whether any handler of target knows space/name (used
// to tell service-unavailable from bad-request).
func (r *Registry) HasPayload(target Target, space, name string) bool {
	return r.IQ(target, "get", space, name) != nil || r.IQ(target, "set", space, name) != nil
}

// Feature advertises disco#info features for target.
func (r *Registry) Feature(target Target, vars ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range vars {
		r.features[target][v] = true
	}
}

// Features returns target's features, sorted.
func (r *Registry) Features(target Target) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.features[target]))
	for f := range r.features[target] {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// AddIdentity advertises a disco#info identity for target.
func (r *Registry) AddIdentity(target Target, id Identity) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.identities[target] = append(r.identities[target], id)
}

// Identities returns target's identities.
func (r *Registry) Identities(target Target) []Identity {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]Identity(nil), r.identities[target]...)
}

// InboundFilter runs f on every stanza addressed to a local account (bare
// or full JID) before it is delivered or stored.
func (r *Registry) InboundFilter(f Filter) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inbound = append(r.inbound, f)
}

// OutboundFilter runs f on every stanza a local session sends, before it is
// routed.
func (r *Registry) OutboundFilter(f Filter) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outbound = append(r.outbound, f)
}

// Inbound returns the inbound filters.
func (r *Registry) Inbound() []Filter {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.inbound
}

// Outbound returns the outbound filters.
func (r *Registry) Outbound() []Filter {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.outbound
}

// OnAvailable registers a hook run when a session sends initial presence.
func (r *Registry) OnAvailable(h SessionHook) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.available = append(r.available, h)
}

// OnEnded registers a hook run when a bound session ends.
func (r *Registry) OnEnded(h SessionHook) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = append(r.ended, h)
}

// AvailableHooks returns the hooks registered with OnAvailable.
func (r *Registry) AvailableHooks() []SessionHook {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.available
}

// EndedHooks returns the hooks registered with OnEnded.
func (r *Registry) EndedHooks() []SessionHook {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.ended
}
