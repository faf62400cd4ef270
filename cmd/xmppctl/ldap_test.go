package main

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory/ldap"
	"github.com/xmppd/xmppd/directory/ldap/ldaptest"
)

// ldapConfig is liveConfig with the accounts of example.org in slapd.
func ldapConfig(t *testing.T, slapd *ldaptest.Server, edit func(*conf.LDAP)) *conf.Config {
	cfg := liveConfig(t)
	cfg.Directory.Backend = "ldap"
	cfg.Directory.LDAP = slapd.Config()
	if edit != nil {
		edit(&cfg.Directory.LDAP)
	}
	return cfg
}

// ctlCase is one xmppctl run: its exit status and regular expressions
// that lines of its output (stdout, or stderr when it fails) must match.
type ctlCase struct {
	args     string
	stdin    string
	wantCode int
	want     []string
}

func runCases(t *testing.T, cfgPath string, cases []ctlCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.args, func(t *testing.T) {
			var out, errOut strings.Builder
			code := run(append([]string{"-config", cfgPath}, strings.Fields(tc.args)...), strings.NewReader(tc.stdin), &out, &errOut)
			t.Logf("xmppctl %s: exit %d\n%s%s", tc.args, code, out.String(), errOut.String())
			got := out.String()
			if tc.wantCode != 0 {
				got = errOut.String()
			}
			if code != tc.wantCode || (tc.wantCode == 0 && errOut.Len() > 0) {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.wantCode, errOut.String())
			}
			for _, re := range tc.want {
				if !lineMatching(got, re) {
					t.Errorf("no line matches %s in\n%s", re, got)
				}
			}
		})
	}
}

// TestLDAPCommands: directory test, user show, user and group list read a
// real slapd; commands that write are refused while it is read-only.
func TestLDAPCommands(t *testing.T) {
	slapd := ldaptest.Start(t)
	path, _ := writeConfig(t, ldapConfig(t, slapd, nil))
	runCases(t, path, []ctlCase{
		{args: "directory test", want: []string{
			`^url +ldap://127\.0\.0\.1:\d+/?$`, `^encrypted +no$`,
			`^bind dn +cn=xmppd,ou=services,dc=example,dc=org$`,
			`^sample users +(\w+ ){4}\w+$`, `^groups +2$`, `^ok$`}},
		{args: "user show alice@example.org", want: []string{
			`^jid +alice@example.org$`, `^display name +Alice Liddell$`, `^mail +alice@example.org$`,
			`^groups +staff$`, `^prefs +language=en$`, `^backend +ldap$`}},
		{args: "user show eve@example.org", want: []string{`^groups +board$`, `^prefs +-$`}},
		{args: "user show nobody@example.org", wantCode: 1, want: []string{`^xmppctl: nobody@example.org: no such user$`}},
		{args: "user show al*@example.org", wantCode: 1, want: []string{`^xmppctl: `}},
		{args: "user list example.org", want: []string{`^alice@example.org$`, `^eve@example.org$`}},
		{args: "group list", want: []string{
			`^board: eve@example.org$`, `^staff: alice@example.org bob@example.org carol@example.org$`}},
		{args: "user add zed@example.org", stdin: "pw\n", wantCode: 1, want: []string{
			`^xmppctl: user add: the LDAP directory is read-only for xmppd \(directory.ldap.writable = false\)$`}},
		{args: "user del alice@example.org", wantCode: 1, want: []string{`read-only`}},
		{args: "group add staff dave@example.org", wantCode: 1, want: []string{`not supported with directory.backend = "ldap"`}},
	})

	bad, _ := writeConfig(t, ldapConfig(t, slapd, func(c *conf.LDAP) { c.BindPassword = "wrong" }))
	down, _ := writeConfig(t, ldapConfig(t, slapd, func(c *conf.LDAP) { c.URL = "ldap://127.0.0.1:1/" }))
	nobody, _ := writeConfig(t, ldapConfig(t, slapd, func(c *conf.LDAP) { c.UserBase = "ou=services,dc=example,dc=org" }))
	ldaps, _ := writeConfig(t, ldapConfig(t, slapd, func(c *conf.LDAP) { c.URL, c.CAFile = slapd.TLSURL, slapd.CAFile }))
	runCases(t, ldaps, []ctlCase{{args: "directory test", want: []string{`^url +ldaps://`, `^encrypted +yes$`, `^ok$`}}})
	runCases(t, bad, []ctlCase{{args: "directory test", wantCode: 1, want: []string{`service bind as "cn=xmppd,ou=services,dc=example,dc=org"`}}})
	runCases(t, down, []ctlCase{{args: "directory test", wantCode: 1, want: []string{`^xmppctl: directory test: ldap://127.0.0.1:1/: `}}})
	runCases(t, nobody, []ctlCase{{args: "directory test", wantCode: 1, want: []string{`the user filter matches nobody under "ou=services,dc=example,dc=org"`}}})
}

// TestLDAPWritable: with directory.ldap.writable the user commands create,
// re-password and delete LDAP entries (checked with OpenLDAP's ldapsearch).
func TestLDAPWritable(t *testing.T) {
	slapd := ldaptest.Start(t)
	path, cfg := writeConfig(t, ldapConfig(t, slapd, func(c *conf.LDAP) { c.Writable = true }))
	runCases(t, path, []ctlCase{
		{args: "user add zed@example.org", stdin: "zed-secret\n", want: []string{`^created zed@example.org$`}},
		{args: "user add alice@example.org", stdin: "x\n", wantCode: 1, want: []string{`alice@example.org exists already`}},
		{args: "user passwd zed@example.org", stdin: "zed-new\n", want: []string{`^password of zed@example.org changed$`}},
	})
	ctx := context.Background()
	out, err := slapd.Ldapsearch(ctx, "(uid=zed)", "uid", "objectClass")
	if err != nil || !strings.Contains(out, "dn: uid=zed,ou=people,dc=example,dc=org") || !strings.Contains(out, "inetOrgPerson") {
		t.Fatalf("ldapsearch: %v\n%s", err, out)
	}
	b, err := ldap.New(cfg.Directory.LDAP, cfg.Server.Domains)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.CheckPassword(ctx, "zed@example.org", "zed-new"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	runCases(t, path, []ctlCase{
		{args: "user show zed@example.org", want: []string{`^display name +zed$`}},
		{args: "user del zed@example.org", want: []string{`^deleted zed@example.org$`}},
		{args: "user del zed@example.org", wantCode: 1, want: []string{`no such user`}},
	})
	if out, err := slapd.Ldapsearch(ctx, "(uid=zed)", "uid"); err != nil || strings.Contains(out, "uid=zed") {
		t.Fatalf("zed still there: %v\n%s", err, out)
	}
}

// TestLDAPDirectoryFlush: xmppctl directory flush, through the admin
// socket, empties the running server's cache: a lookup the cache answered
// without LDAP needs a search again afterwards.
func TestLDAPDirectoryFlush(t *testing.T) {
	slapd := ldaptest.Start(t)
	s := startLive(t, ldapConfig(t, slapd, nil))
	ctx := context.Background()
	lookup := func() int64 {
		t.Helper()
		if u, err := s.ldap.User(ctx, "alice@example.org"); err != nil || u.DisplayName != "Alice Liddell" {
			t.Fatalf("lookup: %+v %v", u, err)
		}
		s.ldap.Wait() // ristretto stores asynchronously
		return s.ldap.LDAP.Stats().Searches
	}
	first := lookup()
	if again := lookup(); again != first {
		t.Fatalf("cached lookup sent %d searches", again-first)
	}
	runCases(t, s.cfgPath, []ctlCase{
		{args: "stats", want: []string{`^directory +ldap$`, `^cache hits +1$`, `^cache misses +1$`,
			`^ldap searches +` + itoa(first) + `$`}},
		{args: "directory flush", want: []string{`^directory cache flushed \(it had answered 1 lookups, missed 1\)$`}},
	})
	if after := lookup(); after <= first {
		t.Fatalf("after the flush the lookup was still answered from the cache (%d searches, %d before)", after, first)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
