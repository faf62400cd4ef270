package ldap_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/directory/cache"
	"github.com/xmppd/xmppd/directory/embedded"
	"github.com/xmppd/xmppd/directory/ldap"
	"github.com/xmppd/xmppd/directory/ldap/ldaptest"
)

// BenchmarkCheckPasswordLDAP is one login without cache: a search for the
// DN with the service account and a bind as the user.
func BenchmarkCheckPasswordLDAP(b *testing.B) {
	srv := ldaptest.Start(b)
	be := newBackend(b, srv, nil)
	benchLogins(b, be)
}

// BenchmarkCheckPasswordLDAPCachedDN is a repeated login through the cache:
// the DN comes from the cache, so one bind.
func BenchmarkCheckPasswordLDAPCachedDN(b *testing.B) {
	srv := ldaptest.Start(b)
	be := newBackend(b, srv, nil)
	c, err := cache.New(be, cache.Options{TTL: time.Hour, NegativeTTL: time.Minute, MaxItems: 1000})
	if err != nil {
		b.Fatal(err)
	}
	benchLogins(b, c)
	b.ReportMetric(c.Stats().Ratio(), "hit-ratio")
}

// BenchmarkExistsCacheHit is the cache hit path in front of LDAP.
func BenchmarkExistsCacheHit(b *testing.B) {
	srv := ldaptest.Start(b)
	be := newBackend(b, srv, nil)
	c, err := cache.New(be, cache.Options{TTL: time.Hour, NegativeTTL: time.Minute, MaxItems: 1000})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	c.Exists(ctx, "alice@example.org")
	c.Wait()
	before := be.Stats().Searches
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := c.Exists(ctx, "alice@example.org"); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	if n := be.Stats().Searches - before; n != 0 {
		b.Fatalf("%d LDAP searches on the hit path", n)
	}
}

func benchLogins(b *testing.B, a directory.Accounts) {
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := a.CheckPassword(ctx, "alice@example.org", "alice-secret"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

const stormUsers = 2000

// BenchmarkLoginStorm logs 2000 users in twice (16 at a time), against
// LDAP without cache, LDAP behind the cache, and the embedded directory.
// It reports logins/s and, with the cache, the hit ratio of DN lookups.
func BenchmarkLoginStorm(b *testing.B) {
	var ldif strings.Builder
	hash, err := ldap.SSHA("storm-secret")
	if err != nil {
		b.Fatal(err)
	}
	for i := range stormUsers {
		fmt.Fprintf(&ldif, "dn: uid=u%d,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: u%d\ncn: U %d\nsn: U\nuserPassword: %s\n\n", i, i, i, hash)
	}
	srv := ldaptest.StartWithLDIF(b, ldif.String())
	b.Run("ldap", func(b *testing.B) {
		storm(b, func() directory.Accounts { return newBackend(b, srv, nil) }, nil)
	})
	b.Run("ldap-cached", func(b *testing.B) {
		var c *cache.Cache
		storm(b, func() directory.Accounts {
			var err error
			c, err = cache.New(newBackend(b, srv, nil), cache.Options{TTL: time.Hour, NegativeTTL: time.Minute, MaxItems: 10 * stormUsers})
			if err != nil {
				b.Fatal(err)
			}
			return c
		}, func() float64 { return c.Stats().Ratio() })
	})
	b.Run("embedded", func(b *testing.B) {
		db, err := embedded.Open(filepath.Join(b.TempDir(), "dir.db"), 4096)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		ctx := context.Background()
		for i := range stormUsers {
			if err := db.Create(ctx, fmt.Sprintf("u%d@example.org", i), "storm-secret"); err != nil {
				b.Fatal(err)
			}
		}
		storm(b, func() directory.Accounts { return db }, nil)
	})
}

// storm runs b.N storms, each on a fresh Accounts from open (a cold cache).
func storm(b *testing.B, open func() directory.Accounts, ratio func() float64) {
	ctx := context.Background()
	var total time.Duration
	var hits float64
	for range b.N {
		b.StopTimer()
		a := open()
		b.StartTimer()
		start := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= 2*stormUsers {
						return
					}
					user := fmt.Sprintf("u%d@example.org", i%stormUsers)
					if err := a.CheckPassword(ctx, user, "storm-secret"); err != nil {
						b.Error(user, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		total += time.Since(start)
		if ratio != nil {
			hits += ratio()
		}
	}
	b.ReportMetric(float64(2*stormUsers*b.N)/total.Seconds(), "logins/s")
	if ratio != nil {
		b.ReportMetric(hits/float64(b.N), "hit-ratio")
	}
}
