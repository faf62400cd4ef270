package interop

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// h is prepared once by TestMain: binaries built, certificates written.
var h *Harness

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "xmppd-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if h, err = Setup(ctx, dir, raceEnabled); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

var (
	alice = Account{JID: "alice@localhost", Password: "alice's secret"}
	bob   = Account{JID: "bob@localhost", Password: "bob-pw-2"}
)

// slix runs testdata/interop/slix.py against s with the common flags.
func slix(ctx context.Context, s *Server, port string, a Account, args ...string) Output {
	base := []string{h.Script("slix.py"), "--port", port, "--cafile", h.Certs.CA,
		"--jid", a.JID, "--password", a.Password, "--mech", s.Mech}
	return RunPeer(ctx, Python, append(base, args...)...)
}

func portOf(addr string) string { _, p, _ := strings.Cut(addr, ":"); return p }

// TestSlixmppRoundtrip: SCRAM over STARTTLS, messages both ways, mutual
// subscription, then an offline message delivered with a delay stamp.
func TestSlixmppRoundtrip(t *testing.T) {
	RequirePackages(t, "python3-slixmpp")
	s := h.Start(t, []Account{alice, bob}, false)
	start := time.Now().UTC().Truncate(time.Second)
	out := slix(context.Background(), s, portOf(s.C2S), alice,
		"roundtrip", "--peer", bob.JID, "--peer-password", bob.Password)
	if out.Err != nil {
		t.Errorf("slix.py roundtrip failed:\n%s", out)
	}
	out.Want(t,
		`^MECH alice@localhost `+s.Mech+`$`,
		`^MECH bob@localhost `+s.Mech+`$`,
		`^TLS alice@localhost starttls TLSv1\.[23] `,
		`^BOUND alice@localhost/.+$`,
		`^BOUND bob@localhost/.+$`,
		`^MSG bob@localhost from=alice@localhost body=hello bob@localhost, this is alice@localhost$`,
		`^MSG alice@localhost from=bob@localhost body=hello alice@localhost, this is bob@localhost$`,
		`^PRESENCE alice@localhost from=bob@localhost type=subscribed$`,
		`^PRESENCE bob@localhost from=alice@localhost type=subscribed$`,
		`^ROSTER alice@localhost bob@localhost subscription=both$`,
		`^ROSTER bob@localhost alice@localhost subscription=both$`,
		`^PRESENCE alice@localhost from=bob@localhost type=unavailable$`,
		`^DONE$`,
	)
	m, ok := out.Match(`^OFFLINE bob@localhost from=alice@localhost delay=(\S+) body=stored while bob@localhost was offline$`)
	if !ok {
		t.Fatalf("bob did not get the offline message:\n%s", out)
	}
	stamp, err := time.Parse(time.RFC3339Nano, m[1])
	if err != nil {
		t.Fatalf("delay stamp %q is not XEP-0082 date-time: %v", m[1], err)
	}
	if stamp.Before(start.Add(-time.Minute)) || stamp.After(time.Now().Add(time.Minute)) {
		t.Errorf("delay stamp %s is not the time the message was stored (test ran from %s)", stamp, start)
	}
}

// TestSlixmppDirectTLS logs in on the XEP-0368 port with no STARTTLS.
func TestSlixmppDirectTLS(t *testing.T) {
	RequirePackages(t, "python3-slixmpp")
	s := h.Start(t, []Account{alice}, false)
	out := slix(context.Background(), s, portOf(s.DirectTLS), alice, "--direct-tls", "login")
	if out.Err != nil {
		t.Errorf("slix.py --direct-tls login failed:\n%s", out)
	}
	out.Want(t,
		`^MECH alice@localhost `+s.Mech+`$`,
		`^TLS alice@localhost direct TLSv1\.[23] `,
		`^BOUND alice@localhost/.+$`,
		`^MSG alice@localhost from=alice@localhost body=note to self$`,
		`^DONE$`,
	)
}

// TestAioxmpp: a second, independent client library logs in and exchanges
// messages.
func TestAioxmpp(t *testing.T) {
	RequirePackages(t, "python3-aioxmpp")
	s := h.Start(t, []Account{alice, bob}, false)
	out := RunPeer(context.Background(), Python, h.Script("aiox.py"),
		"--port", portOf(s.C2S), "--cafile", h.Certs.CA,
		"--jid", alice.JID, "--password", alice.Password,
		"--peer", bob.JID, "--peer-password", bob.Password)
	if out.Err != nil {
		t.Errorf("aiox.py failed:\n%s", out)
	}
	out.Want(t,
		`^BOUND alice@localhost/.+$`,
		`^BOUND bob@localhost/.+$`,
		`^MSG bob@localhost from=alice@localhost body=aioxmpp says hello from alice@localhost$`,
		`^MSG alice@localhost from=bob@localhost body=aioxmpp says hello from bob@localhost$`,
		`^DONE$`,
	)
}

// TestGoSendxmpp: go-sendxmpp (a Go client on another XMPP library) sends a
// message to bob, logged in with slixmpp.
func TestGoSendxmpp(t *testing.T) {
	RequirePackages(t, "go-sendxmpp", "python3-slixmpp")
	s := h.Start(t, []Account{alice, bob}, false)
	ctx, cancel := context.WithTimeout(context.Background(), PeerTimeout)
	defer cancel()
	body := "go-sendxmpp was here " + time.Now().Format("150405.000")
	recv, err := StartPeer(ctx, Python, h.Script("slix.py"), "--port", portOf(s.C2S),
		"--cafile", h.Certs.CA, "--jid", bob.JID, "--password", bob.Password, "--mech", s.Mech,
		"receive", "--body", body)
	if err != nil {
		t.Fatal(err)
	}
	ready := recv.WaitLine(ctx, "READY")
	if ready == nil {
		// go-sendxmpp checks the certificate against the system roots,
		// which Go's crypto/x509 reads from SSL_CERT_FILE.
		sent := RunPeerIO(ctx, []string{"SSL_CERT_FILE=" + h.Certs.CA}, body+"\n", "go-sendxmpp",
			"-u", alice.JID, "-p", alice.Password, "-j", s.C2S, bob.JID)
		if sent.Err != nil {
			t.Errorf("go-sendxmpp failed:\n%s", sent)
		}
	}
	out := recv.Wait()
	if ready != nil {
		t.Fatalf("%v\n%s", ready, out)
	}
	if out.Err != nil {
		t.Errorf("slix.py receive failed:\n%s", out)
	}
	out.Want(t, `^MSG bob@localhost from=alice@localhost body=`+regexp.QuoteMeta(body)+`$`, `^DONE$`)
}
