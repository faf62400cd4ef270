// Command xmppmux is the XMPP multiplexor: it accepts client connections
// and carries them to xmppd over one authenticated link (see package mux
// and docs/mux-protocol.md).
//
//	xmppmux -config xmppmux.toml      run
//	xmppmux -config xmppmux.toml -check   validate the config and exit
//	xmppmux -stats 127.0.0.1:15280    print a running multiplexor's counters
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/xmppd/xmppd/mux"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "xmppmux:", err)
		os.Exit(1)
	}
}

func run() error {
	cfgPath := flag.String("config", "", "TOML configuration file (required to run)")
	check := flag.Bool("check", false, "validate the configuration and exit")
	stats := flag.String("stats", "", "print the counters of the multiplexor whose [stats] listen is `ADDR`, and exit")
	flag.Parse()
	if *stats != "" {
		return printStats(*stats)
	}
	if *cfgPath == "" {
		return fmt.Errorf("-config is required")
	}
	cfg, err := mux.Load(*cfgPath)
	if err != nil {
		return err
	}
	if *check {
		fmt.Println("configuration ok")
		return nil
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.Mux.LogLevel)); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	m, err := mux.New(cfg, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.Info("xmppmux started", "name", cfg.Mux.Name, "server", cfg.Mux.Server,
		"plain", m.PlainAddrs(), "tls", m.TLSAddrs())
	if err := m.Run(ctx); err != nil {
		return err
	}
	log.Info("xmppmux stopped")
	return nil
}

func printStats(addr string) error {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/stats")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("stats: %s", resp.Status)
	}
	_, err = io.Copy(os.Stdout, resp.Body)
	return err
}
