package muc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Persistent rooms (muc#roomconfig_persistentroom) are kept in the
// directory's per-JID data store: the room's configuration, affiliations,
// reserved nicknames and subject under the room's JID, and the list of
// persistent rooms under the service's domain. Occupants and the
// discussion history live in memory only, as in Prosody: after a restart
// a persistent room is empty and configured. Temporary rooms are never
// written.
const (
	roomKey  = "muc:room"
	indexKey = "muc:rooms"
)

// storeTimeout bounds one write or read of room state.
const storeTimeout = 5 * time.Second

type savedRoom struct {
	Config       config            `json:"config"`
	Affiliations map[string]string `json:"affiliations"`
	Nicks        map[string]string `json:"nicks,omitempty"`
	Reasons      map[string]string `json:"reasons,omitempty"`
	Subject      string            `json:"subject,omitempty"`
	SubjectFrom  string            `json:"subject_from,omitempty"`
	SubjectAt    time.Time         `json:"subject_at,omitzero"`
}

func (r *room) snapshot() ([]byte, error) {
	s := savedRoom{Config: r.cfg, Affiliations: map[string]string{}, Nicks: r.nicks, Reasons: r.reasons,
		Subject: r.subject, SubjectFrom: r.subjectFrom, SubjectAt: r.subjectAt}
	for b, a := range r.affs {
		s.Affiliations[b] = a.String()
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("muc: encode %s: %w", r.jid, err)
	}
	return b, nil
}

func (r *room) restore(b []byte) error {
	var s savedRoom
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("muc: decode %s: %w", r.jid, err)
	}
	r.cfg = s.Config
	if r.cfg.Broadcast == nil {
		r.cfg.Broadcast = defaultConfig().Broadcast
	}
	for bare, name := range s.Affiliations {
		if a, ok := parseAffiliation(name); ok && a != affNone {
			r.affs[bare] = a
		}
	}
	if s.Nicks != nil {
		r.nicks = s.Nicks
	}
	if s.Reasons != nil {
		r.reasons = s.Reasons
	}
	r.subject, r.subjectFrom, r.subjectAt = s.Subject, s.SubjectFrom, s.SubjectAt
	r.saved = b
	return nil
}

// load reads the persistent rooms at start.
func (m *Module) load(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	st := m.host.Store()
	if st == nil {
		return nil
	}
	b, ok, err := st.GetData(ctx, m.domain, indexKey)
	if err != nil || !ok {
		return err
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return fmt.Errorf("muc: decode room list: %w", err)
	}
	for _, n := range names {
		r := newRoom(m, n)
		v, ok, err := st.GetData(ctx, r.jid.String(), roomKey)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := r.restore(v); err != nil {
			m.log.Warn("muc: room not restored", "room", r.jid.String(), "err", err)
			continue
		}
		m.rooms[n] = r
		m.persisted[n] = true
	}
	return nil
}

// persist writes a persistent room whose state changed, or removes one
// that stopped being persistent or was destroyed. It runs with the room
// locked.
func (m *Module) persist(ctx context.Context, r *room) {
	keep := r.cfg.Persistent && !r.gone
	if (!keep && !m.isPersisted(r.local)) || m.host.Store() == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	st := m.host.Store()
	if !keep {
		if err := st.DeleteData(ctx, r.jid.String(), roomKey); err != nil {
			m.log.Error("muc: forget room", "room", r.jid.String(), "err", err)
		}
		r.saved = nil
		m.setPersisted(ctx, r.local, false)
		return
	}
	b, err := r.snapshot()
	if err != nil {
		m.log.Error("muc: save room", "room", r.jid.String(), "err", err)
		return
	}
	if bytes.Equal(b, r.saved) {
		return
	}
	if err := st.PutData(ctx, r.jid.String(), roomKey, b); err != nil {
		m.log.Error("muc: save room", "room", r.jid.String(), "err", err)
		return
	}
	r.saved = b
	m.setPersisted(ctx, r.local, true)
}

func (m *Module) isPersisted(local string) bool {
	m.pmu.Lock()
	defer m.pmu.Unlock()
	return m.persisted[local]
}

// setPersisted updates the list of persistent rooms.
func (m *Module) setPersisted(ctx context.Context, local string, on bool) {
	m.pmu.Lock()
	defer m.pmu.Unlock()
	if m.persisted[local] == on {
		return
	}
	if on {
		m.persisted[local] = true
	} else {
		delete(m.persisted, local)
	}
	b, err := json.Marshal(sortedKeys(m.persisted))
	if err == nil {
		err = m.host.Store().PutData(ctx, m.domain, indexKey, b)
	}
	if err != nil {
		m.log.Error("muc: save room list", "err", err)
	}
}
