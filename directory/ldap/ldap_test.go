package ldap_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/directory/ldap"
	"github.com/xmppd/xmppd/directory/ldap/ldaptest"
)

func newBackend(t testing.TB, srv *ldaptest.Server, edit func(*conf.LDAP)) *ldap.Backend {
	t.Helper()
	cfg := srv.Config()
	if edit != nil {
		edit(&cfg)
	}
	c := conf.Default()
	c.Server.Domains = []string{ldaptest.Domain}
	c.Directory.Backend = "ldap"
	c.Directory.LDAP = cfg
	if err := c.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	b, err := ldap.New(cfg, c.Server.Domains)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// ctxT bounds a whole test (TestOutage waits up to 20 s for slapd's
// restart with it), generously for a loaded machine.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCheckPassword(t *testing.T) {
	srv := ldaptest.Start(t)
	b := newBackend(t, srv, nil)
	tests := []struct {
		name, user, password string
		want                 error
	}{
		{"ok", "alice@example.org", "alice-secret", nil},
		{"ok in sub ou", "dave@example.org", "dave-secret", nil},
		{"case folded jid", "ALICE@example.org", "alice-secret", nil},
		{"wrong password", "alice@example.org", "bob-secret", directory.ErrBadPassword},
		{"empty password", "alice@example.org", "", directory.ErrBadPassword},
		{"unknown user", "zed@example.org", "zed-secret", directory.ErrNotFound},
		{"not an inetOrgPerson", "printer@example.org", "xmppd-service", directory.ErrNotFound},
		{"other domain", "alice@example.net", "alice-secret", directory.ErrNotFound},
		{"service account is no user", "xmppd@example.org", "xmppd-service", directory.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := b.CheckPassword(ctxT(t), tc.user, tc.password)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("CheckPassword(%q) = %v, want %v", tc.user, err, tc.want)
			}
		})
	}
	if s := b.Stats(); s.Binds == 0 || s.Searches == 0 {
		t.Errorf("stats %+v: expected searches and binds", s)
	}
}

// TestInjection sends filter and DN metacharacters as usernames. Each must
// be refused, and no search may return a single entry for them (a widened
// filter such as uid=* would return every user).
func TestInjection(t *testing.T) {
	srv := ldaptest.Start(t)
	b := newBackend(t, srv, nil)
	tests := []struct {
		name, local string
		noQuery     bool // refused before any query
	}{
		{"star", "*", false},
		{"prefix star", "a*", false},
		{"close paren or", "*)(uid=*", false},
		{"open paren", "(", false},
		{"close paren", ")", false},
		{"backslash", `\`, false},
		{"escaped star", `\2a`, false},
		{"or injection", "alice)(|(uid=*", false},
		{"and injection", "x)(objectClass=*", false},
		{"nul", "alice\x00", true},
		{"nul star", "\x00*", true},
		{"newline", "alice\n", true},
		{"at sign", "alice@evil", true},
		{"slash", "alice/x", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			user := tc.local + "@example.org"
			before := b.Stats()
			if err := b.CheckPassword(ctx, user, "alice-secret"); !errors.Is(err, directory.ErrNotFound) {
				t.Errorf("CheckPassword(%q) = %v, want ErrNotFound", user, err)
			}
			if ok, err := b.Exists(ctx, user); ok || err != nil {
				t.Errorf("Exists(%q) = %v, %v", user, ok, err)
			}
			if _, err := b.User(ctx, user); !errors.Is(err, directory.ErrNotFound) {
				t.Errorf("User(%q) = %v, want ErrNotFound", user, err)
			}
			after := b.Stats()
			if n := after.Entries - before.Entries; n != 0 {
				t.Errorf("searches for %q returned %d entries, want 0", user, n)
			}
			if after.Binds != before.Binds {
				t.Errorf("a bind was attempted for %q", user)
			}
			if tc.noQuery && after.Searches != before.Searches {
				t.Errorf("%q reached the directory (%d searches)", user, after.Searches-before.Searches)
			}
		})
	}
}

func TestUser(t *testing.T) {
	srv := ldaptest.Start(t)
	tests := []struct {
		name string
		edit func(*conf.LDAP)
		user string
		want directory.User
	}{
		{"attributes and groups", nil, "alice@example.org", directory.User{
			JID: "alice@example.org", DisplayName: "Alice Liddell", Mail: "alice@example.org",
			Groups: []string{"staff"}, Prefs: map[string]string{"language": "en"}}},
		{"other group", nil, "eve@example.org", directory.User{
			JID: "eve@example.org", DisplayName: "Eve Moneypenny", Mail: "eve@example.org",
			Groups: []string{"board"}}},
		{"configured groups only", func(c *conf.LDAP) { c.Groups = []string{"staff"} }, "eve@example.org", directory.User{
			JID: "eve@example.org", DisplayName: "Eve Moneypenny", Mail: "eve@example.org"}},
		{"posix groups", posix, "carol@example.org", directory.User{
			JID: "carol@example.org", DisplayName: "Carol Danvers", Mail: "carol@example.org",
			Groups: []string{"devs"}, Prefs: map[string]string{"language": "fr"}}},
		{"display name mapping", func(c *conf.LDAP) { c.Attributes.DisplayName = "sn"; c.Attributes.Mail = "" }, "bob@example.org", directory.User{
			JID: "bob@example.org", DisplayName: "Builder", Groups: []string{"staff"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, srv, tc.edit)
			got, err := b.User(ctxT(t), tc.user)
			if err != nil {
				t.Fatal(err)
			}
			if got.JID != tc.want.JID || got.DisplayName != tc.want.DisplayName || got.Mail != tc.want.Mail ||
				!slices.Equal(got.Groups, tc.want.Groups) || len(got.Prefs) != len(tc.want.Prefs) ||
				got.Prefs["language"] != tc.want.Prefs["language"] {
				t.Fatalf("User(%s) = %+v, want %+v", tc.user, got, tc.want)
			}
		})
	}
}

func posix(c *conf.LDAP) {
	c.GroupFilter = "(objectClass=posixGroup)"
	c.MemberAttribute = "memberUid"
	c.MemberType = "uid"
}

func TestGroups(t *testing.T) {
	srv := ldaptest.Start(t)
	tests := []struct {
		name string
		edit func(*conf.LDAP)
		want string
	}{
		{"groupOfNames", nil, "board:eve@example.org staff:alice@example.org,bob@example.org,carol@example.org"},
		{"named groups", func(c *conf.LDAP) { c.Groups = []string{"staff", "nope"} }, "staff:alice@example.org,bob@example.org,carol@example.org"},
		{"posixGroup memberUid", posix, "devs:carol@example.org,dave@example.org"},
		{"no group base", func(c *conf.LDAP) { c.GroupBase = "" }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, srv, tc.edit)
			for _, domain := range []string{"example.org", ""} {
				gs, err := b.Groups(ctxT(t), domain)
				if err != nil {
					t.Fatal(err)
				}
				var parts []string
				for _, g := range gs {
					parts = append(parts, g.Name+":"+strings.Join(g.Members, ","))
				}
				if got := strings.Join(parts, " "); got != tc.want {
					t.Fatalf("Groups(%q) = %q, want %q", domain, got, tc.want)
				}
			}
		})
	}
}

func TestListAndMechanisms(t *testing.T) {
	srv := ldaptest.Start(t)
	b := newBackend(t, srv, nil)
	got, err := b.List(ctxT(t), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"alice@example.org", "bob@example.org", "carol@example.org", "dave@example.org", "eve@example.org"}
	if !slices.Equal(got, want) {
		t.Fatalf("List = %v, want %v", got, want)
	}
	if got, _ := b.List(ctxT(t), "other.org"); len(got) != 0 {
		t.Fatalf("List(other.org) = %v", got)
	}
	if m := b.Mechanisms(); !slices.Equal(m, []string{"PLAIN"}) {
		t.Fatalf("Mechanisms = %v", m)
	}
	for _, mech := range []string{"SCRAM-SHA-1", "SCRAM-SHA-256"} {
		if _, err := b.SCRAM(ctxT(t), "alice@example.org", mech); !errors.Is(err, directory.ErrNoCredentials) {
			t.Fatalf("SCRAM(%s) = %v, want ErrNoCredentials", mech, err)
		}
	}
}

func TestPhoto(t *testing.T) {
	srv := ldaptest.Start(t)
	b := newBackend(t, srv, nil)
	p, err := b.Photo(ctxT(t), "alice@example.org")
	if err != nil || p != nil {
		t.Fatalf("Photo(alice) = %v, %v; want none", p, err)
	}
	p, err = b.Photo(ctxT(t), "bob@example.org")
	if err != nil || string(p) != "\xff\xd8\xff\xe0\x00\x10JFIF" {
		t.Fatalf("Photo(bob) = %q, %v; want the JPEG header of the LDIF", p, err)
	}
	if _, err := b.Photo(ctxT(t), "zed@example.org"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Photo(zed) = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*conf.LDAP)
		key  string // "" when valid
	}{
		{"valid", nil, ""},
		{"no url", func(c *conf.LDAP) { c.URL = "" }, "directory.ldap.url"},
		{"bad scheme", func(c *conf.LDAP) { c.URL = "http://x" }, "directory.ldap.url"},
		{"starttls on ldaps", func(c *conf.LDAP) { c.URL = "ldaps://x"; c.StartTLS = true }, "directory.ldap.start_tls"},
		{"filter without %s", func(c *conf.LDAP) { c.UserFilter = "(uid=alice)" }, "directory.ldap.user_filter"},
		{"unbalanced filter", func(c *conf.LDAP) { c.UserFilter = "(&(uid=%s)" }, "directory.ldap.user_filter"},
		{"no user base", func(c *conf.LDAP) { c.UserBase = "" }, "directory.ldap.user_base"},
		{"member type", func(c *conf.LDAP) { c.MemberType = "guid" }, "directory.ldap.member_type"},
		{"scheme", func(c *conf.LDAP) { c.PasswordScheme = "md5" }, "directory.ldap.password_scheme"},
		{"pool", func(c *conf.LDAP) { c.PoolSize = 0 }, "directory.ldap.pool_size"},
		{"bind dn without password", func(c *conf.LDAP) { c.BindDN = ldaptest.ServiceDN }, "directory.ldap.bind_password"},
		{"two passwords", func(c *conf.LDAP) { c.BindPassword = "a"; c.BindPasswordFile = "/x" }, "directory.ldap.bind_password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := conf.Default()
			c.Directory.Backend = "ldap"
			c.Directory.LDAP.URL = "ldap://127.0.0.1:1/"
			c.Directory.LDAP.UserBase = ldaptest.PeopleDN
			if tc.edit != nil {
				tc.edit(&c.Directory.LDAP)
			}
			err := c.Validate()
			if tc.key == "" && err != nil || tc.key != "" && (err == nil || !strings.Contains(err.Error(), tc.key+":")) {
				t.Fatalf("Validate() = %v, want a problem with %q", err, tc.key)
			}
		})
	}
}
