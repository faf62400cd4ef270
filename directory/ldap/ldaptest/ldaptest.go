// Package ldaptest runs a private OpenLDAP slapd (RFC 4511 server) for
// tests: a temporary directory with a generated slapd.conf (mdb backend),
// the LDIF of testdata/ldap loaded with slapadd, and slapd listening on a
// free loopback port as a child process, killed at cleanup. It never
// touches the system's slapd or its configuration.
package ldaptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/xmppd/xmppd/conf"
)

// Names and passwords of the test directory (testdata/ldap/example.ldif).
// Every person's password is "<uid>-secret".
const (
	Suffix          = "dc=example,dc=org"
	AdminDN         = "cn=admin,dc=example,dc=org"
	AdminPassword   = "admin-secret"
	ServiceDN       = "cn=xmppd,ou=services,dc=example,dc=org"
	ServicePassword = "xmppd-service"
	PeopleDN        = "ou=people,dc=example,dc=org"
	GroupsDN        = "ou=groups,dc=example,dc=org"
	Domain          = "example.org"
)

// Users are the inetOrgPerson entries of the test directory.
var Users = []string{"alice", "bob", "carol", "dave", "eve"}

// Server is one private slapd.
type Server struct {
	URL  string // ldap://127.0.0.1:port/ (StartTLS available)
	Addr string
	// TLSURL is ldaps://127.0.0.1:port/; CAFile verifies its certificate
	// (issued to 127.0.0.1 and localhost).
	TLSURL string
	CAFile string
	Dir    string

	conf   string
	cmd    *exec.Cmd
	exited chan struct{}
	log    *os.File
}

// TestdataDir returns the repository's testdata/ldap directory.
func TestdataDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "ldap")
}

// binaries finds slapd and slapadd (Debian installs them in /usr/sbin,
// which is not always on a test's PATH).
func binaries(tb testing.TB) (slapd, slapadd string) {
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if p := "/usr/sbin/" + name; fileExists(p) {
			return p
		}
		tb.Fatalf("ldaptest: %s not found: the directory/ldap tests need OpenLDAP (apt-get install -y slapd ldap-utils)", name)
		return ""
	}
	return find("slapd"), find("slapadd")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Start sets up and starts a private slapd loaded with example.ldif.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return StartWithLDIF(tb, "")
}

// StartWithLDIF is Start with more entries (LDIF text) loaded after
// example.ldif, for example many generated users for benchmarks.
func StartWithLDIF(tb testing.TB, extra string) *Server {
	tb.Helper()
	slapd, slapadd := binaries(tb)
	dir := tb.TempDir()
	s := &Server{Dir: dir, conf: filepath.Join(dir, "slapd.conf")}
	tmpl, err := os.ReadFile(filepath.Join(TestdataDir(), "slapd.conf.tmpl"))
	if err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}
	if err := os.WriteFile(s.conf, bytes.ReplaceAll(tmpl, []byte("{{DIR}}"), []byte(dir)), 0o600); err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}
	s.CAFile = filepath.Join(dir, "tls.crt")
	if err := writeCert(s.CAFile, filepath.Join(dir, "tls.key")); err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}
	out, err := exec.Command(slapadd, "-q", "-f", s.conf, "-l", filepath.Join(TestdataDir(), "example.ldif")).CombinedOutput()
	if err != nil {
		tb.Fatalf("ldaptest: slapadd: %v\n%s", err, out)
	}
	if extra != "" {
		path := filepath.Join(dir, "extra.ldif")
		if err := os.WriteFile(path, []byte(extra), 0o600); err != nil {
			tb.Fatalf("ldaptest: %v", err)
		}
		if out, err := exec.Command(slapadd, "-q", "-f", s.conf, "-l", path).CombinedOutput(); err != nil {
			tb.Fatalf("ldaptest: slapadd extra entries: %v\n%s", err, out)
		}
	}
	if s.log, err = os.Create(filepath.Join(dir, "slapd.log")); err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}
	tb.Cleanup(func() { s.Kill(tb); s.log.Close() })
	// A free port can be taken between our probe and slapd's bind: retry.
	for attempt := 0; ; attempt++ {
		s.Addr = freePort(tb)
		s.URL = "ldap://" + s.Addr + "/"
		s.TLSURL = "ldaps://" + freePort(tb) + "/"
		err := s.start(slapd)
		if err == nil {
			return s
		}
		if attempt == 2 {
			tb.Fatalf("ldaptest: %v\nslapd log:\n%s", err, s.logTail())
		}
	}
}

// Restart starts slapd again on the same port with the same database. The
// port is free from the kill on, so another process (a client's outgoing
// connection, often the backend's own redial) can hold it for a moment:
// a slapd that exits at once is started again, for up to 20 s.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	slapd, _ := binaries(tb)
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := s.start(slapd)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("ldaptest: restart: %v\nslapd log:\n%s", err, s.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Kill stops slapd at once (SIGKILL), as a crash or an outage would, and
// waits for it to exit. Killing a stopped server does nothing.
func (s *Server) Kill(tb testing.TB) {
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		tb.Errorf("ldaptest: kill slapd: %v", err)
	}
	<-s.exited
	s.cmd = nil
}

func (s *Server) start(slapd string) error {
	// -d 0 keeps slapd in the foreground (a child we can kill) and quiet.
	cmd := exec.Command(slapd, "-f", s.conf, "-h", s.URL+" "+s.TLSURL, "-d", "0")
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start slapd: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	if err := s.waitReady(exited); err != nil {
		cmd.Process.Kill()
		<-exited
		s.cmd = nil
		return err
	}
	return nil
}

// waitReady polls until slapd answers a bind as the service account.
func (s *Server) waitReady(exited chan struct{}) error {
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := goldap.DialURL(s.URL, goldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
		if err == nil {
			c.SetTimeout(2 * time.Second)
			err = c.Bind(ServiceDN, ServicePassword)
			c.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("slapd exited before answering on %s", s.URL)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("slapd did not answer on %s: %v", s.URL, err)
		}
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.log.Name())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func freePort(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("ldaptest: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Config returns a directory.ldap configuration for this server with the
// service account, groupOfNames groups and the given changes applied.
func (s *Server) Config() conf.LDAP {
	c := conf.Default().Directory.LDAP
	c.URL = s.URL
	c.BindDN, c.BindPassword = ServiceDN, ServicePassword
	c.Domain = Domain
	c.UserBase = PeopleDN
	c.GroupBase = GroupsDN
	c.Attributes.Prefs = map[string]string{"language": "preferredLanguage"}
	// Generous for a loaded machine: a dead slapd fails fast anyway
	// (connection refused), so passing tests never wait for it.
	c.Timeout = conf.Duration{Duration: 20 * time.Second}
	c.MaxBackoff = conf.Duration{Duration: 200 * time.Millisecond}
	return c
}

// Ldapsearch runs the real ldapsearch client as the admin and returns its
// LDIF output (-LLL: no comments).
func (s *Server) Ldapsearch(ctx context.Context, filter string, attrs ...string) (string, error) {
	args := append([]string{"-LLL", "-x", "-H", s.URL, "-D", AdminDN, "-w", AdminPassword,
		"-b", Suffix, filter}, attrs...)
	out, err := exec.CommandContext(ctx, "ldapsearch", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ldaptest: ldapsearch %s: %w: %s", filter, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
