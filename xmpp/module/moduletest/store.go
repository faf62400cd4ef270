package moduletest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/xmppd/xmppd/directory"
)

var _ directory.Store = (*Store)(nil)

// Store is an in-memory directory.Store: accounts with clear passwords,
// rosters with versions, and per-user data. It is safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	users    map[string]string // bare JID -> password
	rosters  map[string]map[string]directory.RosterItem
	versions map[string]int64
	data     map[string]map[string][]byte
	// Fail, when set, is returned by every Data and Rosters call (to test
	// how a module reports a backend outage).
	Fail error
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{
		users:    map[string]string{},
		rosters:  map[string]map[string]directory.RosterItem{},
		versions: map[string]int64{},
		data:     map[string]map[string][]byte{},
	}
}

// Exists implements directory.Accounts.
func (s *Store) Exists(ctx context.Context, user string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.users[user]
	return ok, nil
}

// SCRAM implements directory.Accounts; the store keeps clear passwords only.
func (s *Store) SCRAM(ctx context.Context, user, mech string) (directory.SCRAM, error) {
	return directory.SCRAM{}, directory.ErrNoCredentials
}

// CheckPassword implements directory.Accounts.
func (s *Store) CheckPassword(ctx context.Context, user, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.users[user]
	switch {
	case !ok:
		return directory.ErrNotFound
	case p != password:
		return directory.ErrBadPassword
	}
	return nil
}

// Mechanisms implements directory.Accounts.
func (s *Store) Mechanisms() []string { return []string{"PLAIN"} }

// Create implements directory.Accounts.
func (s *Store) Create(ctx context.Context, user, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[user]; ok {
		return directory.ErrExists
	}
	s.users[user] = password
	return nil
}

// Delete implements directory.Accounts.
func (s *Store) Delete(ctx context.Context, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[user]; !ok {
		return directory.ErrNotFound
	}
	delete(s.users, user)
	delete(s.rosters, user)
	delete(s.data, user)
	return nil
}

// SetPassword implements directory.Accounts.
func (s *Store) SetPassword(ctx context.Context, user, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[user]; !ok {
		return directory.ErrNotFound
	}
	s.users[user] = password
	return nil
}

// List implements directory.Accounts.
func (s *Store) List(ctx context.Context, domain string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for u := range s.users {
		if domain == "" || strings.HasSuffix(u, "@"+domain) {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out, nil
}

// User implements directory.Accounts.
func (s *Store) User(ctx context.Context, user string) (directory.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[user]; !ok {
		return directory.User{}, directory.ErrNotFound
	}
	return directory.User{JID: user}, nil
}

// Groups implements directory.Accounts; the store has no shared groups.
func (s *Store) Groups(ctx context.Context, domain string) ([]directory.Group, error) {
	return nil, nil
}

// Close implements directory.Accounts.
func (s *Store) Close() error { return nil }

// Roster implements directory.Rosters; items are sorted by JID.
func (s *Store) Roster(ctx context.Context, user string) ([]directory.RosterItem, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return nil, 0, s.Fail
	}
	var out []directory.RosterItem
	for _, it := range s.rosters[user] {
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].JID < out[j].JID })
	return out, s.versions[user], nil
}

// Item implements directory.Rosters.
func (s *Store) Item(ctx context.Context, user, contact string) (directory.RosterItem, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return directory.RosterItem{}, false, s.Fail
	}
	it, ok := s.rosters[user][contact]
	return it, ok, nil
}

// PutItem implements directory.Rosters.
func (s *Store) PutItem(ctx context.Context, user string, item directory.RosterItem) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return 0, s.Fail
	}
	if s.rosters[user] == nil {
		s.rosters[user] = map[string]directory.RosterItem{}
	}
	s.rosters[user][item.JID] = item
	s.versions[user]++
	return s.versions[user], nil
}

// DeleteItem implements directory.Rosters.
func (s *Store) DeleteItem(ctx context.Context, user, contact string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return 0, s.Fail
	}
	delete(s.rosters[user], contact)
	s.versions[user]++
	return s.versions[user], nil
}

// GetData implements directory.Data.
func (s *Store) GetData(ctx context.Context, user, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return nil, false, s.Fail
	}
	v, ok := s.data[user][key]
	return append([]byte(nil), v...), ok, nil
}

// PutData implements directory.Data.
func (s *Store) PutData(ctx context.Context, user, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return s.Fail
	}
	if s.data[user] == nil {
		s.data[user] = map[string][]byte{}
	}
	s.data[user][key] = append([]byte(nil), value...)
	return nil
}

// DeleteData implements directory.Data.
func (s *Store) DeleteData(ctx context.Context, user, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return s.Fail
	}
	delete(s.data[user], key)
	return nil
}

// AddContact puts a roster item with a subscription state (a shortcut for
// tests).
func (s *Store) AddContact(user, contact, subscription string) {
	_, err := s.PutItem(context.Background(), user, directory.RosterItem{JID: contact, Subscription: subscription})
	if err != nil {
		panic(fmt.Sprintf("moduletest: %v", err))
	}
}
