package ldap_test

import (
	"errors"
	"testing"

	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/directory/ldap/ldaptest"
)

// TestTLS logs in over ldaps:// and StartTLS, verified with the CA file,
// and refuses a server whose certificate cannot be verified.
func TestTLS(t *testing.T) {
	srv := ldaptest.Start(t)
	tests := []struct {
		name string
		edit func(*conf.LDAP)
		want error
	}{
		{"ldaps with ca", func(c *conf.LDAP) { c.URL = srv.TLSURL; c.CAFile = srv.CAFile }, nil},
		{"starttls with ca", func(c *conf.LDAP) { c.StartTLS = true; c.CAFile = srv.CAFile }, nil},
		{"ldaps unknown ca", func(c *conf.LDAP) { c.URL = srv.TLSURL }, directory.ErrUnavailable},
		{"starttls unknown ca", func(c *conf.LDAP) { c.StartTLS = true }, directory.ErrUnavailable},
		{"ldaps wrong name", func(c *conf.LDAP) {
			c.URL = srv.TLSURL
			c.CAFile = srv.CAFile
			c.TLSServerName = "ldap.example.org"
		}, directory.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, srv, tc.edit)
			err := b.CheckPassword(ctxT(t), "alice@example.org", "alice-secret")
			t.Logf("CheckPassword: %v", err)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("CheckPassword = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	srv := ldaptest.Start(t)
	tests := []struct {
		name    string
		edit    func(*conf.LDAP)
		tls     bool
		sample  int
		groups  int
		wantErr bool
	}{
		{"plain", nil, false, 5, 2, false},
		{"starttls", func(c *conf.LDAP) { c.StartTLS = true; c.CAFile = srv.CAFile }, true, 5, 2, false},
		{"posix groups", posix, false, 5, 1, false},
		{"wrong service password", func(c *conf.LDAP) { c.BindPassword = "nope" }, false, 0, 0, true},
		{"missing base", func(c *conf.LDAP) { c.UserBase = "ou=nobody,dc=example,dc=org" }, false, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := newBackend(t, srv, tc.edit).Check(ctxT(t))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Check = %+v, want an error", r)
				}
				return
			}
			if err != nil || r.TLS != tc.tls || len(r.Sample) != tc.sample || r.Groups != tc.groups {
				t.Fatalf("Check = %+v, %v; want tls=%v, %d users, %d groups", r, err, tc.tls, tc.sample, tc.groups)
			}
		})
	}
}
