package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// prosodyConfig mirrors the configuration the scansion transcripts were
// written for (../shared/conformance/scansion/reference-prosody.cfg.lua),
// with TLS required and persistent storage in the test's directory.
const prosodyConfig = `admins = { "admin@localhost" }
modules_enabled = {
	"roster"; "saslauth"; "tls"; "disco"; "carbons"; "pep"; "private";
	"blocklist"; "vcard4"; "vcard_legacy"; "version"; "uptime"; "time";
	"ping"; "lastactivity"; "offline";
}
modules_disabled = { "s2s" }
interfaces = { "127.0.0.1" }
c2s_ports = { %d }
c2s_direct_tls_ports = { %d }
c2s_require_encryption = true
authentication = "internal_hashed"
storage = "internal"
data_path = %q
pidfile = %q
certificates = %q
log = { { levels = { min = "debug" }, to = "console" } }
hide_os_type = true
-- the test runs as root; keep prosodyctl from switching to "prosody"
run_as_root = true
VirtualHost "localhost"
	ssl = { certificate = %q; key = %q }
Component "conference.localhost" "muc"
	admins = { "admin@localhost" }
Component "pubsub.localhost" "pubsub"
	expose_publisher = true
`

// prepareProsody writes a private Prosody config and registers the accounts
// with prosodyctl. Debian's Prosody runs as root here only because the test
// does; it never touches /etc/prosody.
func (h *Harness) prepareProsody(ctx context.Context, s *Server, accounts []Account) error {
	if _, err := exec.LookPath("prosody"); err != nil {
		return fmt.Errorf("interop: %s=prosody needs Debian package prosody: %w", EnvServer, err)
	}
	ports := make([]int, 2)
	for i, a := range []string{s.C2S, s.DirectTLS} {
		_, p, _ := strings.Cut(a, ":")
		n, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("interop: port of %s: %w", a, err)
		}
		ports[i] = n
	}
	// prosodyctl insists that the "prosody" user can read the config
	for _, d := range []string{filepath.Dir(s.Dir), s.Dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			return fmt.Errorf("interop: %w", err)
		}
	}
	data := filepath.Join(s.Dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return fmt.Errorf("interop: %w", err)
	}
	text := fmt.Sprintf(prosodyConfig, ports[0], ports[1], data, filepath.Join(s.Dir, "prosody.pid"),
		filepath.Dir(h.Certs.Cert), h.Certs.Cert, h.Certs.Key)
	cfg := filepath.Join(s.Dir, "prosody.cfg.lua")
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		return fmt.Errorf("interop: %w", err)
	}
	for _, a := range accounts {
		local, host, _ := strings.Cut(a.JID, "@")
		if err := run(ctx, "", "prosodyctl", "--config", cfg, "register", local, host, a.Password); err != nil {
			return err
		}
	}
	s.cmd = exec.Command("prosody", "-F", "--config", cfg)
	s.cmd.Dir = s.Dir
	return nil
}
