package server

import (
	"crypto/tls"
	"encoding/xml"
	"strings"

	"github.com/xmppd/xmppd/xmpp/dom"
	"mellium.im/xmpp/jid"
)

const (
	nsTLS     = "urn:ietf:params:xml:ns:xmpp-tls"
	nsSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	nsSession = "urn:ietf:params:xml:ns:xmpp-session"
)

// negotiate runs RFC 6120 stream negotiation up to a bound resource.
func (sess *session) negotiate() error {
	failures := 0
	for {
		if err := sess.openStream(); err != nil {
			return err
		}
		switch {
		case sess.user != "":
			if err := sess.writeFeatures(sess.boundFeatures()); err != nil {
				return err
			}
			return sess.bindLoop()
		default:
			if err := sess.writeFeatures(sess.preAuthFeatures()); err != nil {
				return err
			}
			restart, err := sess.preAuthLoop(&failures)
			if err != nil {
				return err
			}
			if !restart {
				return errStreamEnd
			}
		}
	}
}

// openStream reads the client's stream header and answers with ours. On a
// bad header it still sends a header first (RFC 6120 4.9.1.2).
func (sess *session) openStream() error {
	sess.rd = newStreamReader(sess.br, sess.srv.cfg.C2S.MaxStanzaSize)
	hdr, err := sess.rd.header()
	if err != nil {
		if c := streamErrorFor(err); c != "" {
			sess.writeHeader(sess.srv.defaultDomain())
			return newStreamErr(c, "")
		}
		return err
	}
	to := attr(hdr, "to")
	domain := ""
	if j, err := jid.Parse(to); err == nil && j.Localpart() == "" && j.Resourcepart() == "" {
		domain = j.Domainpart()
	}
	if sess.domain != "" && domain != sess.domain {
		// A restarted stream must name the same host.
		domain = ""
	}
	from := domain
	if !sess.srv.domains[domain] {
		from = sess.srv.defaultDomain()
	}
	sess.writeHeader(from)
	switch {
	case hdr.Name.Space != nsStreams || hdr.Name.Local != "stream":
		return newStreamErr("invalid-namespace", "")
	case !hasDefaultClientNS(hdr):
		return newStreamErr("invalid-namespace", "")
	case to == "":
		return newStreamErr("host-unknown", "missing 'to'")
	case !sess.srv.domains[domain]:
		return newStreamErr("host-unknown", "")
	case !versionOK(attr(hdr, "version")):
		return newStreamErr("unsupported-version", "")
	}
	sess.domain = domain
	return nil
}

func hasDefaultClientNS(hdr xml.StartElement) bool {
	ns, ok := defaultNS(hdr)
	return ok && ns == nsClient
}

func versionOK(v string) bool {
	major, _, _ := strings.Cut(v, ".")
	return major == "1"
}

func (sess *session) writeHeader(from string) {
	// A fresh id for every stream, restarts included (RFC 6120 4.7.3).
	h := "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='" +
		newSessionID() + "' from='" + from + "' version='1.0' xml:lang='en'>"
	sess.out.push([]byte(h), false)
}

func (sess *session) writeFeatures(f []byte) error {
	b := append([]byte("<stream:features>"), f...)
	b = append(b, "</stream:features>"...)
	sess.out.push(b, false)
	return nil
}

func (sess *session) tlsAvailable() bool {
	return !sess.secure && sess.srv.tlsConf != nil
}

func (sess *session) preAuthFeatures() []byte {
	var b []byte
	if sess.tlsAvailable() {
		b = append(b, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"...)
		if sess.srv.cfg.C2S.RequireTLS {
			b = append(b, "<required/>"...)
		}
		b = append(b, "</starttls>"...)
	}
	if mechs := sess.mechanisms(); len(mechs) > 0 {
		b = append(b, "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"...)
		for _, m := range mechs {
			b = append(b, "<mechanism>"+m+"</mechanism>"...)
		}
		b = append(b, "</mechanisms>"...)
	}
	if sess.srv.cfg.Registration.Enabled && (sess.secure || !sess.srv.cfg.C2S.RequireTLS) {
		b = append(b, "<register xmlns='http://jabber.org/features/iq-register'/>"...)
	}
	return b
}

func (sess *session) boundFeatures() []byte {
	b := []byte("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>" +
		"<session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>" +
		"<ver xmlns='urn:xmpp:features:rosterver'/>" +
		"<sub xmlns='urn:xmpp:features:pre-approval'/>")
	return append(b, sess.srv.capsFeature()...)
}

// preAuthLoop handles STARTTLS and SASL. It returns restart=true when the
// stream must be restarted (after TLS or SASL success).
func (sess *session) preAuthLoop(failures *int) (bool, error) {
	for {
		el, err := sess.rd.next()
		if err != nil {
			return false, err
		}
		ns, _ := defaultNS(el.start)
		if ns == "" {
			ns = el.start.Name.Space
		}
		switch {
		case el.start.Name.Local == "starttls" && ns == nsTLS:
			if !sess.tlsAvailable() {
				sess.out.push([]byte("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"), false)
				return false, errStreamEnd
			}
			return true, sess.startTLS()
		case el.start.Name.Local == "auth" && ns == nsSASL:
			if sess.tlsAvailable() && sess.srv.cfg.C2S.RequireTLS {
				return false, newStreamErr("policy-violation", "STARTTLS required")
			}
			ok, err := sess.authenticate(el)
			if err != nil {
				return false, err
			}
			if ok {
				return true, nil
			}
			*failures++
			if *failures >= sess.srv.cfg.C2S.MaxAuthFailures {
				return false, newStreamErr("policy-violation", "too many failed authentication attempts")
			}
		case el.start.Name.Local == "iq" && ns == nsClient && sess.srv.register != nil:
			if err := sess.preAuthIQ(el); err != nil {
				return false, err
			}
		default:
			return false, newStreamErr("not-authorized", "")
		}
	}
}

// startTLS upgrades the connection after <proceed/>.
func (sess *session) startTLS() error {
	sess.out.writeNow([]byte("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"))
	tc := tls.Server(sess.conn, sess.srv.tlsConf)
	if err := tc.Handshake(); err != nil {
		return err
	}
	sess.conn = tc
	sess.mu.Lock()
	sess.secure = true
	sess.mu.Unlock()
	putReader(sess.br) // STARTTLS leaves nothing unread in it
	sess.br = getReader(tc)
	sess.out = newOutQueue(tc, sess.srv.cfg.C2S.QueueBytes, sess.out.timeout, sess.fail)
	return nil
}

// preAuthIQ passes in-band registration before login to the register module.
func (sess *session) preAuthIQ(el *element) error {
	if sess.tlsAvailable() && sess.srv.cfg.C2S.RequireTLS {
		return newStreamErr("policy-violation", "STARTTLS required")
	}
	st, err := buildStanza(el, jid.JID{})
	if err != nil {
		return newStreamErr("bad-format", "")
	}
	payload := st.Payload()
	if payload == nil || payload.Space != "jabber:iq:register" {
		return newStreamErr("not-authorized", "")
	}
	reply, err := sess.srv.register.RegisterUnauthenticated(sess.srv.baseCtx, sess.domain, sess.info.Remote, st)
	if err != nil {
		return err
	}
	sess.out.push(reply, false)
	return nil
}

// bindLoop waits for resource binding (RFC 6120 7).
func (sess *session) bindLoop() error {
	for {
		el, err := sess.rd.next()
		if err != nil {
			return err
		}
		if el.start.Name.Local != "iq" {
			return newStreamErr("not-authorized", "bind first")
		}
		iq, err := dom.Parse(el.raw)
		if err != nil {
			return newStreamErr("not-well-formed", "")
		}
		id := iq.Get("id")
		b := iq.Child(nsBind, "bind")
		if b == nil || iq.Get("type") != "set" {
			sess.out.push(iqError(id, "", "cancel", "not-allowed"), false)
			continue
		}
		res := b.ChildText(nsBind, "resource")
		full, errCond := sess.srv.bind(sess, res)
		if errCond != "" {
			typ := "cancel"
			if errCond == "resource-constraint" {
				typ = "wait"
			} else if errCond == "bad-request" {
				typ = "modify"
			}
			sess.out.push(iqError(id, "", typ, errCond), false)
			continue
		}
		out := "<iq type='result' id='" + string(escapeAttr(id)) + "'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>" +
			string(appendEscaped(nil, full.String())) + "</jid></bind></iq>"
		sess.out.push([]byte(out), false)
		sess.log = sess.log.With("jid", full.String())
		sess.log.Info("session bound")
		return nil
	}
}

// iqError renders an error reply to an IQ of the negotiation phase.
func iqError(id, to, typ, cond string) []byte {
	b := []byte("<iq type='error' id='")
	b = append(b, escapeAttr(id)...)
	b = append(b, '\'')
	if to != "" {
		b = append(b, " to='"...)
		b = append(b, escapeAttr(to)...)
		b = append(b, '\'')
	}
	b = append(b, "><error type='"+typ+"'><"+cond+" xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"...)
	return b
}

func escapeAttr(s string) []byte { return dom.EscapeAttr(nil, s) }

func appendEscaped(b []byte, s string) []byte { return dom.EscapeText(b, s) }
