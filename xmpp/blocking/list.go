package blocking

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// list is one account's blocklist. It is never modified once built: a
// change builds a new list and swaps it into the cache.
type list struct {
	set   map[string]bool
	items []string // sorted
}

var emptyList = &list{}

func newList(items []string) *list {
	if len(items) == 0 {
		return emptyList
	}
	l := &list{set: make(map[string]bool, len(items))}
	for _, it := range items {
		if it != "" && !l.set[it] {
			l.set[it] = true
			l.items = append(l.items, it)
		}
	}
	sort.Strings(l.items)
	return l
}

// matches applies the matching order of XEP-0191 section 3.4 (that of
// XEP-0016): user@domain/resource, user@domain, domain/resource, then the
// domain and every domain it is a subdomain of.
func (l *list) matches(local, domain, resource string) bool {
	if len(l.set) == 0 {
		return false
	}
	if local != "" {
		bare := local + "@" + domain
		if resource != "" && l.set[bare+"/"+resource] {
			return true
		}
		if l.set[bare] {
			return true
		}
	}
	if resource != "" && l.set[domain+"/"+resource] {
		return true
	}
	for d := domain; d != ""; {
		if l.set[d] {
			return true
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			break
		}
		d = d[i+1:]
	}
	return false
}

// encode is the stored form: one JID a line.
func (l *list) encode() []byte { return []byte(strings.Join(l.items, "\n")) }

func decode(b []byte) *list {
	if len(b) == 0 {
		return emptyList
	}
	return newList(strings.Split(string(b), "\n"))
}

// cache keeps the lists of accounts with bound sessions, so the filters on
// the message path are map lookups. Lists of other accounts are read from
// the store each time (their stanzas go to offline storage anyway).
type cache struct {
	mu    sync.RWMutex
	lists map[string]*list
}

func (c *cache) get(user string) *list {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.lists[user]
}

// put replaces the entry, or with ifAbsent only adds it: a list read from
// the store before a concurrent change must not replace the new one.
func (c *cache) put(user string, l *list, ifAbsent bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.lists[user]; ok && ifAbsent {
		return
	}
	c.lists[user] = l
}

func (c *cache) drop(user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.lists, user)
}

// list returns user's blocklist from the cache or the store.
func (m *Module) list(ctx context.Context, user string) (*list, error) {
	if l := m.cache.get(user); l != nil {
		return l, nil
	}
	b, _, err := m.host.Store().GetData(ctx, user, DataKey)
	if err != nil {
		return nil, fmt.Errorf("blocking: blocklist of %s: %w", user, err)
	}
	l := decode(b)
	if len(m.host.Resources(user)) > 0 {
		m.cache.put(user, l, true)
	}
	return l, nil
}

// save stores a changed list and caches it.
func (m *Module) save(ctx context.Context, user string, l *list) error {
	var err error
	if len(l.items) == 0 {
		err = m.host.Store().DeleteData(ctx, user, DataKey)
	} else {
		err = m.host.Store().PutData(ctx, user, DataKey, l.encode())
	}
	if err != nil {
		return fmt.Errorf("blocking: save blocklist of %s: %w", user, err)
	}
	m.cache.put(user, l, false)
	return nil
}
