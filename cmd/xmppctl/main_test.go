package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xmppd/xmppd/archive/sqlite"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/directory/embedded"
)

// testConfig writes a config with a temporary data directory hosting
// localhost and example.org, and returns its path and the data directory.
func testConfig(t *testing.T, extra string) (cfg, data string) {
	t.Helper()
	dir := t.TempDir()
	data = filepath.Join(dir, "data")
	cfg = filepath.Join(dir, "xmppd.toml")
	text := fmt.Sprintf("[server]\ndomains = [\"localhost\", \"example.org\"]\ndata_dir = %q\n%s", data, extra)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, data
}

type step struct {
	args       string // split on spaces
	stdin      string
	wantCode   int
	wantOut    string // a substring of standard output ("" for any)
	wantErr    string // a substring of standard error ("" for none)
	exactLines []string
}

func runSteps(t *testing.T, cfg string, steps []step) {
	t.Helper()
	for _, s := range steps {
		t.Run(s.args, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"-config", cfg}, strings.Fields(s.args)...)
			code := run(args, strings.NewReader(s.stdin), &out, &errOut)
			if code != s.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, s.wantCode, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), s.wantOut) {
				t.Errorf("stdout %q does not contain %q", out.String(), s.wantOut)
			}
			if s.wantErr == "" && errOut.Len() > 0 || !strings.Contains(errOut.String(), s.wantErr) {
				t.Errorf("stderr %q, want %q", errOut.String(), s.wantErr)
			}
			if s.wantCode != 0 && !strings.HasPrefix(errOut.String(), "xmppctl: ") {
				t.Errorf("error output %q does not start with xmppctl:", errOut.String())
			}
			if s.exactLines != nil {
				got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
				if out.Len() == 0 {
					got = []string{}
				}
				if !slices.Equal(got, s.exactLines) {
					t.Errorf("stdout lines %q, want %q", got, s.exactLines)
				}
			}
		})
	}
}

func TestUserCommands(t *testing.T) {
	cfg, data := testConfig(t, "")
	runSteps(t, cfg, []step{
		{args: "user add Juliet@LocalHost", stdin: "balcony\n", wantOut: "created juliet@localhost"},
		{args: "user add romeo@example.org", stdin: "montague", wantOut: "created romeo@example.org"},
		{args: "user add nurse@localhost", stdin: "secret\r\n", wantOut: "created"},
		{args: "user add juliet@localhost", stdin: "x\n", wantCode: 1, wantErr: "juliet@localhost exists already"},
		{args: "user add tybalt@localhost/sword", stdin: "x\n", wantCode: 1, wantErr: "has a resource"},
		{args: "user add tybalt@verona.lit", stdin: "x\n", wantCode: 1, wantErr: "verona.lit is not hosted here"},
		{args: "user add localhost", stdin: "x\n", wantCode: 1, wantErr: "has no localpart"},
		{args: "user add a@b@localhost", stdin: "x\n", wantCode: 1, wantErr: "not a valid JID"},
		{args: "user add tybalt@localhost", stdin: "", wantCode: 1, wantErr: "no password on standard input"},
		{args: "user add tybalt@localhost", stdin: "\n", wantCode: 1, wantErr: "empty password"},
		{args: "user add", wantCode: 1, wantErr: "missing arguments"},
		{args: "user add a@localhost b@localhost", wantCode: 1, wantErr: "too many arguments"},
		{args: "user list", exactLines: []string{"juliet@localhost", "nurse@localhost", "romeo@example.org"}},
		{args: "user list localhost", exactLines: []string{"juliet@localhost", "nurse@localhost"}},
		{args: "user list EXAMPLE.ORG", exactLines: []string{"romeo@example.org"}},
		{args: "user list verona.lit", wantCode: 1, wantErr: "not hosted"},
		{args: "user passwd juliet@localhost", stdin: "nightingale\n", wantOut: "password of juliet@localhost changed"},
		{args: "user passwd tybalt@localhost", stdin: "x\n", wantCode: 1, wantErr: "tybalt@localhost: no such user"},
		{args: "user del nurse@localhost", wantOut: "deleted nurse@localhost"},
		{args: "user del nurse@localhost", wantCode: 1, wantErr: "no such user"},
		{args: "user list localhost", exactLines: []string{"juliet@localhost"}},
		{args: "user frobnicate", wantCode: 1, wantErr: `unknown command "user frobnicate"`},
	})
	db, err := embedded.Open(filepath.Join(data, embedded.FileName), 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.CheckPassword(ctx, "juliet@localhost", "nightingale"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if err := db.CheckPassword(ctx, "romeo@example.org", "montague"); err != nil {
		t.Errorf("password without a final newline: %v", err)
	}
	if err := db.CheckPassword(ctx, "juliet@localhost", "balcony"); !errors.Is(err, directory.ErrBadPassword) {
		t.Errorf("old password still works: %v", err)
	}
}

// TestUserDelOffline: deleting an account empties its offline queue and
// leaves the other accounts' queues alone.
func TestUserDelOffline(t *testing.T) {
	cfg, data := testConfig(t, "")
	runSteps(t, cfg, []step{
		{args: "user add juliet@localhost", stdin: "pw\n", wantOut: "created"},
		{args: "user add romeo@localhost", stdin: "pw\n", wantOut: "created"},
	})
	arch, err := sqlite.Open(filepath.Join(data, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer arch.Close()
	ctx := context.Background()
	for _, u := range []string{"juliet@localhost", "romeo@localhost"} {
		if err := arch.Store(ctx, u, []byte("<message/>"), 10); err != nil {
			t.Fatal(err)
		}
	}
	runSteps(t, cfg, []step{{args: "user del juliet@localhost", wantOut: "deleted"}})
	for u, want := range map[string]int{"juliet@localhost": 0, "romeo@localhost": 1} {
		if n, err := arch.Count(ctx, u); err != nil || n != want {
			t.Errorf("%s: %d offline messages, %v; want %d", u, n, err, want)
		}
	}
}

func TestGroupCommands(t *testing.T) {
	cfg, _ := testConfig(t, "")
	runSteps(t, cfg, []step{
		{args: "user add juliet@localhost", stdin: "pw\n", wantOut: "created"},
		{args: "group add Capulets juliet@localhost", wantOut: "group Capulets: added 1"},
		{args: "group add Verona juliet@localhost romeo@example.org", wantOut: "added 2",
			wantErr: "warning: romeo@example.org has no account"},
		{args: "group add Verona mercutio@verona.lit", wantCode: 1, wantErr: "not hosted"},
		{args: "group add Verona", wantCode: 1, wantErr: "missing arguments"},
		{args: "group list", exactLines: []string{"Capulets: juliet@localhost", "Verona: juliet@localhost romeo@example.org"}},
		{args: "group list example.org", exactLines: []string{"Verona: juliet@localhost romeo@example.org"}},
		{args: "group del Verona romeo@example.org", wantOut: "removed 1"},
		{args: "group del Verona romeo@example.org", wantCode: 1, wantErr: "has none of romeo@example.org"},
		{args: "group list example.org", exactLines: []string{}},
	})
}

func TestImport(t *testing.T) {
	cfg, data := testConfig(t, "")
	dir := filepath.Dir(cfg)
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var good strings.Builder
	good.WriteString("# accounts for the test\n\n")
	for i := range 200 {
		fmt.Fprintf(&good, "user%d;pw;%d\n", i, i)
	}
	good.WriteString("Juliet@Example.org;balcony\r\n")
	goodFile := write("good.txt", good.String())
	badFile := write("bad.txt", "ok1;pw\nno-password\nx@verona.lit;pw\nok1;again\nok2/res;pw\n")
	runSteps(t, cfg, []step{
		{args: "user add user7@localhost", stdin: "mine\n", wantOut: "created"},
		{args: "user import " + badFile, wantCode: 1,
			wantErr: "line 2: want localpart-or-jid;password"},
		{args: "user import " + badFile, wantCode: 1, wantErr: "line 3: \"x@verona.lit\": domain verona.lit is not hosted"},
		{args: "user import " + badFile, wantCode: 1, wantErr: "line 4: ok1@localhost already given on line 1"},
		{args: "user list", exactLines: []string{"user7@localhost"}},
		{args: "user import " + goodFile, wantOut: "imported 200 accounts, 1 existed already",
			wantErr: "user7@localhost exists already, left unchanged"},
		{args: "user import -", stdin: "late;pw\n", wantOut: "imported 1 accounts, 0 existed already"},
		{args: "user import " + filepath.Join(dir, "missing.txt"), wantCode: 1, wantErr: "missing.txt"},
	})
	db, err := embedded.Open(filepath.Join(data, embedded.FileName), 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	users, err := db.List(ctx, "localhost")
	if err != nil || len(users) != 201 {
		t.Fatalf("%d accounts on localhost, %v", len(users), err)
	}
	checks := map[string]string{
		"user0@localhost":    "pw;0", // the password runs to the end of the line
		"user199@localhost":  "pw;199",
		"user7@localhost":    "mine", // left unchanged
		"juliet@example.org": "balcony",
		"late@localhost":     "pw",
	}
	for u, pw := range checks {
		if err := db.CheckPassword(ctx, u, pw); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestLDAPBackend(t *testing.T) {
	cfg, _ := testConfig(t, `[directory]
backend = "ldap"
[directory.ldap]
url = "ldap://127.0.0.1:1"
user_base = "ou=people,dc=example,dc=org"
`)
	var steps []step
	for _, c := range commands {
		if c.embeddedOnly {
			args := c.name + strings.Repeat(" x@localhost", c.minArgs)
			steps = append(steps, step{args: args, stdin: "pw\n", wantCode: 1,
				wantErr: c.name + `: not supported with directory.backend = "ldap" yet`})
		}
	}
	runSteps(t, cfg, steps)
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"no command", nil, 1, "", "xmppctl: no command given\nusage: xmppctl"},
		{"help", []string{"help"}, 0, "user import FILE", ""},
		{"-h", []string{"-h"}, 0, "group add GROUP JID...", ""},
		{"bad flag", []string{"-frob"}, 1, "", "xmppctl: flag provided but not defined: -frob"},
		{"unknown", []string{"room", "add"}, 1, "", `xmppctl: unknown command "room add"`},
		{"missing config", []string{"-config", "/nonexistent/xmppd.toml", "user", "list"}, 1, "", "xmppctl: conf: open /nonexistent/xmppd.toml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, strings.NewReader(""), &out, &errOut)
			if code != tc.wantCode || !strings.Contains(out.String(), tc.wantOut) ||
				!strings.HasPrefix(errOut.String(), tc.wantErr) {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
			}
		})
	}
}

// TestDefaultConfig runs without -config, as next to `make run`: the data
// lands in ./data.
func TestDefaultConfig(t *testing.T) {
	t.Chdir(t.TempDir())
	var out, errOut bytes.Buffer
	if code := run([]string{"user", "add", "admin@localhost"}, strings.NewReader("pw\n"), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if _, err := os.Stat(filepath.Join("data", embedded.FileName)); err != nil {
		t.Fatalf("no ./data/%s: %v", embedded.FileName, err)
	}
}
