package server

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"time"

	"github.com/xmppd/xmppd/archive"
	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

var _ module.Host = (*Server)(nil)

// Config implements module.Host.
func (s *Server) Config() *conf.Config { return s.cfg }

// Store implements module.Host.
func (s *Server) Store() directory.Store { return s.store }

// Offline implements module.Host.
func (s *Server) Offline() archive.Offline { return s.offline }

// Logger implements module.Host.
func (s *Server) Logger() *slog.Logger { return s.log }

// IsLocal implements module.Host.
func (s *Server) IsLocal(domain string) bool { return s.domains[domain] }

// Route implements module.Host: raw must carry 'from'.
func (s *Server) Route(ctx context.Context, raw []byte) error {
	st, err := parseStanza(raw)
	if err != nil {
		return err
	}
	if st.From.Equal(jid.JID{}) {
		return errors.New("server: routed stanza without from")
	}
	s.route(ctx, st)
	return nil
}

// Deliver implements module.Host.
func (s *Server) Deliver(full jid.JID, raw []byte) bool {
	sess := s.router.find(full)
	if sess == nil {
		return false
	}
	return sess.send(raw, bytes.HasPrefix(raw, []byte("<message")))
}

// Resources implements module.Host.
func (s *Server) Resources(bare string) []module.SessionInfo {
	list := s.router.sessions(bare)
	out := make([]module.SessionInfo, 0, len(list))
	for _, o := range list {
		out = append(out, o.sessionInfo())
	}
	return out
}

// SetRosterRequested implements module.Host.
func (s *Server) SetRosterRequested(full jid.JID) {
	if sess := s.router.find(full); sess != nil {
		sess.mu.Lock()
		sess.rosterRequested = true
		sess.mu.Unlock()
	}
}

// SetCarbons implements module.Host.
func (s *Server) SetCarbons(full jid.JID, on bool) {
	if sess := s.router.find(full); sess != nil {
		sess.mu.Lock()
		sess.carbons = on
		sess.mu.Unlock()
	}
}

// SetPresence implements module.Host.
func (s *Server) SetPresence(full jid.JID, raw []byte, available bool, priority int) bool {
	sess := s.router.find(full)
	if sess == nil {
		return false
	}
	mu := s.userLock(full.Bare().String())
	mu.Lock()
	defer mu.Unlock()
	sess.mu.Lock()
	defer sess.mu.Unlock()
	initial := !sess.available && available
	sess.available, sess.priority, sess.presence = available, priority, raw
	sess.presenceAt = time.Now()
	return initial
}

// parseStanza reads the head of a server-made or stored stanza.
func parseStanza(raw []byte) (*module.Stanza, error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		t, err := d.RawToken()
		if err != nil {
			return nil, err
		}
		se, ok := t.(xml.StartElement)
		if !ok {
			continue
		}
		st := &module.Stanza{Name: se.Name.Local, Raw: raw}
		for _, a := range se.Attr {
			if a.Name.Space != "" {
				continue
			}
			switch a.Name.Local {
			case "type":
				st.Type = a.Value
			case "id":
				st.ID = a.Value
			case "to":
				if st.To, err = jid.Parse(a.Value); err != nil {
					return nil, err
				}
			case "from":
				if st.From, err = jid.Parse(a.Value); err != nil {
					return nil, err
				}
			}
		}
		return st, nil
	}
}

func (s *Server) capsFeature() []byte { return s.caps }
