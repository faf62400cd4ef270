package ldap_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory/cache"
	"github.com/xmppd/xmppd/directory/embedded"
	"github.com/xmppd/xmppd/directory/ldap/ldaptest"
	"github.com/xmppd/xmppd/server"
	"github.com/xmppd/xmppd/xmpp/module/moduletest"
)

// e2e is xmppd (in process, STARTTLS required) on an LDAP directory behind
// the cache, with rosters in the embedded store and registration on.
type e2e struct {
	srv   *ldaptest.Server
	store *cache.LDAPStore
	port  string
	ca    string
}

func startE2E(t *testing.T) *e2e {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatalf("python3 with python3-slixmpp is needed (apt-get install -y python3-slixmpp)")
	}
	if out, err := exec.Command("/usr/bin/python3", "-c", "import slixmpp").CombinedOutput(); err != nil {
		t.Fatalf("python3-slixmpp is needed (apt-get install -y python3-slixmpp): %v %s", err, out)
	}
	e := &e2e{srv: ldaptest.Start(t)}
	cfg := conf.Default()
	cfg.Server.Domains = []string{ldaptest.Domain}
	cfg.Server.DataDir = t.TempDir()
	cfg.C2S.Listen = []string{"127.0.0.1:0"}
	cfg.C2S.DirectTLSListen = nil
	cfg.Directory.Backend = "ldap"
	cfg.Directory.LDAP = e.srv.Config()
	cfg.Directory.LDAP.Writable = true
	cfg.Registration.Enabled = true
	cfg.Registration.MinPasswordLength = 6
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	emb, err := embedded.Open(filepath.Join(cfg.Server.DataDir, embedded.FileName), 4096)
	if err != nil {
		t.Fatal(err)
	}
	if e.store, err = cache.OpenLDAP(cfg, emb); err != nil {
		t.Fatal(err)
	}
	tlsConf, err := server.TLSConfig(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	e.ca = filepath.Join(cfg.Server.DataDir, "tls", ldaptest.Domain+".crt")
	w := server.Modules(cfg) // with registration enabled, it includes xmpp/register
	s, err := server.New(server.Options{Config: cfg, Logger: log, Store: e.store, Offline: moduletest.NewOffline(),
		TLS: tlsConf, Modules: w.Modules, Presence: w.Presence, Register: w.Register})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		e.store.Close()
	})
	_, e.port, _ = net.SplitHostPort(s.Addrs()[0].String())
	return e
}

// client runs testdata/ldap/ldapclient.py and returns its output lines.
func (e *e2e) client(t *testing.T, cmd, jid, password string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "/usr/bin/python3", filepath.Join(ldaptest.TestdataDir(), "ldapclient.py"),
		"--port", e.port, "--cafile", e.ca, "--jid", jid, "--password", password, cmd).CombinedOutput()
	t.Logf("ldapclient.py %s %s:\n%s", cmd, jid, out)
	return string(out)
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w+"\n") {
			t.Fatalf("no line %q in client output:\n%s", w, out)
		}
	}
}

// TestSlixmppLDAP drives xmppd with slixmpp: logins with LDAP passwords,
// refusals, registration into LDAP and the outage behaviour.
func TestSlixmppLDAP(t *testing.T) {
	e := startE2E(t)
	logins := []struct{ name, jid, password, want string }{
		{"ldap password", "alice@example.org", "alice-secret", "LOGIN-OK alice@example.org PLAIN"},
		{"user in a sub-ou", "dave@example.org", "dave-secret", "LOGIN-OK dave@example.org PLAIN"},
		{"wrong password", "alice@example.org", "bob-secret", "LOGIN-FAIL alice@example.org not-authorized"},
		{"unknown user", "zed@example.org", "zed-secret", "LOGIN-FAIL zed@example.org not-authorized"},
		{"star", "*@example.org", "alice-secret", "LOGIN-FAIL *@example.org not-authorized"},
		{"filter injection", "alice)(uid=*@example.org", "alice-secret", "LOGIN-FAIL alice)(uid=*@example.org not-authorized"},
		{"backslash", `\2a@example.org`, "alice-secret", `LOGIN-FAIL \2a@example.org not-authorized`},
	}
	for _, tc := range logins {
		t.Run(tc.name, func(t *testing.T) {
			before := e.store.LDAP.Stats().Entries
			out := e.client(t, "login", tc.jid, tc.password)
			wantLines(t, out, tc.want)
			if strings.HasPrefix(tc.want, "LOGIN-FAIL") && tc.name != "wrong password" {
				if n := e.store.LDAP.Stats().Entries - before; n != 0 {
					t.Fatalf("the refused login returned %d LDAP entries", n)
				}
			}
		})
	}

	t.Run("shared group roster", func(t *testing.T) {
		// alice, bob and carol are in the groupOfNames "staff": each sees
		// the others under the group's name, without having added them.
		out := e.client(t, "login", "alice@example.org", "alice-secret")
		wantLines(t, out, "ROSTER alice@example.org bob@example.org group=staff",
			"ROSTER alice@example.org carol@example.org group=staff")
		if strings.Contains(out, "eve@example.org") || strings.Contains(out, "dave@example.org") {
			t.Fatalf("members of groups alice is not in appear in her roster:\n%s", out)
		}
	})

	t.Run("registration", func(t *testing.T) {
		out := e.client(t, "register", "frank@example.org", "frank-secret")
		wantLines(t, out, "REGISTERED frank@example.org", "LOGIN-OK frank@example.org PLAIN")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ldif, err := e.srv.Ldapsearch(ctx, "(uid=frank)", "uid", "objectClass")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(ldif, "dn: uid=frank,ou=people,dc=example,dc=org") || !strings.Contains(ldif, "objectClass: inetOrgPerson") {
			t.Fatalf("ldapsearch after registration:\n%s", ldif)
		}
		wantLines(t, e.client(t, "register", "alice@example.org", "whatever-pw"), "REGISTER-FAIL alice@example.org conflict")
	})

	t.Run("outage", func(t *testing.T) {
		e.srv.Kill(t)
		wantLines(t, e.client(t, "login", "bob@example.org", "bob-secret"), "LOGIN-FAIL bob@example.org temporary-auth-failure")
		e.srv.Restart(t)
		deadline := time.Now().Add(20 * time.Second)
		for {
			out := e.client(t, "login", "bob@example.org", "bob-secret")
			if strings.Contains(out, "LOGIN-OK bob@example.org PLAIN\n") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no login after slapd restarted:\n%s", out)
			}
		}
	})
}
