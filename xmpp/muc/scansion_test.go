package muc

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	mt "github.com/xmppd/xmppd/xmpp/module/moduletest"
	"mellium.im/xmpp/jid"
)

// This file replays Prosody's scansion transcripts (testdata/*.scs, MIT,
// see testdata/COPYING) against the module, with the same matching rules
// as ../shared/conformance/scsrun.py in --lenient mode: expected
// attributes must be present, payload namespaces match strictly, stanzas
// that arrive before the expected one are skipped. The core is emulated
// only as far as the transcripts need: delivery to full and bare JIDs, a
// client's own presence echoed back, directed unavailable presence on
// disconnect, the XEP-0153 avatar hash Prosody's vcard_legacy adds to
// every presence a client sends, and stringprep's removal of invisible
// characters (table B.1) from the JIDs a client sends to.

const scansionNS = "https://matthewwild.co.uk/projects/scansion"

type scsAction struct {
	who, verb, rest, body string
	line                  int
}

var (
	reClient = regexp.MustCompile(`^\[Client\]\s+(.+?)\s*$`)
	reProp   = regexp.MustCompile(`^\s+\w+:`)
	reAction = regexp.MustCompile(`^(.+?) (connects|disconnects|sends|receives):?\s*(.*)$`)
	reSubst  = regexp.MustCompile(`\$\{([^}]+)\}`)
)

func parseScript(t *testing.T, path string) (map[string]map[string]string, []scsAction) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseScriptText(t, path, string(b))
}

// parseScriptText parses a transcript (see parseScript).
func parseScriptText(t *testing.T, path, text string) (map[string]map[string]string, []scsAction) {
	t.Helper()
	lines := strings.Split(text, "\n")
	clients := map[string]map[string]string{}
	var actions []scsAction
	for i := 0; i < len(lines); {
		line := lines[i]
		if m := reClient.FindStringSubmatch(line); m != nil {
			props := map[string]string{}
			for i++; i < len(lines) && reProp.MatchString(lines[i]); i++ {
				k, v, _ := strings.Cut(strings.TrimSpace(lines[i]), ":")
				props[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			clients[m[1]] = props
			continue
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "-") || strings.HasPrefix(line, "//") {
			i++
			continue
		}
		m := reAction.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("%s:%d: cannot parse %q", path, i+1, line)
		}
		var body []string
		for i++; i < len(lines) && (strings.HasPrefix(lines[i], "\t") || strings.HasPrefix(lines[i], "  ") || strings.TrimSpace(lines[i]) == ""); i++ {
			if strings.TrimSpace(lines[i]) == "" && (i+1 >= len(lines) || !(strings.HasPrefix(lines[i+1], "\t") || strings.HasPrefix(lines[i+1], "  "))) {
				break
			}
			body = append(body, lines[i])
		}
		actions = append(actions, scsAction{m[1], m[2], strings.TrimSpace(m[3]), strings.Join(body, "\n"), i})
	}
	return clients, actions
}

// scsClient is one simulated client session.
type scsClient struct {
	full      jid.JID
	online    bool
	available bool // sent initial presence: gets messages to the bare JID
	queue     []*dom.Element
	presentTo map[string]bool // directed presence targets at the service
}

// scsRun is one transcript being replayed.
type scsRun struct {
	t       *testing.T
	env     *module.Registry
	host    *mt.Host
	handler module.ServiceHandler
	clients map[string]*scsClient
}

func newScsRun(t *testing.T, defs map[string]map[string]string) *scsRun {
	host := mt.NewHost()
	host.Cfg.Services.Conference = "conference.localhost"
	host.Cfg.Server.Admins = []string{"admin@localhost"}
	return newScsRunOn(t, defs, host)
}

// newScsRunOn starts a new module on an existing host (a restart).
func newScsRunOn(t *testing.T, defs map[string]map[string]string, host *mt.Host) *scsRun {
	reg := module.NewRegistry()
	m := New()
	if err := m.Start(context.Background(), host, reg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	s := &scsRun{t: t, env: reg, host: host, handler: reg.Service("conference.localhost"), clients: map[string]*scsClient{}}
	for name, p := range defs {
		j, err := jid.Parse(p["jid"])
		if err != nil {
			t.Fatal(err)
		}
		if j.Resourcepart() == "" {
			res := "scs-" + strings.NewReplacer(" ", "-", "'", "").Replace(strings.ToLower(name))
			j, _ = j.WithResource(res)
		}
		s.clients[name] = &scsClient{full: j, presentTo: map[string]bool{}}
	}
	host.RouteFunc = s.deliver
	return s
}

// deliver is the emulated core: it queues what the module routes.
func (s *scsRun) deliver(ctx context.Context, raw []byte) error {
	el, err := dom.Parse(raw)
	if err != nil {
		s.t.Errorf("module routed unparsable %q: %v", raw, err)
		return err
	}
	normalize(el)
	if d := duplicateAttr(el); d != "" {
		s.t.Errorf("module routed a stanza with two %q attributes: %s", d, raw)
	}
	to, err := jid.Parse(el.Get("to"))
	if err != nil {
		s.t.Errorf("module routed a stanza without a valid to: %s", raw)
		return err
	}
	for _, c := range s.clients {
		if c.online && (c.full.Equal(to) || (to.Resourcepart() == "" && c.available && c.full.Bare().Equal(to))) {
			c.queue = append(c.queue, el.Copy())
		}
	}
	return nil
}

// duplicateAttr returns the name of an attribute given twice on an
// element of the tree (encoding/xml accepts that; XML parsers do not).
func duplicateAttr(el *dom.Element) string {
	seen := map[xml.Name]bool{}
	for _, a := range el.Attr {
		if seen[a.Name] {
			return a.Name.Local
		}
		seen[a.Name] = true
	}
	for _, c := range el.Children {
		if d := duplicateAttr(c); d != "" {
			return d
		}
	}
	return ""
}

func (s *scsRun) subst(text string) string {
	return reSubst.ReplaceAllStringFunc(text, func(m string) string {
		expr := m[2 : len(m)-1]
		for n, c := range s.clients {
			switch expr {
			case n + "'s full JID":
				return c.full.String()
			case n + "'s JID":
				return c.full.Bare().String()
			}
		}
		s.t.Fatalf("unknown substitution %s", m)
		return ""
	})
}

// send hands a client's stanza to the module as the core would.
func (s *scsRun) send(c *scsClient, body string) {
	for _, el := range parseXML(s.t, body) {
		el.Set("from", c.full.String())
		to, err := jid.Parse(el.Get("to"))
		if err != nil && el.Has("to") {
			// Prosody's core prepares JIDs with stringprep, which drops
			// the characters of table B.1 (muc_nickname_robotface).
			to, _ = jid.Parse(mappedToNothing.Replace(el.Get("to")))
			el.Set("to", to.String())
		}
		if el.Local == "presence" {
			if el.Child("vcard-temp:x:update", "x") == nil {
				el.Add(dom.New("vcard-temp:x:update", "x").Add(dom.New("vcard-temp:x:update", "photo")))
			}
			if !el.Has("to") {
				c.available = el.Get("type") == ""
				c.queue = append(c.queue, el.Copy())
				continue
			}
			if to.Domainpart() == "conference.localhost" {
				c.presentTo[to.String()] = true
			}
		}
		if to.Domainpart() != "conference.localhost" {
			s.t.Fatalf("transcript sends outside the service: %s", el)
		}
		s.dispatch(el, to)
	}
}

func (s *scsRun) dispatch(el *dom.Element, to jid.JID) {
	from, _ := jid.Parse(el.Get("from"))
	raw := el.Append(nil, module.NSClient)
	st := &module.Stanza{Name: el.Local, Type: el.Get("type"), ID: el.Get("id"), From: from, To: to, Raw: raw}
	s.handler(context.Background(), st)
}

func (s *scsRun) disconnect(c *scsClient) {
	for target := range c.presentTo {
		to, _ := jid.Parse(target)
		el := stanza("presence", "type", "unavailable", "from", c.full.String(), "to", target)
		s.dispatch(el, to)
	}
	c.presentTo = map[string]bool{}
	c.online, c.available = false, false
}

func parseXML(t *testing.T, text string) []*dom.Element {
	t.Helper()
	w, err := dom.Parse([]byte("<wrap xmlns='jabber:client' xmlns:scansion='" + scansionNS + "'>" + text + "</wrap>"))
	if err != nil {
		t.Fatalf("transcript XML: %v\n%s", err, text)
	}
	return w.Children
}

// receive pops stanzas until one matches exp (lenient mode).
func (s *scsRun) receive(who string, c *scsClient, exp *dom.Element, line int) error {
	var skipped []string
	for len(c.queue) > 0 {
		got := c.queue[0]
		c.queue = c.queue[1:]
		if match(exp, got, false) {
			return nil
		}
		skipped = append(skipped, got.String())
	}
	return fmt.Errorf("line %d: %s never received %s\n  skipped: %s", line, who, exp, strings.Join(skipped, "\n  skipped: "))
}

func isStrict(e *dom.Element, parentStrict bool, parentNS string) bool {
	for _, a := range e.Attr {
		if a.Name.Space == scansionNS && a.Name.Local == "strict" {
			return a.Value == "true"
		}
	}
	if e.Space != parentNS {
		return true
	}
	return parentStrict
}

func match(exp, got *dom.Element, strict bool) bool {
	if exp.Space != got.Space || exp.Local != got.Local {
		return false
	}
	n := 0
	for _, a := range exp.Attr {
		if a.Name.Space == scansionNS {
			continue
		}
		n++
		if !got.Has(a.Name.Local) || (a.Value != "{scansion:any}" && got.Get(a.Name.Local) != a.Value) {
			return false
		}
	}
	if strict && len(got.Attr) != n {
		return false
	}
	if et := strings.TrimSpace(exp.Text); et != "" && et != strings.TrimSpace(got.Text) {
		return false
	}
	if strict {
		if len(exp.Children) != len(got.Children) {
			return false
		}
		for i, e := range exp.Children {
			if !match(e, got.Children[i], isStrict(e, strict, exp.Space)) {
				return false
			}
		}
		return true
	}
	used := map[int]bool{}
next:
	for _, e := range exp.Children {
		for i, g := range got.Children {
			if !used[i] && match(e, g, isStrict(e, strict, exp.Space)) {
				used[i] = true
				continue next
			}
		}
		return false
	}
	return true
}

func (s *scsRun) run(actions []scsAction) error {
	for _, a := range actions {
		c := s.clients[a.who]
		if c == nil {
			return fmt.Errorf("line %d: unknown client %q", a.line, a.who)
		}
		switch a.verb {
		case "connects":
			c.online = true
		case "disconnects":
			s.disconnect(c)
		case "sends":
			s.send(c, s.subst(a.body))
		case "receives":
			if a.rest == "nothing" {
				if len(c.queue) > 0 {
					return fmt.Errorf("line %d: %s expected nothing, got %s", a.line, a.who, c.queue[0])
				}
				continue
			}
			for _, exp := range parseXML(s.t, s.subst(a.body)) {
				if err := s.receive(a.who, c, exp, a.line); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func TestTranscripts(t *testing.T) {
	files := []string{
		"issue505", "issue978", "issue978-multi", "issue1224",
		"muc_create_destroy", "muc_nickname_change", "muc_password", "muc_members_only_change",
		"muc_affiliation_notify", "muc_presence_probe", "muc_subject_issue_667",
		"muc_whois_anyone_member", "muc_show_offline", "muc_register", "muc_mediated_invite",
		"muc_members_only_deregister", "muc_nickname_robotface",
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			defs, actions := parseScript(t, "testdata/"+name+".scs")
			s := newScsRun(t, defs)
			if err := s.run(actions); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTranscriptsCanFail checks the replay is not vacuous: transcripts
// with one expectation changed must fail.
func TestTranscriptsCanFail(t *testing.T) {
	tests := []struct{ name, file, old, new string }{
		{"status code", "issue505", "<status code='110'/>", "<status code='111'/>"},
		{"leave status text", "issue505", "<status>Farewell</status>\n\t\t<x", "<status>Goodbye</status>\n\t\t<x"},
		{"strict payload attribute", "issue978", "affiliation='none' role='none'", "affiliation='member' role='none'"},
		{"kick text", "issue978", "Kicked: service unavailable: Test error", "Kicked: Test error"},
		{"missing history", "muc_create_destroy", "<body>Where are thou my Juliet?</body>\n\t\t<delay", "<body>Where art thou?</body>\n\t\t<delay"},
		{"actor hidden", "issue1224", "<actor nick='Romeo' />", "<actor nick='Romeo' jid=\"${Romeo's full JID}\"/>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile("testdata/" + tc.file + ".scs")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tc.old) {
				t.Fatalf("%s does not contain %q", tc.file, tc.old)
			}
			path := t.TempDir() + "/x.scs"
			if err := os.WriteFile(path, []byte(strings.Replace(string(b), tc.old, tc.new, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			defs, actions := parseScript(t, path)
			if err := newScsRun(t, defs).run(actions); err == nil {
				t.Fatal("the changed transcript passed")
			} else {
				t.Log(strings.SplitN(err.Error(), "\n", 2)[0])
			}
		})
	}
}
