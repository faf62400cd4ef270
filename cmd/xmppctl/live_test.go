package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/xmppd/xmppd/archive/sqlite"
	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/directory/cache"
	"github.com/xmppd/xmppd/directory/embedded"
	"github.com/xmppd/xmppd/server"
)

// liveConfig returns a configuration for an in-process server on loopback
// without TLS (PLAIN in the clear), hosting localhost and example.org, with
// its data in a temporary directory.
func liveConfig(t *testing.T) *conf.Config {
	cfg := conf.Default()
	cfg.Server.Domains = []string{"localhost", "example.org"}
	cfg.Server.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.C2S.Listen = []string{"127.0.0.1:0"}
	cfg.C2S.DirectTLSListen = []string{}
	cfg.C2S.RequireTLS = false
	cfg.C2S.AllowPlainWithoutTLS = true
	return cfg
}

// writeConfig writes cfg as TOML and loads it back, so that xmppctl and
// the test server read the very same file.
func writeConfig(t *testing.T, cfg *conf.Config) (string, *conf.Config) {
	t.Helper()
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "xmppd.toml")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := conf.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, loaded
}

// liveServer is an xmppd running in the test process, wired as cmd/xmppd
// wires it: admin socket, mux port, LDAP behind the cache when configured.
type liveServer struct {
	*server.Server
	cfgPath string
	cfg     *conf.Config
	c2s     string
	mux     string           // "" when the mux port is off
	ldap    *cache.LDAPStore // nil with the embedded directory
	stop    func()
}

func startLive(t *testing.T, cfg *conf.Config, users ...string) *liveServer {
	t.Helper()
	path, cfg := writeConfig(t, cfg)
	ls := &liveServer{cfgPath: path, cfg: cfg}
	if err := os.MkdirAll(cfg.Server.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	emb, err := embedded.Open(cfg.DataPath(embedded.FileName), cfg.C2S.SCRAMIterations)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, u := range users {
		if err := emb.Create(ctx, u, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	var store directory.Store = emb
	if cfg.Directory.Backend == "ldap" {
		if ls.ldap, err = cache.OpenLDAP(cfg, emb); err != nil {
			t.Fatal(err)
		}
		store = ls.ldap
	}
	off, err := sqlite.Open(cfg.DataPath(sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	w := server.Modules(cfg)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(server.Options{Config: cfg, Logger: log, Store: store, Offline: off,
		Modules: w.Modules, Presence: w.Presence, Register: w.Register})
	if err != nil {
		t.Fatal(err)
	}
	ls.Server = srv
	var once sync.Once
	ls.stop = func() {
		once.Do(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			store.Close()
			off.Close()
		})
	}
	t.Cleanup(ls.stop)
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ls.c2s = srv.Addrs()[0].String()
	links, err := srv.ListenMux()
	if err != nil {
		t.Fatal(err)
	}
	hooks := server.AdminHooks{}
	if links != nil {
		addrs := srv.Addrs()
		ls.mux = addrs[len(addrs)-1].String()
		hooks.Mux = links.Stats
	}
	if ls.ldap != nil {
		hooks.FlushDirectory = ls.ldap.Flush
		hooks.DirectoryStats = func() server.DirectoryStats {
			c, l := ls.ldap.Stats(), ls.ldap.LDAP.Stats()
			return server.DirectoryStats{Backend: "ldap", CacheHits: c.Hits, CacheMisses: c.Misses,
				HitRatio: c.Ratio(), Searches: l.Searches, Binds: l.Binds, Writes: l.Writes,
				Dials: l.Dials, DialErrors: l.DialErrs}
		}
	}
	if err := srv.ServeAdmin(cfg.AdminSocketPath(), hooks); err != nil {
		t.Fatal(err)
	}
	return ls
}

// ctl runs xmppctl in-process with the server's configuration and returns
// its exit status, standard output and standard error.
func (ls *liveServer) ctl(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(append([]string{"-config", ls.cfgPath}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// xmppLogin opens a client stream on c, logs in with SASL PLAIN (no TLS
// in these tests) and binds resource res.
func xmppLogin(t *testing.T, c net.Conn, user, pw, res string) {
	t.Helper()
	domain := user[strings.IndexByte(user, '@')+1:]
	if err := c.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	open := func() *xml.Decoder {
		fmt.Fprintf(c, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='%s' version='1.0'>", domain)
		dec := xml.NewDecoder(c)
		expectElement(t, dec, "stream", false)
		expectElement(t, dec, "features", true)
		return dec
	}
	dec := open()
	auth := base64.StdEncoding.EncodeToString([]byte("\x00" + user[:strings.IndexByte(user, '@')] + "\x00" + pw))
	fmt.Fprintf(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>", auth)
	expectElement(t, dec, "success", true)
	dec = open()
	fmt.Fprintf(c, "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>%s</resource></bind></iq>", res)
	expectElement(t, dec, "iq", true)
	if err := c.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
}

// expectElement reads the next start element, which must be local, and
// skips its content when skip is set.
func expectElement(t *testing.T, dec *xml.Decoder, local string, skip bool) {
	t.Helper()
	for {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("waiting for <%s>: %v", local, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Local != local {
			t.Fatalf("got <%s>, want <%s>", se.Name.Local, local)
		}
		if skip {
			if err := dec.Skip(); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}
