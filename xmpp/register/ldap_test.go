package register

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/directory/cache"
	"github.com/xmppd/xmppd/directory/ldap"
	"github.com/xmppd/xmppd/directory/ldap/ldaptest"
	mt "github.com/xmppd/xmppd/xmpp/module/moduletest"
)

// ldapHost is a test host whose accounts live in a real slapd (through the
// cache, as the server wires it) and whose rosters and data are in memory.
type ldapHost struct {
	*mt.Host
	store directory.Store
}

func (h ldapHost) Store() directory.Store { return h.store }

type combined struct {
	directory.Accounts
	directory.Rosters
	directory.Data
}

func newLDAPHost(t *testing.T, srv *ldaptest.Server, writable bool) (ldapHost, *cache.Cache) {
	t.Helper()
	cfg := srv.Config()
	cfg.Writable = writable
	b, err := ldap.New(cfg, []string{ldaptest.Domain})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cache.New(b, cache.OptionsFrom(conf.Default().Directory.Cache))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := mt.NewHost()
	h.Cfg.Server.Domains = []string{ldaptest.Domain}
	return ldapHost{Host: h, store: combined{c, h.Mem, h.Mem}}, c
}

// TestRegisterIntoLDAP registers before login, checks the entry with the
// real ldapsearch, logs in with it, changes the password and removes the
// account, all against a private slapd.
func TestRegisterIntoLDAP(t *testing.T) {
	srv := ldaptest.Start(t)
	h, c := newLDAPHost(t, srv, true)
	m, r, _ := start(t, h, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A negative answer cached before the registration must not hide it.
	if ok, _ := c.Exists(ctx, "frank@example.org"); ok {
		t.Fatal("frank exists before registration")
	}
	c.Wait()

	send := func(raw string) string { return pre(t, m, "127.0.0.1:5000", raw).String() }
	if got := send(setLegacy("1", "frank", "frank-secret")); !strings.Contains(got, "type=\"result\"") && !strings.Contains(got, "type='result'") {
		t.Fatalf("registration reply: %s", got)
	}
	out, err := srv.Ldapsearch(ctx, "(uid=frank)", "uid", "objectClass")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "dn: uid=frank,ou=people,dc=example,dc=org") || !strings.Contains(out, "objectClass: inetOrgPerson") {
		t.Fatalf("ldapsearch after registration:\n%s", out)
	}
	if ok, err := c.Exists(ctx, "frank@example.org"); !ok || err != nil {
		t.Fatalf("Exists after registration: %v %v", ok, err)
	}
	if err := h.Store().CheckPassword(ctx, "frank@example.org", "frank-secret"); err != nil {
		t.Fatalf("login with the registered password: %v", err)
	}
	if got := send(setLegacy("2", "alice", "whatever-pw")); !strings.Contains(got, "<conflict") {
		t.Fatalf("registering an existing LDAP user: %s", got)
	}

	from := ` from='frank@example.org/x'`
	mt.Equal(t, authIQ(t, r, `<iq type='set' id='3'`+from+`>`+q+`<username>frank</username><password>frank-new</password>`+qEnd+`</iq>`),
		`<iq type='result' id='3' to='frank@example.org/x'/>`)
	if err := h.Store().CheckPassword(ctx, "frank@example.org", "frank-new"); err != nil {
		t.Fatalf("login with the changed password: %v", err)
	}
	mt.Equal(t, authIQ(t, r, `<iq type='set' id='4'`+from+`>`+q+`<remove/>`+qEnd+`</iq>`),
		`<iq type='result' id='4' to='frank@example.org/x'/>`)
	if out, err := srv.Ldapsearch(ctx, "(uid=frank)", "dn"); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("entry after removal: %q %v", out, err)
	}
}

func TestRegisterReadOnlyLDAP(t *testing.T) {
	srv := ldaptest.Start(t)
	h, _ := newLDAPHost(t, srv, false)
	m, _, _ := start(t, h, nil)
	mt.Equal(t, pre(t, m, "127.0.0.1:1", setLegacy("1", "frank", "frank-secret")),
		strings.ReplaceAll(errXML("1", "cancel", "not-allowed", "the directory does not accept changes"), "localhost", "example.org"))
}
