// Command xmppd is the XMPP server. With no -config it runs on embedded
// defaults: domain localhost, data in ./data, c2s on 127.0.0.1:5222
// (STARTTLS) and 127.0.0.1:5223 (direct TLS).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only when server.pprof_listen is set
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"github.com/xmppd/xmppd/archive/sqlite"
	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/directory/cache"
	"github.com/xmppd/xmppd/directory/embedded"
	"github.com/xmppd/xmppd/mux/link"
	"github.com/xmppd/xmppd/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "xmppd:", err)
		os.Exit(1)
	}
}

func run() error {
	cfgPath := flag.String("config", "", "TOML configuration file (default: built-in defaults)")
	flag.Parse()
	cfg, err := conf.LoadOrDefault(*cfgPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Server.LogLevel)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(cfg.Server.GCPercent)
	}
	if err := os.MkdirAll(cfg.Server.DataDir, 0o700); err != nil {
		return err
	}
	emb, err := embedded.Open(filepath.Join(cfg.Server.DataDir, embedded.FileName), cfg.C2S.SCRAMIterations)
	if err != nil {
		return err
	}
	var store directory.Store = emb
	var ldapStore *cache.LDAPStore // nil with the embedded directory
	if cfg.Directory.Backend == "ldap" {
		// Accounts from LDAP behind the cache; rosters and private data
		// stay in the embedded store.
		ls, err := cache.OpenLDAP(cfg, emb)
		if err != nil {
			emb.Close()
			return err
		}
		store, ldapStore = ls, ls
	}
	defer store.Close()
	off, err := sqlite.Open(filepath.Join(cfg.Server.DataDir, sqlite.FileName))
	if err != nil {
		return err
	}
	defer off.Close()
	tlsConf, err := server.TLSConfig(cfg, log)
	if err != nil {
		return err
	}
	w := server.Modules(cfg)
	srv, err := server.New(server.Options{
		Config: cfg, Logger: log, Store: store, Offline: off, TLS: tlsConf,
		Modules: w.Modules, Presence: w.Presence, Register: w.Register,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := srv.Start(ctx); err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}
	links, err := srv.ListenMux()
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}
	if err := srv.ServeAdmin(cfg.AdminSocketPath(), adminHooks(links, ldapStore)); err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}
	defer onHangup(log, ldapStore)()
	if cfg.Server.PprofListen != "" {
		go func() {
			log.Info("pprof listening", "addr", cfg.Server.PprofListen)
			if err := http.ListenAndServe(cfg.Server.PprofListen, nil); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Warn("pprof stopped", "err", err)
			}
		}()
	}
	log.Info("xmppd started", "domains", cfg.Server.Domains, "version", server.Version)
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout.Duration)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown incomplete", "err", err)
	}
	log.Info("stopped")
	return nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by conf
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// adminHooks gives the admin socket (xmppctl) the multiplexor links and
// the directory cache; either may be nil.
func adminHooks(links *link.Server, ls *cache.LDAPStore) server.AdminHooks {
	var h server.AdminHooks
	if links != nil {
		h.Mux = links.Stats
	}
	if ls != nil {
		h.FlushDirectory = ls.Flush
		h.DirectoryStats = func() server.DirectoryStats {
			c, l := ls.Stats(), ls.LDAP.Stats()
			return server.DirectoryStats{
				Backend: "ldap", CacheHits: c.Hits, CacheMisses: c.Misses, HitRatio: c.Ratio(),
				Searches: l.Searches, Binds: l.Binds, Writes: l.Writes, Dials: l.Dials, DialErrors: l.DialErrs,
			}
		}
	}
	return h
}

// onHangup makes SIGHUP our reload: it flushes the directory cache, so
// changes made in LDAP are seen at once. The returned func stops it.
func onHangup(log *slog.Logger, ls *cache.LDAPStore) func() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				if ls == nil {
					log.Info("SIGHUP: nothing to reload (embedded directory, no cache)")
					continue
				}
				ls.Flush()
				log.Info("SIGHUP: directory cache flushed")
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}
