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
