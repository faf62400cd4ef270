package server

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/mux/link"
)

// adminGet sends one request to the admin socket and decodes the JSON
// answer into out; it returns the status code.
func adminDo(t *testing.T, path, method, endpoint string, out any) int {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}}}
	defer c.CloseIdleConnections()
	req, err := http.NewRequest(method, "http://xmppd"+endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, endpoint, err, body)
		}
	}
	return resp.StatusCode
}

// dialMux opens one client stream through a multiplexor link named name,
// as xmppmux does for a client at remote.
func dialMux(t *testing.T, addr, name, secret string, remote *net.TCPAddr) *testClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := link.Handshake(c, 20*time.Second, name, secret); err != nil {
		t.Fatal(err)
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	sess, err := link.Client(c, link.DefaultTuning())
	if err != nil {
		t.Fatal(err)
	}
	st, err := link.Open(sess, link.Meta{Remote: remote, Local: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5222}})
	if err != nil {
		t.Fatal(err)
	}
	tc := &testClient{t: t, conn: st}
	tc.reset()
	return tc
}

func TestAdminSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "admin.sock")
	// Registered first, so it runs after the server's Shutdown.
	t.Cleanup(func() {
		if _, err := os.Lstat(sock); !os.IsNotExist(err) {
			t.Errorf("socket still there after Shutdown: %v", err)
		}
	})
	s := startServer(t, func(c *conf.Config) {
		c.Mux.Listen = "127.0.0.1:0"
		c.Mux.Peers = []conf.MuxPeer{{Name: "mux1", Secret: "s3cret"}}
	})
	ls, err := s.ListenMux()
	if err != nil {
		t.Fatal(err)
	}
	addrs := s.Addrs()
	muxAddr := addrs[len(addrs)-1].String()
	var flushes atomic.Int64
	hooks := AdminHooks{
		Mux:            ls.Stats,
		DirectoryStats: func() DirectoryStats { return DirectoryStats{Backend: "ldap", CacheHits: 7, CacheMisses: 3} },
		FlushDirectory: func() { flushes.Add(1) },
	}
	if err := s.ServeAdmin(sock, hooks); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi, err)
	}
	a := dialRaw(t, s.addr)
	a.login("alice", "pw", "desk")
	b := dialMux(t, muxAddr, "mux1", "s3cret", &net.TCPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 40001})
	b.login("bob", "pw", "phone")

	var sessions []SessionSummary
	if code := adminDo(t, sock, "GET", AdminPathSessions, &sessions); code != 200 || len(sessions) != 2 {
		t.Fatalf("sessions: %d %+v", code, sessions)
	}
	want := []SessionSummary{
		{JID: "alice@localhost/desk", Remote: a.conn.LocalAddr().String()},
		{JID: "bob@localhost/phone", Remote: "203.0.113.7:40001", Via: "mux1"},
	}
	for i, w := range want {
		g := sessions[i]
		if g.JID != w.JID || g.Remote != w.Remote || g.Via != w.Via || g.Secure || time.Since(g.Since) > time.Minute {
			t.Errorf("session %d: got %+v, want %+v", i, g, w)
		}
	}

	var st AdminStats
	if code := adminDo(t, sock, "GET", AdminPathStats, &st); code != 200 {
		t.Fatalf("stats: %d", code)
	}
	if st.Server.Sessions != 2 || st.Server.Accepted != 2 || st.Version != Version ||
		len(st.Mux) != 1 || st.Directory == nil || st.Directory.CacheHits != 7 {
		t.Errorf("stats: %+v", st)
	}

	var ms MuxStatus
	if code := adminDo(t, sock, "GET", AdminPathMux, &ms); code != 200 || !ms.Enabled || len(ms.Links) != 1 {
		t.Fatalf("mux: %d %+v", code, ms)
	}
	if l := ms.Links[0]; l.Name != "mux1" || l.Streams != 1 || l.StreamsTotal != 1 || l.BytesIn == 0 || l.BytesOut == 0 {
		t.Errorf("mux link: %+v", l)
	}

	var fr FlushResult
	if code := adminDo(t, sock, "POST", AdminPathFlush, &fr); code != 200 || !fr.Flushed || fr.Before.CacheMisses != 3 || flushes.Load() != 1 {
		t.Errorf("flush: %d %+v, %d flushes", code, fr, flushes.Load())
	}
	if code := adminDo(t, sock, "GET", AdminPathFlush, nil); code != http.StatusMethodNotAllowed || flushes.Load() != 1 {
		t.Errorf("GET flush: %d, %d flushes", code, flushes.Load())
	}
	if code := adminDo(t, sock, "GET", "/nothing", nil); code != http.StatusNotFound {
		t.Errorf("unknown endpoint: %d", code)
	}
	// A second server on the same socket is refused; the first keeps it.
	if err := s.ServeAdmin(sock, AdminHooks{}); err == nil || !strings.Contains(err.Error(), "another server is running") {
		t.Errorf("second ServeAdmin: %v", err)
	}
	if code := adminDo(t, sock, "GET", AdminPathSessions, &sessions); code != 200 {
		t.Errorf("first server lost its socket: %d", code)
	}
}

// TestAdminWithoutHooks: an embedded directory and no mux port.
func TestAdminWithoutHooks(t *testing.T) {
	s := startServer(t, nil)
	sock := filepath.Join(t.TempDir(), "admin.sock")
	if err := s.ServeAdmin(sock, AdminHooks{}); err != nil {
		t.Fatal(err)
	}
	var ms MuxStatus
	if code := adminDo(t, sock, "GET", AdminPathMux, &ms); code != 200 || ms.Enabled || ms.Links == nil {
		t.Errorf("mux: %d %+v", code, ms)
	}
	var st AdminStats
	if code := adminDo(t, sock, "GET", AdminPathStats, &st); code != 200 || st.Directory != nil || st.Mux != nil {
		t.Errorf("stats: %d %+v", code, st)
	}
	if code := adminDo(t, sock, "POST", AdminPathFlush, nil); code != http.StatusConflict {
		t.Errorf("flush without a cache: %d", code)
	}
}

func TestAdminSocketFile(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		wantErr string // "" for success
	}{
		{"absent", func(t *testing.T, path string) {}, ""},
		{"stale socket", func(t *testing.T, path string) {
			ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			ln.SetUnlinkOnClose(false)
			ln.Close()
		}, ""},
		{"regular file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "exists and is not a socket"},
		{"live socket", func(t *testing.T, path string) {
			ln, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
		}, "another server is running"},
		{"too long", nil, "longer than 107 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.sock")
			if tc.prepare == nil {
				path = filepath.Join(t.TempDir(), strings.Repeat("d", 120), "x.sock")
			} else {
				tc.prepare(t, path)
			}
			ln, err := listenAdmin(path)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if fi, err := os.Stat(path); err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
					t.Fatalf("socket: %v %v", fi, err)
				}
				if err := ln.Close(); err != nil {
					t.Fatal(err)
				}
				if _, err := os.Lstat(path); !os.IsNotExist(err) {
					t.Fatalf("socket left after Close: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			if tc.name == "regular file" {
				if b, _ := os.ReadFile(path); string(b) != "keep me" {
					t.Errorf("the file was touched: %q", b)
				}
			}
		})
	}
}
