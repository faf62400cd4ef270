package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xmppd/xmppd/directory/ldap/ldaptest"
)

// lockedBuffer collects a child's standard error while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestXmppdBinarySignals runs the real xmppd binary on LDAP: xmppctl
// reaches it through the socket, SIGHUP flushes the directory cache (a
// repeated login is answered from the cache before, needs LDAP again
// after), SIGTERM removes the socket.
func TestXmppdBinarySignals(t *testing.T) {
	slapd := ldaptest.Start(t)
	bin := filepath.Join(t.TempDir(), "xmppd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/xmppd/xmppd/cmd/xmppd").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	path, cfg := writeConfig(t, ldapConfig(t, slapd, nil))
	var logs lockedBuffer
	cmd := exec.Command(bin, "-config", path)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	listening := regexp.MustCompile(`msg=listening addr=(\S+) direct_tls=false`)
	waitFor(t, "xmppd to start", func() bool { return bytes.Contains([]byte(logs.String()), []byte("xmppd started")) })
	addr := listening.FindStringSubmatch(logs.String())[1]
	ls := &liveServer{cfgPath: path, cfg: cfg}

	login := func(res string) (hits, misses int) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		xmppLogin(t, c, "alice@example.org", "alice-secret", res)
		return cacheCounters(t, ls)
	}
	h1, m1 := login("one")
	// The cache (ristretto) stores asynchronously inside xmppd, which this
	// test cannot wait for: a login right after the first can come before
	// its entries are visible. Log in again until one is answered from the
	// cache alone; a cache that never keeps anything still fails here.
	h2, m2 := h1, m1
	deadline := time.Now().Add(20 * time.Second)
	for n := 2; ; n++ {
		hp, mp := h2, m2
		h2, m2 = login(fmt.Sprintf("login%d", n))
		t.Logf("cache after login %d: %d hits, %d misses", n, h2, m2)
		if m2 == mp && h2 > hp {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no login answered from the cache alone in 20 s (%d logins; first: %d hits, %d misses)", n, h1, m1)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the SIGHUP log line", func() bool {
		return bytes.Contains([]byte(logs.String()), []byte(`msg="SIGHUP: directory cache flushed"`))
	})
	if _, m3 := login("three"); m3 <= m2 {
		t.Fatalf("login after SIGHUP: misses %d->%d; the cache was not flushed", m2, m3)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("xmppd exit: %v\n%s", err, logs.String())
	}
	if _, err := os.Lstat(cfg.AdminSocketPath()); !os.IsNotExist(err) {
		t.Errorf("socket left after SIGTERM: %v", err)
	}
	if code, _, errOut := ls.ctl("stats"); code != 1 || errOut != "xmppctl: server not running (no socket at "+cfg.AdminSocketPath()+")\n" {
		t.Errorf("stats after SIGTERM: exit %d, %q", code, errOut)
	}
}

// cacheCounters reads the cache hits and misses with xmppctl stats.
func cacheCounters(t *testing.T, ls *liveServer) (hits, misses int) {
	t.Helper()
	code, out, errOut := ls.ctl("stats")
	if code != 0 {
		t.Fatalf("stats: %s", errOut)
	}
	get := func(name string) int {
		m := regexp.MustCompile(`(?m)^` + name + ` +(\d+)$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %s in\n%s", name, out)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return get("cache hits"), get("cache misses")
}
