package ldap_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/directory/cache"
	"github.com/xmppd/xmppd/directory/embedded"
	"github.com/xmppd/xmppd/directory/ldap"
	"github.com/xmppd/xmppd/directory/ldap/ldaptest"
)

func writable(scheme string) func(*conf.LDAP) {
	return func(c *conf.LDAP) { c.Writable = true; c.PasswordScheme = scheme }
}

// TestCreate registers accounts and checks them with the real ldapsearch.
func TestCreate(t *testing.T) {
	srv := ldaptest.Start(t)
	tests := []struct {
		name, scheme, local, filter, dn string
	}{
		{"ssha", "ssha", "frank", "(uid=frank)", "dn: uid=frank,ou=people,dc=example,dc=org"},
		{"server policy", "server", "gina", "(uid=gina)", "dn: uid=gina,ou=people,dc=example,dc=org"},
		{"dn metacharacters", "ssha", "o+malley,jr", `(uid=o+malley,jr)`, `dn: uid=o\2Bmalley\2Cjr,ou=people,dc=example,dc=org`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			b := newBackend(t, srv, writable(tc.scheme))
			user := tc.local + "@example.org"
			if err := b.Create(ctx, user, "new-secret"); err != nil {
				t.Fatalf("Create: %v", err)
			}
			out, err := srv.Ldapsearch(ctx, tc.filter, "uid", "objectClass", "userPassword")
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{tc.dn, "objectClass: inetOrgPerson", "userPassword:: "} {
				if !strings.Contains(out, want) {
					t.Fatalf("ldapsearch %s: no %q in\n%s", tc.filter, want, out)
				}
			}
			if strings.Contains(out, "new-secret") {
				t.Fatalf("password stored in clear:\n%s", out)
			}
			if err := b.CheckPassword(ctx, user, "new-secret"); err != nil {
				t.Fatalf("login after create: %v", err)
			}
			if err := b.Create(ctx, user, "other"); !errors.Is(err, directory.ErrExists) {
				t.Fatalf("second Create = %v, want ErrExists", err)
			}
			if err := b.SetPassword(ctx, user, "changed-secret"); err != nil {
				t.Fatalf("SetPassword: %v", err)
			}
			if err := b.CheckPassword(ctx, user, "new-secret"); !errors.Is(err, directory.ErrBadPassword) {
				t.Fatalf("old password after change: %v", err)
			}
			if err := b.CheckPassword(ctx, user, "changed-secret"); err != nil {
				t.Fatalf("new password after change: %v", err)
			}
			if err := b.Delete(ctx, user); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if out, err := srv.Ldapsearch(ctx, tc.filter, "dn"); err != nil || strings.TrimSpace(out) != "" {
				t.Fatalf("entry still there after Delete: %q %v", out, err)
			}
			if err := b.Delete(ctx, user); !errors.Is(err, directory.ErrNotFound) {
				t.Fatalf("second Delete = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestCreateRefused(t *testing.T) {
	srv := ldaptest.Start(t)
	ro := newBackend(t, srv, nil)
	rw := newBackend(t, srv, writable("ssha"))
	ctx := ctxT(t)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"read-only create", ro.Create(ctx, "frank@example.org", "pw-pw-pw"), directory.ErrReadOnly},
		{"read-only delete", ro.Delete(ctx, "alice@example.org"), directory.ErrReadOnly},
		{"read-only password", ro.SetPassword(ctx, "alice@example.org", "pw-pw-pw"), directory.ErrReadOnly},
		{"existing user", rw.Create(ctx, "alice@example.org", "pw-pw-pw"), directory.ErrExists},
		{"existing in sub ou", rw.Create(ctx, "dave@example.org", "pw-pw-pw"), directory.ErrExists},
		{"invalid name", rw.Create(ctx, "a\x00b@example.org", "pw-pw-pw"), directory.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.want) {
				t.Fatalf("got %v, want %v", tc.err, tc.want)
			}
		})
	}
	if err := rw.CheckPassword(ctx, "alice@example.org", "alice-secret"); err != nil {
		t.Fatalf("alice's password changed by a refused create: %v", err)
	}
}

// TestLDAPStoreDelete removes an account from LDAP and its roster from the
// embedded store it is paired with.
func TestLDAPStoreDelete(t *testing.T) {
	srv := ldaptest.Start(t)
	cfg := conf.Default()
	cfg.Server.Domains = []string{ldaptest.Domain}
	cfg.Directory.Backend = "ldap"
	cfg.Directory.LDAP = srv.Config()
	cfg.Directory.LDAP.Writable = true
	emb, err := embedded.Open(filepath.Join(t.TempDir(), embedded.FileName), 4096)
	if err != nil {
		t.Fatal(err)
	}
	s, err := cache.OpenLDAP(cfg, emb)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := ctxT(t)
	if err := s.Create(ctx, "frank@example.org", "frank-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutItem(ctx, "frank@example.org", directory.RosterItem{JID: "alice@example.org", Subscription: directory.SubNone}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "frank@example.org"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Exists(ctx, "frank@example.org"); ok || err != nil {
		t.Fatalf("Exists after Delete: %v %v", ok, err)
	}
	if items, _, err := s.Roster(ctx, "frank@example.org"); err != nil || len(items) != 0 {
		t.Fatalf("roster after Delete: %v %v", items, err)
	}
	if _, err := ldap.New(conf.Default().Directory.LDAP, nil); err == nil {
		t.Fatal("ldap.New without a domain succeeded")
	}
}
