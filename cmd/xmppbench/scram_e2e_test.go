package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	asqlite "github.com/xmppd/xmppd/archive/sqlite"
	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory/embedded"
	"github.com/xmppd/xmppd/server"
)

// startXMPPD runs the real server in-process on a loopback port (no TLS,
// SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN offered) with accounts user1 and
// user2 (password "pw"), created through the directory API.
func startXMPPD(t *testing.T) string {
	t.Helper()
	cfg := conf.Default()
	cfg.Server.DataDir = t.TempDir()
	cfg.C2S.Listen = []string{"127.0.0.1:0"}
	cfg.C2S.DirectTLSListen = nil
	cfg.C2S.RequireTLS = false
	cfg.C2S.AllowPlainWithoutTLS = true
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	store, err := embedded.Open(filepath.Join(cfg.Server.DataDir, embedded.FileName), cfg.C2S.SCRAMIterations)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, u := range []string{"user1", "user2"} {
		if err := store.Create(ctx, u+"@localhost", "pw"); err != nil {
			t.Fatal(err)
		}
	}
	off, err := asqlite.Open(filepath.Join(cfg.Server.DataDir, asqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	w := server.Modules(cfg)
	srv, err := server.New(server.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Store: store, Offline: off, Modules: w.Modules, Presence: w.Presence, Register: w.Register})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		store.Close()
		off.Close()
	})
	return srv.Addrs()[0].String()
}

// oneLogin runs a login scenario of a single login (user1) and returns
// its step and run JSON lines.
func oneLogin(t *testing.T, addr string, args ...string) (step loginStep, run map[string]any) {
	t.Helper()
	b, out := testBench(t, addr, append([]string{"-scenario", "login", "-users", "2", "-rates", "1", "-step", "1s",
		"-hold", "10ms", "-arrivals", "uniform"}, args...)...)
	if err := b.runLogin(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(lines[0]), &step); err != nil {
		t.Fatalf("step line %q: %v", lines[0], err)
	}
	return step, lastJSON(t, out)
}

// TestSCRAMCacheAgainstXMPPD logs user1 in again and again against the
// real server: the second login with the right password takes the keys
// from the cache, a wrong password fails although the right one is
// cached, and -scram-cache=false (mellium's client) still logs in.
func TestSCRAMCacheAgainstXMPPD(t *testing.T) {
	addr := startXMPPD(t)
	type login struct {
		what         string
		args         []string
		ok           int64
		pbkdf2, hits float64
	}
	plan := []login{
		{"first login derives the keys", nil, 1, 1, 0},
		{"second login hits the cache", nil, 1, 0, 1},
		{"wrong password fails, cache or not", []string{"-password", "nope"}, 0, 1, 0},
		{"right password still cached", nil, 1, 0, 1},
		{"mellium's client without the cache", []string{"-scram-cache=false"}, 1, 1, 0},
	}
	for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-1"} {
		t.Run(mech, func(t *testing.T) {
			for _, l := range plan {
				st, run := oneLogin(t, addr, append([]string{"-mech", mech}, l.args...)...)
				if st.UsersStarted != 1 || st.LoginsOK != l.ok {
					t.Fatalf("%s: started %d ok %d, want 1 and %d (errors %v)", l.what, st.UsersStarted, st.LoginsOK, l.ok, st.Errors)
				}
				if l.ok == 0 && st.Errors["error_auth"] != 1 {
					t.Fatalf("%s: errors %v, want one error_auth", l.what, st.Errors)
				}
				if run["scram_pbkdf2"] != l.pbkdf2 || run["scram_cached"] != l.hits {
					t.Fatalf("%s: scram_pbkdf2=%v scram_cached=%v, want %v and %v", l.what,
						run["scram_pbkdf2"], run["scram_cached"], l.pbkdf2, l.hits)
				}
				if float64(st.ScramPBKDF2) != l.pbkdf2 || float64(st.ScramCached) != l.hits {
					t.Fatalf("%s: step scram %d/%d, want %v/%v", l.what, st.ScramPBKDF2, st.ScramCached, l.pbkdf2, l.hits)
				}
			}
		})
	}
}
