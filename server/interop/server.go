package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Account is one user the server under test must know before it starts.
type Account struct {
	JID      string // bare JID, localpart@localhost
	Password string
}

// Local returns the localpart of the account's JID.
func (a Account) Local() string { l, _, _ := strings.Cut(a.JID, "@"); return l }

// Domain is the one domain every test uses.
const Domain = "localhost"

// StopTimeout bounds the time between SIGTERM and the exit of the server.
const StopTimeout = 20 * time.Second

// Server is a running server under test.
type Server struct {
	// C2S is the STARTTLS client port, DirectTLS the XEP-0368 one.
	C2S, DirectTLS string
	// Mech is the SCRAM mechanism clients must end up using.
	Mech string
	// Dir is the server's private directory (config, data, log).
	Dir string

	kind string
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
	err  error // exit status, valid once done is closed
}

// Start creates the accounts, starts a fresh server in its own temporary
// directory and registers its stop (SIGTERM, exit 0 within StopTimeout) with
// t.Cleanup. Bulk creates the accounts with one import instead of one
// "user add" per account. A server that exits because another process took
// one of its ports in the meantime (see freePorts) is started again, in a
// fresh directory on fresh ports.
func (h *Harness) Start(t testing.TB, accounts []Account, bulk bool) *Server {
	t.Helper()
	const attempts = 3
	for attempt := 1; ; attempt++ {
		s, err := h.tryStart(t, accounts, bulk)
		if err == nil {
			return s
		}
		if attempt == attempts || !errors.Is(err, errPortTaken) {
			t.Fatal(err)
		}
		t.Logf("interop: attempt %d: %v; starting again on other ports", attempt, err)
	}
}

// errPortTaken: the server exited at once because a port was in use.
var errPortTaken = errors.New("port taken before the server could bind it")

func (h *Harness) tryStart(t testing.TB, accounts []Account, bulk bool) (*Server, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	s := &Server{
		C2S:       ports[0],
		DirectTLS: ports[1],
		Dir:       t.TempDir(),
		kind:      h.Kind,
		log:       &syncBuffer{},
		done:      make(chan struct{}),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	switch h.Kind {
	case KindProsody:
		s.Mech = "SCRAM-SHA-1" // Prosody 0.12 has no SCRAM-SHA-256
		err = h.prepareProsody(ctx, s, accounts)
	default:
		s.Mech = "SCRAM-SHA-256"
		err = h.prepareXMPPD(ctx, s, accounts, bulk)
	}
	if err != nil {
		return nil, err
	}
	if err := s.start(); err != nil {
		return nil, err
	}
	err = s.waitReady(ctx)
	if err != nil && s.exited() && strings.Contains(strings.ToLower(s.Log()), "address already in use") {
		return nil, fmt.Errorf("%w: %v\nserver log:\n%s", errPortTaken, err, tail(s.Log(), 20))
	}
	t.Cleanup(func() { s.stop(t) })
	if err != nil {
		return nil, fmt.Errorf("%v\nserver log:\n%s", err, s.Log())
	}
	return s, nil
}

// exited reports whether the server process has ended.
func (s *Server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Log returns what the server wrote so far.
func (s *Server) Log() string { return s.log.String() }

func (s *Server) start() error {
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	// its own process group, so that nothing it spawns outlives the test
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("interop: start %s: %w", s.kind, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	return nil
}

// waitReady polls both client ports until they accept connections, and
// fails early when the server exits.
func (s *Server) waitReady(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for _, addr := range []string{s.C2S, s.DirectTLS} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-s.done:
				return fmt.Errorf("interop: %s exited before listening on %s: %v", s.kind, addr, s.err)
			case <-ctx.Done():
				return fmt.Errorf("interop: %s not listening on %s: %w", s.kind, addr, ctx.Err())
			case <-tick.C:
			}
		}
	}
	return nil
}

// stop sends SIGTERM and requires a clean exit within StopTimeout.
func (s *Server) stop(t testing.TB) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("interop: SIGTERM %s: %v", s.kind, err)
	}
	select {
	case <-s.done:
		if s.err != nil {
			t.Errorf("interop: %s did not exit cleanly on SIGTERM: %v", s.kind, s.err)
		}
	case <-time.After(StopTimeout):
		t.Errorf("interop: %s still running %s after SIGTERM; killing it", s.kind, StopTimeout)
		if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			t.Errorf("interop: kill %s: %v", s.kind, err)
		}
		<-s.done
	}
	if t.Failed() {
		t.Logf("%s log (%s):\n%s", s.kind, s.Dir, tail(s.Log(), 200))
	}
}

// freePorts reserves n loopback ports by listening on :0. They are released
// before the server binds them; on a shared machine another process could
// take one in between, which makes the server exit at once: Start then
// tries again on other ports.
func freePorts(n int) ([]string, error) {
	var addrs []string
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("interop: free port: %w", err)
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// prepareXMPPD writes the config and creates the accounts with xmppctl.
func (h *Harness) prepareXMPPD(ctx context.Context, s *Server, accounts []Account, bulk bool) error {
	cfg := filepath.Join(s.Dir, "xmppd.toml")
	text := fmt.Sprintf(`[server]
domains = [%q]
data_dir = %q
log_level = "debug"
admins = ["admin@localhost"]

[tls]
cert = %q
key = %q

[c2s]
listen = [%q]
direct_tls_listen = [%q]
require_tls = true

[services]
conference = "conference.localhost"
pubsub = "pubsub.localhost"
`, Domain, filepath.Join(s.Dir, "data"), h.Certs.Cert, h.Certs.Key, s.C2S, s.DirectTLS)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		return fmt.Errorf("interop: %w", err)
	}
	if err := h.addAccounts(ctx, cfg, s.Dir, accounts, bulk); err != nil {
		return err
	}
	s.cmd = exec.Command(filepath.Join(h.Bin, "xmppd"), "-config", cfg)
	s.cmd.Dir = s.Dir
	return nil
}

func (h *Harness) addAccounts(ctx context.Context, cfg, dir string, accounts []Account, bulk bool) error {
	ctl := filepath.Join(h.Bin, "xmppctl")
	if bulk {
		var b strings.Builder
		for _, a := range accounts {
			fmt.Fprintf(&b, "%s;%s\n", a.Local(), a.Password)
		}
		file := filepath.Join(dir, "accounts.txt")
		if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
			return fmt.Errorf("interop: %w", err)
		}
		return run(ctx, "", ctl, "-config", cfg, "user", "import", file)
	}
	for _, a := range accounts {
		if err := run(ctx, a.Password+"\n", ctl, "-config", cfg, "user", "add", a.JID); err != nil {
			return err
		}
	}
	return nil
}

// run runs a command to completion; its output ends up in the error.
func run(ctx context.Context, stdin string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("interop: %s %s: %w\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	return nil
}

// syncBuffer is a bytes.Buffer safe for the writer goroutines of exec.Cmd
// and a reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines before]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
