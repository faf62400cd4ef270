// Package cache puts a ristretto cache (github.com/dgraph-io/ristretto/v2)
// in front of a remote directory.Accounts backend such as LDAP: user
// existence, attributes, groups and user DNs are kept for a time to live
// (aging), "no such user" for a shorter negative time to live. While the
// backend is down, entries keep answering until they expire. Passwords and
// bind results are never cached: every login reaches the backend.
package cache

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/directory/ldap"
)

var (
	_ directory.Accounts = (*Cache)(nil)
	_ ldap.DNCache       = (*Cache)(nil)
)

// Options tune a Cache. A zero TTL or NegativeTTL turns that kind off.
type Options struct {
	TTL         time.Duration
	NegativeTTL time.Duration
	MaxItems    int
	// Now is the clock deciding expiry (time.Now when nil); tests set it.
	Now func() time.Time
}

// OptionsFrom returns the options of a [directory.cache] section.
func OptionsFrom(c conf.Cache) Options {
	return Options{TTL: c.TTL.Duration, NegativeTTL: c.NegativeTTL.Duration, MaxItems: c.MaxItems}
}

// Stats are the cache's counters since it was made.
type Stats struct {
	Hits, Misses uint64
}

// Ratio is Hits / (Hits + Misses), 0 before any lookup.
func (s Stats) Ratio() float64 {
	if s.Hits+s.Misses == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Hits+s.Misses)
}

// Cache wraps a directory.Accounts. It is safe for concurrent use.
type Cache struct {
	inner directory.Accounts
	opt   Options
	rc    *ristretto.Cache[string, entry]
	epoch atomic.Uint64 // bumped by Flush: older entries are ignored
	hits  atomic.Uint64
	miss  atomic.Uint64
}

type entry struct {
	val      any // bool (exists), directory.User, []directory.Group, string (DN)
	notFound bool
	expires  time.Time
	epoch    uint64
}

// Key prefixes: one kind of answer each, so one user's entries can be
// dropped together.
const (
	kExists = "x\x00"
	kUser   = "u\x00"
	kGroups = "g\x00"
	kDN     = "d\x00"
)

// New wraps inner. When inner is an LDAP backend, the cache also keeps its
// user DNs, so that a repeated login costs one bind and no search.
func New(inner directory.Accounts, opt Options) (*Cache, error) {
	if opt.MaxItems < 1 {
		opt.MaxItems = 1
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	rc, err := ristretto.NewCache(&ristretto.Config[string, entry]{
		NumCounters:        int64(opt.MaxItems) * 10,
		MaxCost:            int64(opt.MaxItems),
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c := &Cache{inner: inner, opt: opt, rc: rc}
	if l, ok := inner.(*ldap.Backend); ok {
		l.UseDNCache(c)
	}
	return c, nil
}

// Stats returns the hit and miss counters.
func (c *Cache) Stats() Stats { return Stats{Hits: c.hits.Load(), Misses: c.miss.Load()} }

// Flush forgets every entry (xmppctl directory flush, config reload).
func (c *Cache) Flush() { c.epoch.Add(1) }

// Wait blocks until earlier stores are visible to lookups (ristretto applies
// them asynchronously); tests use it to be deterministic.
func (c *Cache) Wait() { c.rc.Wait() }

// Forget drops what is cached about one user (and its domain's groups).
func (c *Cache) Forget(user string) {
	for _, k := range []string{kExists, kUser, kDN} {
		c.rc.Del(k + user)
	}
	if _, domain, ok := strings.Cut(user, "@"); ok {
		c.rc.Del(kGroups + domain)
	}
	c.rc.Del(kGroups)
}

// get returns a live entry; counted says whether to count hit or miss.
func (c *Cache) get(key string, counted bool) (entry, bool) {
	e, ok := c.rc.Get(key)
	ok = ok && e.epoch == c.epoch.Load() && c.opt.Now().Before(e.expires)
	if counted {
		if ok {
			c.hits.Add(1)
		} else {
			c.miss.Add(1)
		}
	}
	return e, ok
}

// put stores val under key for the TTL (NegativeTTL when notFound); epoch
// is the epoch read before the backend was asked, so an answer fetched
// across a Flush is not kept.
func (c *Cache) put(key string, val any, notFound bool, epoch uint64) {
	ttl := c.opt.TTL
	if notFound {
		ttl = c.opt.NegativeTTL
	}
	if ttl <= 0 {
		return
	}
	e := entry{val: val, notFound: notFound, expires: c.opt.Now().Add(ttl), epoch: epoch}
	c.rc.SetWithTTL(key, e, 1, ttl)
}

// Close closes the backend and the cache.
func (c *Cache) Close() error {
	err := c.inner.Close()
	c.rc.Close()
	return err
}

// Exists implements directory.Accounts.
func (c *Cache) Exists(ctx context.Context, user string) (bool, error) {
	if e, ok := c.get(kExists+user, true); ok {
		return e.val.(bool), nil
	}
	if e, ok := c.get(kUser+user, false); ok {
		return !e.notFound, nil
	}
	epoch := c.epoch.Load()
	ok, err := c.inner.Exists(ctx, user)
	if err != nil {
		return false, err
	}
	c.put(kExists+user, ok, !ok, epoch)
	return ok, nil
}

// User implements directory.Accounts.
func (c *Cache) User(ctx context.Context, user string) (directory.User, error) {
	if e, ok := c.get(kUser+user, true); ok {
		if e.notFound {
			return directory.User{}, directory.ErrNotFound
		}
		return cloneUser(e.val.(directory.User)), nil
	}
	epoch := c.epoch.Load()
	u, err := c.inner.User(ctx, user)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		c.put(kUser+user, nil, true, epoch)
		return u, err
	case err != nil:
		return u, err
	}
	c.put(kUser+user, cloneUser(u), false, epoch)
	return u, nil
}

// Groups implements directory.Accounts.
func (c *Cache) Groups(ctx context.Context, domain string) ([]directory.Group, error) {
	if e, ok := c.get(kGroups+domain, true); ok {
		return cloneGroups(e.val.([]directory.Group)), nil
	}
	epoch := c.epoch.Load()
	gs, err := c.inner.Groups(ctx, domain)
	if err != nil {
		return nil, err
	}
	c.put(kGroups+domain, cloneGroups(gs), false, epoch)
	return gs, nil
}

// LookupDN implements ldap.DNCache.
func (c *Cache) LookupDN(user string) (string, bool) {
	if e, ok := c.get(kDN+user, true); ok {
		return e.val.(string), true
	}
	return "", false
}

// StoreDN implements ldap.DNCache.
func (c *Cache) StoreDN(user, dn string) { c.put(kDN+user, dn, false, c.epoch.Load()) }

// ForgetDN implements ldap.DNCache.
func (c *Cache) ForgetDN(user string) { c.rc.Del(kDN + user) }

func cloneUser(u directory.User) directory.User {
	u.Groups = slices.Clone(u.Groups)
	u.Prefs = maps.Clone(u.Prefs)
	return u
}

func cloneGroups(gs []directory.Group) []directory.Group {
	out := make([]directory.Group, len(gs))
	for i, g := range gs {
		out[i] = directory.Group{Name: g.Name, Members: slices.Clone(g.Members)}
	}
	return out
}
