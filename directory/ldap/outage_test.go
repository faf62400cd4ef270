package ldap_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/directory/cache"
	"github.com/xmppd/xmppd/directory/ldap"
	"github.com/xmppd/xmppd/directory/ldap/ldaptest"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func cached(t testing.TB, b *ldap.Backend) (*cache.Cache, *clock) {
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	c, err := cache.New(b, cache.Options{TTL: time.Minute, NegativeTTL: 10 * time.Second, MaxItems: 10000, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c, clk
}

// TestCacheCountsQueries checks with the backend's own query counter that
// a repeated lookup is answered without LDAP, and that TTL and negative TTL
// send the next lookup to LDAP again.
func TestCacheCountsQueries(t *testing.T) {
	srv := ldaptest.Start(t)
	b := newBackend(t, srv, nil)
	c, clk := cached(t, b)
	ctx := ctxT(t)
	step := func(name, user string, want bool, wantSearches int64) {
		t.Helper()
		before := b.Stats().Searches
		ok, err := c.Exists(ctx, user)
		if err != nil || ok != want {
			t.Fatalf("%s: Exists(%s) = %v, %v", name, user, ok, err)
		}
		c.Wait()
		if n := b.Stats().Searches - before; n != wantSearches {
			t.Fatalf("%s: %d LDAP searches, want %d", name, n, wantSearches)
		}
	}
	step("first", "alice@example.org", true, 1)
	step("repeat", "alice@example.org", true, 0)
	step("negative first", "zed@example.org", false, 1)
	step("negative repeat", "zed@example.org", false, 0)
	clk.Add(11 * time.Second) // past the negative TTL, within the TTL
	step("negative expired", "zed@example.org", false, 1)
	step("positive still cached", "alice@example.org", true, 0)
	clk.Add(time.Minute)
	step("positive expired", "alice@example.org", true, 1)

	// Logins: the DN is cached, the bind is not.
	if err := c.CheckPassword(ctx, "bob@example.org", "bob-secret"); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	before := b.Stats()
	for range 3 {
		if err := c.CheckPassword(ctx, "bob@example.org", "bob-secret"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CheckPassword(ctx, "bob@example.org", "wrong"); !errors.Is(err, directory.ErrBadPassword) {
		t.Fatalf("wrong password with cached DN: %v", err)
	}
	after := b.Stats()
	if after.Binds-before.Binds != 4 {
		t.Fatalf("binds = %d, want 4 (one per login)", after.Binds-before.Binds)
	}
	// The wrong password re-checks the DN once (it could have moved).
	if after.Searches-before.Searches != 1 {
		t.Fatalf("searches = %d, want 1", after.Searches-before.Searches)
	}
	t.Logf("cache stats: %+v", c.Stats())
}

// TestOutage kills slapd mid-run: logins fail as unavailable, cached
// lookups keep answering, and after slapd restarts on the same port logins
// work again.
func TestOutage(t *testing.T) {
	srv := ldaptest.Start(t)
	// A backoff ceiling of 2 s instead of the helper's 200 ms: the check
	// that 10 back-to-back logins do not all dial must not depend on the
	// loop being faster than the ceiling on a loaded machine.
	b := newBackend(t, srv, func(c *conf.LDAP) { c.MaxBackoff = conf.Duration{Duration: 2 * time.Second} })
	c, _ := cached(t, b)
	ctx := ctxT(t)
	if ok, err := c.Exists(ctx, "alice@example.org"); !ok || err != nil {
		t.Fatalf("warm Exists: %v %v", ok, err)
	}
	if _, err := c.User(ctx, "carol@example.org"); err != nil {
		t.Fatalf("warm User: %v", err)
	}
	if err := c.CheckPassword(ctx, "alice@example.org", "alice-secret"); err != nil {
		t.Fatalf("warm login: %v", err)
	}
	c.Wait()

	srv.Kill(t)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 { // concurrent logins during the outage must not hang or crash
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := []string{"alice", "bob"}[i%2]
			errs <- c.CheckPassword(ctx, user+"@example.org", user+"-secret")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, directory.ErrUnavailable) {
			t.Fatalf("login during outage = %v, want ErrUnavailable", err)
		}
	}
	// Reconnection backs off: back-to-back logins fail fast instead of
	// each dialling the dead address.
	before := b.Stats().Dials
	for range 10 {
		if err := b.CheckPassword(ctx, "carol@example.org", "carol-secret"); !errors.Is(err, directory.ErrUnavailable) {
			t.Fatalf("login during outage = %v", err)
		}
	}
	if n := b.Stats().Dials - before; n >= 10 {
		t.Fatalf("%d connection attempts for 10 logins: no backoff", n)
	}
	if ok, err := c.Exists(ctx, "alice@example.org"); !ok || err != nil {
		t.Fatalf("cached Exists during outage: %v %v", ok, err)
	}
	if u, err := c.User(ctx, "carol@example.org"); err != nil || u.DisplayName != "Carol Danvers" {
		t.Fatalf("cached User during outage: %+v %v", u, err)
	}
	if _, err := c.Exists(ctx, "bob@example.org"); !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("uncached Exists during outage = %v, want ErrUnavailable", err)
	}
	if _, err := c.Groups(ctx, "example.org"); !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("Groups during outage = %v, want ErrUnavailable", err)
	}

	srv.Restart(t)
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := c.CheckPassword(ctx, "bob@example.org", "bob-secret")
		if err == nil {
			break
		}
		if !errors.Is(err, directory.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("login after restart: %v", err)
		}
		<-tick.C
	}
	if err := c.CheckPassword(ctx, "alice@example.org", "alice-secret"); err != nil {
		t.Fatalf("alice after restart: %v", err)
	}
	t.Logf("ldap stats: %+v", b.Stats())
}

// TestTimeout points the backend at a server that accepts connections and
// never answers: operations end with ErrUnavailable at the caller's
// deadline instead of hanging.
func TestTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	cfg := conf.Default().Directory.LDAP
	cfg.URL = "ldap://" + l.Addr().String()
	cfg.BindDN, cfg.BindPassword = ldaptest.ServiceDN, ldaptest.ServicePassword
	cfg.UserBase = ldaptest.PeopleDN
	// Far above the context's 300 ms and the 20 s bound below: the
	// operation must end because the context does, not the configuration.
	cfg.Timeout = conf.Duration{Duration: time.Minute}
	b, err := ldap.New(cfg, []string{"example.org"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = b.CheckPassword(ctx, "alice@example.org", "alice-secret")
	if !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("CheckPassword against a silent server = %v, want ErrUnavailable", err)
	}
	// A bound a loaded machine cannot reach by slowness alone, far below
	// the configured minute.
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("CheckPassword took %s, the context allowed 300ms (configured timeout %s)", took, cfg.Timeout.Duration)
	}
}
