package register

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/xmpp/dom"
	"github.com/xmppd/xmppd/xmpp/module"
	mt "github.com/xmppd/xmppd/xmpp/module/moduletest"
	"mellium.im/xmpp/jid"
)

const (
	q     = `<query xmlns='jabber:iq:register'>`
	qEnd  = `</query>`
	local = "localhost"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// start runs the module on a test host with registration configured by edit.
func start(t *testing.T, host module.Host, edit func(*conf.Registration)) (*Module, *module.Registry, *clock) {
	t.Helper()
	cfg := host.Config()
	cfg.Registration.Enabled = true
	cfg.Registration.MinPasswordLength = 6
	if edit != nil {
		edit(&cfg.Registration)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	m := New()
	m.now = clk.Now
	r := module.NewRegistry()
	if err := m.Start(context.Background(), host, r); err != nil {
		t.Fatal(err)
	}
	return m, r, clk
}

// pre sends raw before authentication (no from) and returns the reply.
func pre(t *testing.T, m *Module, remote, raw string) *dom.Element {
	t.Helper()
	el := mt.Parse(t, raw)
	st := &module.Stanza{Name: el.Local, Type: el.Get("type"), ID: el.Get("id"), Raw: []byte(raw)}
	reply, err := m.RegisterUnauthenticated(context.Background(), m.host.Config().Server.Domains[0], remote, st)
	if err != nil {
		t.Fatalf("RegisterUnauthenticated: %v", err)
	}
	return mt.Parse(t, string(reply))
}

func errXML(id, typ, cond, text string) string {
	s := `<iq type='error' id='` + id + `' from='localhost'><error type='` + typ + `'><` + cond + ` xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>`
	if text != "" {
		s += `<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>` + text + `</text>`
	}
	return s + `</error></iq>`
}

func setLegacy(id, user, pw string) string {
	return `<iq type='set' id='` + id + `'>` + q + `<username>` + user + `</username><password>` + pw + `</password>` + qEnd + `</iq>`
}

func setForm(id, user, pw string) string {
	return `<iq type='set' id='` + id + `'>` + q + `<x xmlns='jabber:x:data' type='submit'>` +
		`<field var='FORM_TYPE'><value>jabber:iq:register</value></field>` +
		`<field var='username'><value>` + user + `</value></field>` +
		`<field var='password'><value>` + pw + `</value></field></x>` + qEnd + `</iq>`
}

func TestRegisterUnauthenticated(t *testing.T) {
	h := mt.NewHost()
	m, _, _ := start(t, h, nil)
	steps := []struct{ name, send, want string }{
		{"form", `<iq type='get' id='1'>` + q + qEnd + `</iq>`,
			`<iq type='result' id='1' from='localhost'>` + q +
				`<instructions>Choose a username and password for use with this service.</instructions><username/><password/>` +
				`<x xmlns='jabber:x:data' type='form'><title>Account registration</title>` +
				`<instructions>Choose a username and password for use with this service.</instructions>` +
				`<field type='hidden' var='FORM_TYPE'><value>jabber:iq:register</value></field>` +
				`<field type='text-single' label='Username' var='username'><required/></field>` +
				`<field type='text-private' label='Password' var='password'><required/></field></x>` + qEnd + `</iq>`},
		{"create", setLegacy("2", "Juliet", "balcony-1"), `<iq type='result' id='2' from='localhost'/>`},
		{"taken, case folded", setLegacy("3", "juliet", "other-pw"), errXML("3", "cancel", "conflict", "the username is taken")},
		{"create with data form", setForm("4", "romeo", "montague"), `<iq type='result' id='4' from='localhost'/>`},
		{"missing password", `<iq type='set' id='5'>` + q + `<username>nurse</username>` + qEnd + `</iq>`,
			errXML("5", "modify", "not-acceptable", "username and password are required")},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { mt.Equal(t, pre(t, m, "127.0.0.1:40000", s.send), s.want) }) {
			return
		}
	}
	ctx := context.Background()
	if err := h.Mem.CheckPassword(ctx, "juliet@localhost", "balcony-1"); err != nil {
		t.Errorf("juliet's account: %v", err)
	}
	if err := h.Mem.CheckPassword(ctx, "romeo@localhost", "montague"); err != nil {
		t.Errorf("romeo's account: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name, remote, send, want string
		edit                     func(*conf.Registration)
	}{
		{"disabled", "127.0.0.1:1", setLegacy("1", "a", "abcdefgh"),
			errXML("1", "cancel", "service-unavailable", ""), func(r *conf.Registration) { r.Enabled = false }},
		{"outside allowed networks", "192.0.2.7:1", setLegacy("1", "abc", "abcdefgh"),
			errXML("1", "cancel", "not-allowed", "registration is not open to your network"),
			func(r *conf.Registration) { r.AllowedNetworks = []string{"10.0.0.0/8"} }},
		{"form outside allowed networks", "[2001:db8::1]:1", `<iq type='get' id='1'>` + q + qEnd + `</iq>`,
			errXML("1", "cancel", "not-allowed", "registration is not open to your network"),
			func(r *conf.Registration) { r.AllowedNetworks = []string{"10.0.0.0/8"} }},
		{"inside allowed networks", "10.1.2.3:5555", setLegacy("1", "abc", "abcdefgh"),
			`<iq type='result' id='1' from='localhost'/>`,
			func(r *conf.Registration) { r.AllowedNetworks = []string{"10.0.0.0/8"} }},
		{"mapped v4 inside allowed networks", "[::ffff:10.1.2.3]:5555", setLegacy("1", "abc", "abcdefgh"),
			`<iq type='result' id='1' from='localhost'/>`,
			func(r *conf.Registration) { r.AllowedNetworks = []string{"10.0.0.0/8"} }},
		{"short password", "127.0.0.1:1", setLegacy("1", "abc", "abc"),
			errXML("1", "modify", "not-acceptable", "the password must have at least 6 characters"), nil},
		{"invalid username", "127.0.0.1:1", setLegacy("1", "a b", "abcdefgh"),
			errXML("1", "modify", "not-acceptable", "the username is not valid"), nil},
		{"username with @", "127.0.0.1:1", setLegacy("1", "a@b", "abcdefgh"),
			errXML("1", "modify", "not-acceptable", "the username is not valid"), nil},
		{"removal before login", "127.0.0.1:1", `<iq type='set' id='1'>` + q + `<remove/>` + qEnd + `</iq>`,
			errXML("1", "auth", "not-authorized", "log in to remove your account"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := start(t, mt.NewHost(), tc.edit)
			mt.Equal(t, pre(t, m, tc.remote, tc.send), tc.want)
		})
	}
}

func TestNotRegistration(t *testing.T) {
	m, _, _ := start(t, mt.NewHost(), nil)
	for _, raw := range []string{
		`<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>`,
		`<iq type='result' id='1'>` + q + qEnd + `</iq>`,
		`<message id='1'><body>hi</body></message>`,
	} {
		el := mt.Parse(t, raw)
		st := &module.Stanza{Name: el.Local, Type: el.Get("type"), ID: el.Get("id"), Raw: []byte(raw)}
		if _, err := m.RegisterUnauthenticated(context.Background(), local, "127.0.0.1:1", st); !errors.Is(err, ErrNotRegistration) {
			t.Errorf("%s: err = %v, want ErrNotRegistration", raw, err)
		}
	}
}

func TestRateLimit(t *testing.T) {
	m, _, clk := start(t, mt.NewHost(), func(r *conf.Registration) {
		r.RateLimit = 2
		r.RateWindow = conf.Duration{Duration: time.Hour}
	})
	limited := errXML("9", "wait", "resource-constraint", "too many registration attempts, try again later")
	ok := `<iq type='result' id='9' from='localhost'/>`
	steps := []struct {
		name, remote, user, want string
		advance                  time.Duration
	}{
		{"first", "198.51.100.1:1000", "u1", ok, 0},
		{"second, other port", "198.51.100.1:2000", "u2", ok, 0},
		{"third is limited", "198.51.100.1:3000", "u3", limited, 0},
		{"other address is not", "198.51.100.2:1000", "u4", ok, 0},
		{"still limited", "198.51.100.1:1000", "u5", limited, 59 * time.Minute},
		{"next window", "198.51.100.1:1000", "u6", ok, time.Minute},
	}
	for _, s := range steps {
		clk.Add(s.advance)
		if !t.Run(s.name, func(t *testing.T) { mt.Equal(t, pre(t, m, s.remote, setLegacy("9", s.user, "abcdefgh")), s.want) }) {
			return
		}
	}
}

// authIQ sends raw from a logged in session through the registry.
func authIQ(t *testing.T, r *module.Registry, raw string) *dom.Element {
	t.Helper()
	st := mt.Stanza(t, raw)
	target := module.ToAccount
	if !st.To.Equal(jid.JID{}) && st.To.Localpart() == "" {
		target = module.ToHost
	}
	h := r.IQ(target, st.Type, NS, "query")
	if h == nil {
		return mt.Parse(t, string(st.ErrorReply(module.ErrServiceUnavailable)))
	}
	payload, err := h(context.Background(), st)
	if err != nil {
		return mt.Parse(t, string(st.ErrorReply(err)))
	}
	return mt.Parse(t, string(st.Result(payload)))
}

func TestAuthenticated(t *testing.T) {
	h := mt.NewHost()
	ctx := context.Background()
	if err := h.Mem.Create(ctx, "juliet@localhost", "balcony-1"); err != nil {
		t.Fatal(err)
	}
	_, r, _ := start(t, h, nil)
	from := ` from='juliet@localhost/b'`
	to := ` to='juliet@localhost/b'`
	steps := []struct{ name, send, want string }{
		{"registered", `<iq type='get' id='1'` + from + `>` + q + qEnd + `</iq>`,
			`<iq type='result' id='1'` + to + `>` + q + `<registered/><username>juliet</username>` + qEnd + `</iq>`},
		{"change password", `<iq type='set' id='2' to='localhost'` + from + `>` + q + `<username>juliet</username><password>new-pass</password>` + qEnd + `</iq>`,
			`<iq type='result' id='2' from='localhost'` + to + `/>`},
		{"change someone else's", `<iq type='set' id='3'` + from + `>` + q + `<username>romeo</username><password>new-pass</password>` + qEnd + `</iq>`,
			`<iq type='error' id='3'` + to + `><error type='auth'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>only your own password can be changed</text></error></iq>`},
		{"addressed to another account", `<iq type='set' id='4' to='romeo@localhost'` + from + `>` + q + `<remove/>` + qEnd + `</iq>`,
			`<iq type='error' id='4' from='romeo@localhost'` + to + `><error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
		{"too short", `<iq type='set' id='5'` + from + `>` + q + `<username>juliet</username><password>x</password>` + qEnd + `</iq>`,
			`<iq type='error' id='5'` + to + `><error type='modify'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>the password must have at least 6 characters</text></error></iq>`},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { mt.Equal(t, authIQ(t, r, s.send), s.want) }) {
			return
		}
	}
	if err := h.Mem.CheckPassword(ctx, "juliet@localhost", "new-pass"); err != nil {
		t.Fatalf("password not changed: %v", err)
	}
	mt.Equal(t, authIQ(t, r, `<iq type='set' id='6'`+from+`>`+q+`<remove/>`+qEnd+`</iq>`), `<iq type='result' id='6'`+to+`/>`)
	if ok, _ := h.Mem.Exists(ctx, "juliet@localhost"); ok {
		t.Fatal("account still exists after <remove/>")
	}
}

func TestDisabledRegistersNothing(t *testing.T) {
	_, r, _ := start(t, mt.NewHost(), func(c *conf.Registration) { c.Enabled = false })
	if r.HasPayload(module.ToHost, NS, "query") || r.HasPayload(module.ToAccount, NS, "query") {
		t.Fatal("handlers registered with registration disabled")
	}
	if len(r.Features(module.ToHost)) != 0 {
		t.Fatalf("features %v advertised with registration disabled", r.Features(module.ToHost))
	}
}

func TestStoreErrors(t *testing.T) {
	tests := []struct {
		err        error
		cond, typ_ string
	}{
		{directory.ErrExists, "conflict", "cancel"},
		{directory.ErrReadOnly, "not-allowed", "cancel"},
		{directory.ErrUnavailable, "service-unavailable", "wait"},
		{errors.New("disk on fire"), "internal-server-error", "wait"},
	}
	for _, tc := range tests {
		t.Run(tc.cond, func(t *testing.T) {
			se := module.AsStanzaError(storeError("op", tc.err))
			if se.Condition != tc.cond || se.Type != tc.typ_ {
				t.Fatalf("storeError(%v) = %s/%s, want %s/%s", tc.err, se.Type, se.Condition, tc.typ_, tc.cond)
			}
		})
	}
}
