package server

import (
	"github.com/xmppd/xmppd/xmpp/carbons"
	"github.com/xmppd/xmppd/xmpp/module"
)

// carbonTargets returns the sessions of bare with carbons enabled, except
// those in skip. It takes no parse: most users have none.
func (s *Server) carbonTargets(bare string, skip ...*session) []*session {
	var out []*session
next:
	for _, o := range s.router.sessions(bare) {
		for _, k := range skip {
			if o == k {
				continue next
			}
		}
		o.mu.Lock()
		on := o.carbons && o.available
		o.mu.Unlock()
		if on {
			out = append(out, o)
		}
	}
	return out
}

// copyReceived sends <received/> carbons of a message delivered to some of
// bare's sessions to its other carbon-enabled sessions (XEP-0280 5.2).
func (s *Server) copyReceived(st *module.Stanza, bare string, delivered []*session) {
	s.sendCarbons("received", st, bare, s.carbonTargets(bare, delivered...))
}

// copySent sends <sent/> carbons of a message a session sent to the
// sender's other carbon-enabled sessions (XEP-0280 5.3).
func (s *Server) copySent(st *module.Stanza, from *session) {
	bare := from.user
	if st.To.Bare().String() == bare {
		return // to oneself: the other resources get it anyway
	}
	s.sendCarbons("sent", st, bare, s.carbonTargets(bare, from))
}

// sendCarbons wraps st in a kind carbon for each target, when st is
// eligible (checked only when there is a target: it parses st).
func (s *Server) sendCarbons(kind string, st *module.Stanza, bare string, targets []*session) {
	if len(targets) == 0 || !eligible(st) {
		return
	}
	for _, o := range targets {
		o.send(carbons.Wrap(kind, bare, o.jid.String(), st.Raw), false)
	}
}

func eligible(st *module.Stanza) bool {
	el, err := st.Element()
	return err == nil && carbons.Eligible(st.Type, el)
}
