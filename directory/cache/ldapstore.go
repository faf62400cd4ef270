package cache

import (
	"context"
	"errors"
	"fmt"

	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/directory/ldap"
)

// LDAPStore is the directory of an LDAP deployment: accounts, attributes
// and groups from LDAP behind the cache, contact lists and private data
// from another store (the embedded one), since LDAP holds neither.
type LDAPStore struct {
	*Cache
	directory.Rosters
	directory.Data
	LDAP *ldap.Backend
	rest directory.Store
}

var _ directory.Store = (*LDAPStore)(nil)

// OpenLDAP builds the LDAP backend of cfg.Directory.LDAP for the hosted
// domains, puts the cache of cfg.Directory.Cache in front of it and takes
// rosters and data from rest. It does not connect yet: a directory that is
// down at startup only makes logins fail until it is back.
func OpenLDAP(cfg *conf.Config, rest directory.Store) (*LDAPStore, error) {
	b, err := ldap.New(cfg.Directory.LDAP, cfg.Server.Domains)
	if err != nil {
		return nil, err
	}
	c, err := New(b, OptionsFrom(cfg.Directory.Cache))
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("cache: %w", err)
	}
	return &LDAPStore{Cache: c, Rosters: rest, Data: rest, LDAP: b, rest: rest}, nil
}

// Delete removes the LDAP entry, then the contact list and data the other
// store holds for the user.
func (s *LDAPStore) Delete(ctx context.Context, user string) error {
	if err := s.Cache.Delete(ctx, user); err != nil {
		return err
	}
	if err := s.rest.Delete(ctx, user); err != nil && !errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("cache: delete %s from the embedded store: %w", user, err)
	}
	return nil
}

// Close closes the LDAP connections, the cache and the other store.
func (s *LDAPStore) Close() error {
	return errors.Join(s.Cache.Close(), s.rest.Close())
}
