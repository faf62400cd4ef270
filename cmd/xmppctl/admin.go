package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/xmppd/xmppd/server"
)

// The commands in this file talk to the running server through its admin
// socket (server.admin_socket, by default <data_dir>/xmppd.sock): HTTP with
// JSON bodies, see server/admin.go.

// adminCall sends one request to the admin socket and decodes the answer
// into out.
func (e *env) adminCall(ctx context.Context, method, endpoint string, out any) error {
	path := e.cfg.AdminSocketPath()
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}}}
	defer hc.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://xmppd"+endpoint, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("server not running (no socket at %s)", path)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("server not running (nobody answers on %s)", path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("no access to %s: run xmppctl as the server's user", path)
	case err != nil:
		return fmt.Errorf("admin socket %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("admin socket %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var ae server.AdminError
		if json.Unmarshal(body, &ae) == nil && ae.Error != "" {
			return &adminError{code: resp.StatusCode, msg: ae.Error}
		}
		return &adminError{code: resp.StatusCode, msg: resp.Status}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("admin socket %s: %s %s: %w", path, method, endpoint, err)
	}
	return nil
}

// adminError is a refusal by the server (an answer other than 200).
type adminError struct {
	code int
	msg  string
}

func (e *adminError) Error() string { return e.msg }

// sessions prints the open client streams as a table.
func sessions(ctx context.Context, e *env, args []string) error {
	var list []server.SessionSummary
	if err := e.adminCall(ctx, http.MethodGet, server.AdminPathSessions, &list); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JID\tREMOTE\tVIA\tTLS\tSINCE")
	bound := 0
	for _, s := range list {
		if s.JID != "" {
			bound++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", orDash(s.JID), s.Remote, orDash(s.Via),
			yesNo(s.Secure), s.Since.UTC().Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d sessions, %d bound\n", len(list), bound)
	return nil
}

// stats prints the server's counters, with the multiplexor links and the
// directory cache when there are.
func stats(ctx context.Context, e *env, args []string) error {
	var st server.AdminStats
	if err := e.adminCall(ctx, http.MethodGet, server.AdminPathStats, &st); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "version\t%s\n", st.Version)
	fmt.Fprintf(tw, "started\t%s (up %s)\n", st.Started.UTC().Format(time.RFC3339), time.Since(st.Started).Round(time.Second))
	s := st.Server
	fmt.Fprintf(tw, "sessions\t%d\n", s.Sessions)
	fmt.Fprintf(tw, "accepted\t%d\n", s.Accepted)
	fmt.Fprintf(tw, "auth failures\t%d\n", s.AuthFailures)
	fmt.Fprintf(tw, "slow consumers\t%d\n", s.SlowConsumers)
	fmt.Fprintf(tw, "routed\t%d\n", s.Routed)
	fmt.Fprintf(tw, "offline stored\t%d\n", s.OfflineStored)
	clients := 0
	for _, l := range st.Mux {
		clients += l.Streams
	}
	fmt.Fprintf(tw, "mux links\t%d (%d clients)\n", len(st.Mux), clients)
	if d := st.Directory; d != nil {
		fmt.Fprintf(tw, "directory\t%s\n", d.Backend)
		fmt.Fprintf(tw, "cache hits\t%d\n", d.CacheHits)
		fmt.Fprintf(tw, "cache misses\t%d\n", d.CacheMisses)
		fmt.Fprintf(tw, "cache hit ratio\t%.1f%%\n", 100*d.HitRatio)
		fmt.Fprintf(tw, "ldap searches\t%d\n", d.Searches)
		fmt.Fprintf(tw, "ldap binds\t%d\n", d.Binds)
		fmt.Fprintf(tw, "ldap writes\t%d\n", d.Writes)
		fmt.Fprintf(tw, "ldap dials\t%d (%d failed)\n", d.Dials, d.DialErrors)
	} else {
		fmt.Fprintf(tw, "directory\t%s (no cache)\n", e.cfg.Directory.Backend)
	}
	return tw.Flush()
}

// muxLinks prints one line per connected multiplexor. Reconnections are
// counted by each multiplexor (xmppmux -stats), which sees its attempts.
func muxLinks(ctx context.Context, e *env, args []string) error {
	var ms server.MuxStatus
	if err := e.adminCall(ctx, http.MethodGet, server.AdminPathMux, &ms); err != nil {
		return err
	}
	if !ms.Enabled {
		fmt.Fprintln(e.stdout, "the multiplexor port is off (mux.listen is empty)")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREMOTE\tCLIENTS\tCLIENTS-TOTAL\tBYTES-IN\tBYTES-OUT\tSINCE")
	for _, l := range ms.Links {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", l.Name, l.Remote, l.Streams, l.StreamsTotal,
			l.BytesIn, l.BytesOut, l.Since.UTC().Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d links (configured peers: %d)\n", len(ms.Links), len(e.cfg.Mux.Peers))
	return nil
}

// directoryFlush empties the running server's directory cache, so that
// changes made in LDAP are seen at once (kill -HUP does the same).
func directoryFlush(ctx context.Context, e *env, args []string) error {
	var fr server.FlushResult
	err := e.adminCall(ctx, http.MethodPost, server.AdminPathFlush, &fr)
	var ae *adminError
	if errors.As(err, &ae) && ae.code == http.StatusConflict {
		return fmt.Errorf("directory flush: the server's directory has no cache (directory.backend = %q)", e.cfg.Directory.Backend)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "directory cache flushed (it had answered %d lookups, missed %d)\n", fr.Before.CacheHits, fr.Before.CacheMisses)
	return nil
}
