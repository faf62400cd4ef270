// Package interop is the interoperability harness of xmppd: it builds the
// real binaries, starts xmppd on loopback ports with a throwaway CA, and
// drives it with independent XMPP implementations from Debian (slixmpp,
// aioxmpp, go-sendxmpp) and Prosody's scansion transcripts. The tests cover
// RFC 6120 (STARTTLS, SASL SCRAM, binding), RFC 6121 (messages, presence
// subscriptions, rosters), XEP-0160 offline messages with XEP-0203 delay
// stamps and XEP-0368 direct TLS.
//
// The package holds only this harness and its tests. Setting
// INTEROP_SERVER=prosody runs the same peers against Debian's Prosody
// instead of xmppd: a developer aid to check that a client script is right
// before blaming the server; CI never sets it.
package interop

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// EnvServer names the environment variable selecting the server under test:
// unset or "xmppd" for ours, "prosody" for Debian's Prosody.
const EnvServer = "INTEROP_SERVER"

// EnvBin names a directory holding prebuilt xmppd and xmppctl to test
// instead of building them (a developer aid, e.g. for a binary under a
// debugger or built with other flags).
const EnvBin = "INTEROP_BIN"

// Server kinds.
const (
	KindXMPPD   = "xmppd"
	KindProsody = "prosody"
)

// Harness is what TestMain prepares once for every test of the package.
type Harness struct {
	// Kind is KindXMPPD or KindProsody.
	Kind string
	// Root is the module root (the directory holding go.mod).
	Root string
	// Bin holds the freshly built xmppd and xmppctl.
	Bin string
	// Certs are the CA handed to clients and the server certificate.
	Certs *Certs
	// Scripts is testdata/interop, the client scripts.
	Scripts string
}

// Setup finds the module, builds the binaries into dir (xmppd only; with
// the race detector when race is true) and writes the certificates there.
func Setup(ctx context.Context, dir string, race bool) (*Harness, error) {
	kind := os.Getenv(EnvServer)
	switch kind {
	case "":
		kind = KindXMPPD
	case KindXMPPD, KindProsody:
	default:
		return nil, fmt.Errorf("interop: %s=%q is not %q or %q", EnvServer, kind, KindXMPPD, KindProsody)
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	h := &Harness{
		Kind:    kind,
		Root:    root,
		Bin:     filepath.Join(dir, "bin"),
		Scripts: filepath.Join(root, "testdata", "interop"),
	}
	if h.Certs, err = NewCerts(dir); err != nil {
		return nil, err
	}
	switch bin := os.Getenv(EnvBin); {
	case kind != KindXMPPD:
	case bin != "":
		h.Bin = bin
	default:
		if err := h.build(ctx, race); err != nil {
			return nil, err
		}
	}
	return h, nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("interop: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("interop: not inside a Go module")
	}
	return filepath.Dir(mod), nil
}

// build compiles cmd/xmppd and cmd/xmppctl once for the whole test binary.
func (h *Harness) build(ctx context.Context, race bool) error {
	if err := os.MkdirAll(h.Bin, 0o755); err != nil {
		return fmt.Errorf("interop: %w", err)
	}
	args := []string{"build", "-o", h.Bin + string(filepath.Separator)}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "./cmd/xmppd", "./cmd/xmppctl")...)
	cmd.Dir = h.Root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("interop: go build ./cmd/xmppd ./cmd/xmppctl: %w\n%s", err, out.String())
	}
	return nil
}

// Script returns the path of a client script in testdata/interop.
func (h *Harness) Script(name string) string { return filepath.Join(h.Scripts, name) }

// ConformanceDir is Prosody's scansion transcripts and runner, kept beside
// the clone (../shared/conformance); CONFORMANCE_DIR overrides it.
func (h *Harness) ConformanceDir() string {
	if d := os.Getenv("CONFORMANCE_DIR"); d != "" {
		return d
	}
	return filepath.Join(h.Root, "..", "shared", "conformance")
}
