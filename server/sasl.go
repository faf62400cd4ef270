package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/xmpp/dom"
	"mellium.im/sasl"
	"mellium.im/xmpp/jid"
)

// mechanisms lists the SASL mechanisms offered on this stream. PLAIN needs
// TLS unless the operator allowed it in the clear; nothing is offered
// before STARTTLS when TLS is required.
func (sess *session) mechanisms() []string {
	cfg := sess.srv.cfg.C2S
	if !sess.secure && cfg.RequireTLS && sess.srv.tlsConf != nil {
		return nil
	}
	var out []string
	for _, m := range sess.srv.store.Mechanisms() {
		switch m {
		case "PLAIN":
			if sess.secure || cfg.AllowPlainWithoutTLS {
				out = append(out, m)
			}
		case "SCRAM-SHA-256", "SCRAM-SHA-1":
			out = append(out, m)
		}
	}
	return out
}

func saslMechanism(name string) (sasl.Mechanism, bool) {
	switch name {
	case "SCRAM-SHA-256":
		return sasl.ScramSha256, true
	case "SCRAM-SHA-1":
		return sasl.ScramSha1, true
	case "PLAIN":
		return sasl.Plain, true
	}
	return sasl.Mechanism{}, false
}

// saslFailure renders <failure/> with a condition.
func saslFailure(cond string) []byte {
	return []byte("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><" + cond + "/></failure>")
}

// authState collects what the SASL callbacks learned.
type authState struct {
	user    string // bare JID that authenticated
	failure string // SASL condition to send on failure
}

// authenticate runs one SASL exchange. It returns true on success; false
// after a <failure/> was sent (the client may try again).
func (sess *session) authenticate(el *element) (bool, error) {
	auth, err := dom.Parse(el.raw)
	if err != nil {
		return false, newStreamErr("not-well-formed", "")
	}
	name := auth.Get("mechanism")
	mech, ok := saslMechanism(name)
	if !ok || !contains(sess.mechanisms(), name) {
		sess.out.push(saslFailure("invalid-mechanism"), false)
		return false, nil
	}
	st := &authState{failure: "not-authorized"}
	ctx, cancel := context.WithTimeout(sess.srv.baseCtx, 15*time.Second)
	defer cancel()
	opts := []sasl.Option{sasl.SaltedCredentials(sess.scramFetcher(ctx, st, name))}
	if tc, ok := sess.tlsState(); ok {
		opts = append(opts, sasl.TLSState(tc))
	}
	neg := sasl.NewServer(mech, sess.plainCheck(ctx, st), opts...)

	data, ok := decodeSASL(auth.Text, true)
	if !ok {
		sess.out.push(saslFailure("incorrect-encoding"), false)
		return false, nil
	}
	if data == nil {
		// No initial response: send an empty challenge (RFC 6120 6.4.2).
		if data, err = sess.saslResponse([]byte("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>")); err != nil || data == nil {
			return false, err
		}
	}
	for {
		more, resp, err := stepSafely(neg, data)
		if err != nil {
			sess.srv.stats.authFailures.Add(1)
			sess.log.Info("authentication failed", "mechanism", name, "user", st.user, "err", err)
			sess.out.push(saslFailure(st.failure), false)
			return false, nil
		}
		if !more {
			if st.user == "" {
				sess.out.push(saslFailure("not-authorized"), false)
				return false, nil
			}
			sess.user = st.user
			out := "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
			if len(resp) > 0 {
				out = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + base64.StdEncoding.EncodeToString(resp) + "</success>"
			}
			sess.out.push([]byte(out), false)
			sess.log.Info("authenticated", "user", st.user, "mechanism", name)
			return true, nil
		}
		ch := "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + base64.StdEncoding.EncodeToString(resp) + "</challenge>"
		if data, err = sess.saslResponse([]byte(ch)); err != nil || data == nil {
			return false, err
		}
	}
}

// stepSafely runs a SASL step; mellium panics on some inputs (e.g. a
// -PLUS request), which must never take the server down.
func stepSafely(n *sasl.Negotiator, data []byte) (more bool, resp []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New("server: sasl step panicked")
		}
	}()
	return n.Step(data)
}

// saslResponse sends a challenge and reads the client's <response/>. It
// returns nil data (and no error) after answering an <abort/> or bad input.
func (sess *session) saslResponse(challenge []byte) ([]byte, error) {
	sess.out.push(challenge, false)
	el, err := sess.rd.next()
	if err != nil {
		return nil, err
	}
	e, err := dom.Parse(el.raw)
	if err != nil {
		return nil, newStreamErr("not-well-formed", "")
	}
	switch {
	case e.Local == "abort" && e.Space == nsSASL:
		sess.out.push(saslFailure("aborted"), false)
		return nil, nil
	case e.Local == "response" && e.Space == nsSASL:
		data, ok := decodeSASL(e.Text, false)
		if !ok {
			sess.out.push(saslFailure("incorrect-encoding"), false)
			return nil, nil
		}
		if data == nil {
			data = []byte{}
		}
		return data, nil
	}
	return nil, newStreamErr("not-authorized", "")
}

// decodeSASL decodes base64 SASL data; "=" is an empty response. For the
// initial response, no text at all means "none" (nil).
func decodeSASL(s string, initial bool) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		if initial {
			return nil, true
		}
		return nil, true
	}
	if s == "=" {
		return []byte{}, true
	}
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

// userJID turns a SASL username (localpart or bare JID) into a prepared
// bare JID of the stream's domain.
func (sess *session) userJID(username string) (string, bool) {
	local := username
	if l, d, ok := strings.Cut(username, "@"); ok {
		if d != sess.domain {
			return "", false
		}
		local = l
	}
	j, err := jid.New(local, sess.domain, "")
	if err != nil || j.Localpart() == "" {
		return "", false
	}
	return j.String(), true
}

// authzOK accepts an empty authorization identity or one naming the
// authenticated user itself: nobody may become somebody else.
func (sess *session) authzOK(user string, authzid []byte) bool {
	if len(authzid) == 0 {
		return true
	}
	j, err := jid.Parse(string(authzid))
	return err == nil && j.Resourcepart() == "" && j.String() == user
}

func (sess *session) plainCheck(ctx context.Context, st *authState) func(*sasl.Negotiator) bool {
	return func(n *sasl.Negotiator) bool {
		username, password, authzid := n.Credentials()
		user, ok := sess.userJID(string(username))
		if !ok {
			return false
		}
		if !sess.authzOK(user, authzid) {
			st.failure = "invalid-authzid"
			return false
		}
		err := sess.srv.store.CheckPassword(ctx, user, string(password))
		if err != nil {
			if errors.Is(err, directory.ErrUnavailable) {
				st.failure = "temporary-auth-failure"
			}
			return false
		}
		st.user = user
		return true
	}
}

func (sess *session) scramFetcher(ctx context.Context, st *authState, mech string) sasl.SaltedCredentialsFetcher {
	return func(username, authzid []byte, _ string) ([]byte, []byte, int64, error) {
		user, ok := sess.userJID(string(username))
		if !ok {
			return nil, nil, 0, errors.New("server: bad username")
		}
		if !sess.authzOK(user, authzid) {
			st.failure = "invalid-authzid"
			return nil, nil, 0, errors.New("server: authzid names another user")
		}
		c, err := sess.srv.store.SCRAM(ctx, user, mech)
		switch {
		case err == nil:
			st.user = user
			return c.Salt, c.Salted, int64(c.Iterations), nil
		case errors.Is(err, directory.ErrNotFound):
			// Answer as for a real account so usernames cannot be probed;
			// the proof can never match.
			return sess.srv.fakeSalt(user), sess.srv.fakeSalt(user + "/p"), int64(sess.srv.cfg.C2S.SCRAMIterations), nil
		case errors.Is(err, directory.ErrUnavailable):
			st.failure = "temporary-auth-failure"
		}
		return nil, nil, 0, err
	}
}

// fakeSalt derives a stable per-user salt from a per-process secret.
func (s *Server) fakeSalt(user string) []byte {
	m := hmac.New(sha256.New, s.secret[:])
	m.Write([]byte(user))
	return m.Sum(nil)[:16]
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
