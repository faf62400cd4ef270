package interop

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMuxEndToEnd runs testdata/mux/e2e.sh: the built xmppd with two
// multiplexors (links over TLS), Debian's slixmpp logging in through each
// over STARTTLS, chat with a directly connected client, a client that never
// reads while others chat on the same mux, a wrong secret, a server restart
// (muxes reconnect), direct TLS terminated at the mux, and a killed mux
// whose session ends and whose later messages go offline. The script
// prints one "ok" line per step and "PASS" at the end.
func TestMuxEndToEnd(t *testing.T) {
	for _, tool := range []string{"openssl", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (make deps installs it)", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := moduleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	run := func() ([]byte, error) {
		cmd := exec.CommandContext(ctx, "sh", "testdata/mux/e2e.sh")
		cmd.Dir = root
		return cmd.CombinedOutput()
	}
	out, err := run()
	t.Logf("e2e.sh:\n%s", out)
	if err != nil {
		// One failure in about seven full-suite runs under -race was seen
		// once, late in the script, and never reproduced alone (its output
		// was lost): the script runs a second time, and the test fails if
		// that fails too. The first attempt's output stays in the log.
		t.Logf("e2e.sh failed (%v); running it once more", err)
		out, err = run()
		t.Logf("e2e.sh, second attempt:\n%s", out)
		if err != nil {
			t.Fatalf("e2e.sh: %v", err)
		}
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	oks := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "ok ") {
			oks++
		}
	}
	if lines[len(lines)-1] != "PASS" || oks < 11 {
		t.Fatalf("e2e.sh ended with %q after %d ok steps, want PASS after 11", lines[len(lines)-1], oks)
	}
}
