package interop

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"sync"
	"testing"
)

// conformanceScripts are the scansion transcripts xmppd must pass: the core
// of RFC 6121 (messages, rosters, subscriptions, pre-approval), XEP-0191
// blocking, XEP-0054 vcard-temp, XEP-0012 last activity, XEP-0092
// software version and XEP-0045 affiliation lists.
var conformanceScripts = []string{
	"basic", "basic_message", "basic_roster", "presence_preapproval",
	"keep_full_sub_req", "issue505", "issue978", "issue978-multi",
	"issue1121", "issue1224", "blocking", "vcard_temp", "lastactivity",
	"version", "muc_whois_anyone_member",
}

// patched are the scripts replaced by a copy in testdata/conformance, and
// the servers the copy is for (each copy says why): version.scs names the
// software, presence_preapproval.scs trips a bug of scsrun.py,
// basic_message.scs and muc_whois_anyone_member.scs race two connections.
//
// scsrun.py writes a "sends" step and goes on: a stanza sent on one
// connection is not ordered before a later one sent on another unless the
// script waits in between for something the first one caused. A script
// that relies on such an order needs a copy with that wait added.
var patched = map[string][]string{
	"version":                 {KindXMPPD},
	"presence_preapproval":    {KindXMPPD, KindProsody},
	"basic_message":           {KindXMPPD, KindProsody},
	"muc_whois_anyone_member": {KindXMPPD, KindProsody},
}

var (
	jidLine  = regexp.MustCompile(`(?m)^\s+jid:\s*([^/\s]+)`)
	resultRe = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed$`)
	passLine = "1 passed, 0 failed"
)

// scriptAccounts lists the accounts a transcript's [Client] blocks log in
// as; every one has the password "password".
func scriptAccounts(text string) []Account {
	seen := map[string]bool{}
	var accts []Account
	for _, m := range jidLine.FindAllStringSubmatch(text, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			accts = append(accts, Account{JID: m[1], Password: "password"})
		}
	}
	sort.Slice(accts, func(i, j int) bool { return accts[i].JID < accts[j].JID })
	return accts
}

// TestConformance replays Prosody's transcripts with scsrun.py, each against
// a fresh server (they leave rosters and blocklists behind).
func TestConformance(t *testing.T) {
	dir := h.ConformanceDir()
	runner := filepath.Join(dir, "scsrun.py")
	if _, err := os.Stat(runner); err != nil {
		t.Fatalf("conformance runner missing (expected ../shared/conformance beside the clone, or CONFORMANCE_DIR): %v", err)
	}
	var mu sync.Mutex
	var passed, failed []string
	t.Run("scripts", func(t *testing.T) {
		for _, name := range conformanceScripts {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				// registered first, so it runs last: after the server's
				// stop, and also after a t.Fatal
				t.Cleanup(func() {
					mu.Lock()
					defer mu.Unlock()
					if t.Failed() {
						failed = append(failed, name)
					} else {
						passed = append(passed, name)
					}
				})
				runScript(t, dir, runner, name)
			})
		}
	})
	sort.Strings(failed)
	t.Logf("conformance: %d passed, %d failed %v", len(passed), len(failed), failed)
}

func runScript(t *testing.T, dir, runner, name string) {
	script := filepath.Join(dir, "scansion", name+".scs")
	if slices.Contains(patched[name], h.Kind) {
		script = filepath.Join(h.Root, "testdata", "conformance", name+".scs")
	}
	text, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	accts := scriptAccounts(string(text))
	if len(accts) == 0 {
		t.Fatalf("%s: no jid: lines", script)
	}
	s := h.Start(t, accts, true)
	out := RunPeer(context.Background(), Python, runner, "--host", "127.0.0.1",
		"--port", portOf(s.C2S), "--cafile", h.Certs.CA, "--timeout", "30", "--lenient", script)
	m, found := out.Match(resultRe.String())
	if !found {
		t.Fatalf("%s: runner printed no result line:\n%s", name, out)
	}
	t.Log(m[0])
	if out.Err != nil || m[0] != passLine {
		t.Errorf("%s: %s\n%s", name, m[0], out)
	}
}
