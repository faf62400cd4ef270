package cache_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/directory/cache"
)

// fake is a counting in-memory Accounts; down makes every call fail as an
// unreachable backend would.
type fake struct {
	mu    sync.Mutex
	users map[string]string
	calls atomic.Int64
	down  atomic.Bool
}

func newFake() *fake {
	return &fake{users: map[string]string{"alice@example.org": "pw", "bob@example.org": "pw"}}
}

func (f *fake) enter() error {
	f.calls.Add(1)
	if f.down.Load() {
		return directory.ErrUnavailable
	}
	return nil
}

func (f *fake) Exists(ctx context.Context, user string) (bool, error) {
	if err := f.enter(); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.users[user]
	return ok, nil
}

func (f *fake) SCRAM(ctx context.Context, user, mech string) (directory.SCRAM, error) {
	return directory.SCRAM{}, directory.ErrNoCredentials
}

func (f *fake) CheckPassword(ctx context.Context, user, password string) error {
	if err := f.enter(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	pw, ok := f.users[user]
	switch {
	case !ok:
		return directory.ErrNotFound
	case pw != password:
		return directory.ErrBadPassword
	}
	return nil
}

func (f *fake) Mechanisms() []string { return []string{"PLAIN"} }

func (f *fake) Create(ctx context.Context, user, password string) error {
	if err := f.enter(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.users[user]; ok {
		return directory.ErrExists
	}
	f.users[user] = password
	return nil
}

func (f *fake) Delete(ctx context.Context, user string) error {
	if err := f.enter(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.users, user)
	return nil
}

func (f *fake) SetPassword(ctx context.Context, user, password string) error {
	return f.Create(ctx, user, password)
}

func (f *fake) List(ctx context.Context, domain string) ([]string, error) { return nil, f.enter() }

func (f *fake) User(ctx context.Context, user string) (directory.User, error) {
	ok, err := f.Exists(ctx, user)
	if err != nil {
		return directory.User{}, err
	}
	if !ok {
		return directory.User{}, directory.ErrNotFound
	}
	return directory.User{JID: user, DisplayName: "name of " + user, Groups: []string{"staff"}}, nil
}

func (f *fake) Groups(ctx context.Context, domain string) ([]directory.Group, error) {
	if err := f.enter(); err != nil {
		return nil, err
	}
	return []directory.Group{{Name: "staff", Members: []string{"alice@" + domain}}}, nil
}

func (f *fake) Close() error { return nil }

// clock is a settable test clock.
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

func setup(t *testing.T) (*cache.Cache, *fake, *clock) {
	t.Helper()
	f := newFake()
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	c, err := cache.New(f, cache.Options{TTL: time.Minute, NegativeTTL: 10 * time.Second, MaxItems: 1000, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, f, clk
}

// lookup is one cached call, reduced to a comparable answer.
type lookup func(c *cache.Cache) (string, error)

var lookups = map[string]lookup{
	"exists": func(c *cache.Cache) (string, error) {
		ok, err := c.Exists(context.Background(), "alice@example.org")
		if ok {
			return "yes", err
		}
		return "no", err
	},
	"exists-missing": func(c *cache.Cache) (string, error) {
		ok, err := c.Exists(context.Background(), "zed@example.org")
		if ok {
			return "yes", err
		}
		return "no", err
	},
	"user": func(c *cache.Cache) (string, error) {
		u, err := c.User(context.Background(), "alice@example.org")
		return u.DisplayName, err
	},
	"user-missing": func(c *cache.Cache) (string, error) {
		_, err := c.User(context.Background(), "zed@example.org")
		if errors.Is(err, directory.ErrNotFound) {
			return "not found", nil
		}
		return "", err
	},
	"groups": func(c *cache.Cache) (string, error) {
		gs, err := c.Groups(context.Background(), "example.org")
		if err != nil || len(gs) != 1 {
			return "", err
		}
		return gs[0].Name + ":" + gs[0].Members[0], nil
	},
}

func TestTTL(t *testing.T) {
	tests := []struct {
		name    string
		lookup  string
		ttl     time.Duration // the TTL that applies to this answer
		want    string
		advance time.Duration // within the TTL: still cached
	}{
		{"positive exists", "exists", time.Minute, "yes", 59 * time.Second},
		{"negative exists", "exists-missing", 10 * time.Second, "no", 9 * time.Second},
		{"user", "user", time.Minute, "name of alice@example.org", 30 * time.Second},
		{"negative user", "user-missing", 10 * time.Second, "not found", 5 * time.Second},
		{"groups", "groups", time.Minute, "staff:alice@example.org", 59 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, f, clk := setup(t)
			l := lookups[tc.lookup]
			check := func(step string, wantCalls int64) {
				t.Helper()
				got, err := l(c)
				if err != nil || got != tc.want {
					t.Fatalf("%s: got %q, %v; want %q", step, got, err, tc.want)
				}
				c.Wait()
				if n := f.calls.Load(); n != wantCalls {
					t.Fatalf("%s: backend calls = %d, want %d", step, n, wantCalls)
				}
			}
			check("first lookup", 1)
			check("repeat", 1)
			clk.Add(tc.advance)
			check("within ttl", 1)
			clk.Add(tc.ttl - tc.advance + time.Millisecond)
			check("after ttl", 2)
			check("refreshed", 2)
			if s := c.Stats(); s.Hits != 3 || s.Misses != 2 {
				t.Errorf("stats = %+v, want 3 hits, 2 misses", s)
			}
		})
	}
}

func TestFlush(t *testing.T) {
	for name, l := range lookups {
		t.Run(name, func(t *testing.T) {
			c, f, _ := setup(t)
			if _, err := l(c); err != nil {
				t.Fatal(err)
			}
			c.Wait()
			c.Flush()
			if _, err := l(c); err != nil {
				t.Fatal(err)
			}
			if n := f.calls.Load(); n != 2 {
				t.Fatalf("backend calls after flush = %d, want 2", n)
			}
		})
	}
}

func TestOutageServesUntilExpiry(t *testing.T) {
	c, f, clk := setup(t)
	ctx := context.Background()
	if ok, err := c.Exists(ctx, "alice@example.org"); !ok || err != nil {
		t.Fatalf("warm: %v %v", ok, err)
	}
	c.Wait()
	f.down.Store(true)
	if ok, err := c.Exists(ctx, "alice@example.org"); !ok || err != nil {
		t.Fatalf("cached during outage: %v %v", ok, err)
	}
	if _, err := c.Exists(ctx, "bob@example.org"); !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("uncached during outage: %v, want ErrUnavailable", err)
	}
	// A failure is not cached as "no such user".
	f.down.Store(false)
	if ok, err := c.Exists(ctx, "bob@example.org"); !ok || err != nil {
		t.Fatalf("bob after outage: %v %v", ok, err)
	}
	f.down.Store(true)
	if err := c.CheckPassword(ctx, "alice@example.org", "pw"); !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("passwords are never cached: %v", err)
	}
	clk.Add(time.Minute + time.Second)
	if _, err := c.Exists(ctx, "alice@example.org"); !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("expired during outage: %v, want ErrUnavailable", err)
	}
}

func TestCreateDropsNegative(t *testing.T) {
	c, _, _ := setup(t)
	ctx := context.Background()
	if ok, _ := c.Exists(ctx, "zed@example.org"); ok {
		t.Fatal("zed exists before create")
	}
	c.Wait()
	if err := c.Create(ctx, "zed@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Exists(ctx, "zed@example.org"); !ok || err != nil {
		t.Fatalf("zed after create: %v %v", ok, err)
	}
	c.Wait()
	if err := c.Delete(ctx, "zed@example.org"); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Exists(ctx, "zed@example.org"); ok || err != nil {
		t.Fatalf("zed after delete: %v %v", ok, err)
	}
}

func TestZeroTTLDisables(t *testing.T) {
	f := newFake()
	c, err := cache.New(f, cache.Options{MaxItems: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		if _, err := c.Exists(context.Background(), "alice@example.org"); err != nil {
			t.Fatal(err)
		}
		c.Wait()
	}
	if n := f.calls.Load(); n != 3 {
		t.Fatalf("calls = %d, want 3 with caching off", n)
	}
}

func TestCachedValuesAreCopies(t *testing.T) {
	c, _, _ := setup(t)
	u, err := c.User(context.Background(), "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	c.Wait()
	u.Groups[0] = "mutated"
	u2, _ := c.User(context.Background(), "alice@example.org")
	if u2.Groups[0] != "staff" {
		t.Fatalf("cached user was mutated through a returned value: %v", u2.Groups)
	}
}

func BenchmarkExistsHit(b *testing.B) {
	f := newFake()
	c, err := cache.New(f, cache.Options{TTL: time.Hour, NegativeTTL: time.Hour, MaxItems: 1000})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	c.Exists(ctx, "alice@example.org")
	c.Wait()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := c.Exists(ctx, "alice@example.org"); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.ReportMetric(c.Stats().Ratio(), "hit-ratio")
}
