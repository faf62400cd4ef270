package server

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"mellium.im/xmpp/jid"
)

// ConnInfo describes where a client connection came from.
type ConnInfo struct {
	// Remote is the client's address (the real one when behind a mux).
	Remote string
	// Via names the multiplexor the connection came through ("" if direct).
	Via string
	// Secure is true when TLS was terminated before us (direct TLS at a
	// mux): STARTTLS is then not offered and SASL is allowed.
	Secure bool
}

// session is one client stream. It is owned by its reader goroutine (run);
// other goroutines only push to its outbound queue and read the presence
// fields under mu.
type session struct {
	srv  *Server
	conn net.Conn
	info ConnInfo
	id   string
	log  *slog.Logger

	br     *bufio.Reader
	rd     *streamReader
	out    *outQueue
	secure bool   // TLS in place (ours or the mux's)
	domain string // hosted domain from the stream header
	user   string // authenticated bare JID ("" before SASL)
	jid    jid.JID
	bound  bool

	mu              sync.Mutex
	available       bool
	priority        int
	presence        []byte
	presenceAt      time.Time
	rosterRequested bool
	carbons         bool

	stamp     stamper // owned by the reader goroutine
	ending    atomic.Bool
	endReason atomic.Value // string
	started   time.Time
}

func newSessionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on Linux
	return hex.EncodeToString(b[:])
}

// serveConn runs a client stream to its end.
func (s *Server) serveConn(c net.Conn, info ConnInfo) {
	sess := &session{
		srv: s, conn: c, info: info, id: newSessionID(),
		secure: info.Secure, started: time.Now(),
	}
	if _, ok := c.(*tls.Conn); ok {
		sess.secure = true
	}
	sess.log = s.log.With("session", sess.id, "remote", info.Remote)
	if info.Via != "" {
		sess.log = sess.log.With("via", info.Via)
	}
	sess.out = newOutQueue(c, s.cfg.C2S.QueueBytes, 30*time.Second, sess.fail)
	if !s.track(sess) {
		_ = c.Close()
		return
	}
	defer s.untrack(sess)
	sess.run()
}

// fail ends the session from another goroutine (slow consumer, write
// error, shutdown, conflict): closing the connection unblocks the reader.
func (sess *session) fail(err error) {
	if !sess.ending.CompareAndSwap(false, true) {
		return
	}
	sess.endReason.Store(err.Error())
	var sc slowConsumerError
	if errors.As(err, &sc) {
		sess.srv.stats.slowConsumers.Add(1)
		sess.log.Warn("cut off slow consumer", "jid", sess.jid.String())
	}
	_ = sess.conn.Close()
}

// kick ends the session with a stream error written first.
func (sess *session) kick(cond, text string) {
	if sess.ending.Load() {
		return
	}
	go func() {
		sess.out.writeNow(streamError(cond, text))
		sess.fail(fmt.Errorf("server: %s", cond))
	}()
}

func (sess *session) run() {
	srv := sess.srv
	deadline := time.Now().Add(srv.cfg.C2S.NegotiationTimeout.Duration)
	_ = sess.conn.SetDeadline(deadline)
	// Negotiation (TLS handshake, SCRAM, storage) needs a deep stack; it
	// runs in a goroutine of its own that then exits, so the goroutine that
	// stays blocked reading an idle stream keeps a small stack.
	done := make(chan error, 1)
	go func() {
		if tc, ok := sess.conn.(*tls.Conn); ok {
			if err := tc.Handshake(); err != nil {
				done <- fmt.Errorf("server: direct TLS handshake: %w", err)
				return
			}
		}
		sess.br = bufio.NewReaderSize(sess.conn, 4096)
		done <- sess.negotiate()
	}()
	err := <-done
	if err == nil {
		_ = sess.conn.SetDeadline(time.Time{})
		err = sess.loop()
	}
	sess.end(err)
}

// end tears the session down: stream error if any, unbind, hooks.
func (sess *session) end(err error) {
	cond := ""
	var se *streamErr
	switch {
	case errors.As(err, &se):
		cond = se.cond
		if !sess.ending.Load() {
			sess.out.writeNow(streamError(se.cond, se.text))
		}
	case err == nil || errors.Is(err, errStreamEnd):
		if !sess.ending.Load() {
			sess.out.writeNow([]byte("</stream:stream>"))
		}
	default:
		if c := streamErrorFor(err); c != "" && !sess.ending.Load() {
			cond = c
			sess.out.writeNow(streamError(c, ""))
		} else if isTimeout(err) && !sess.ending.Load() {
			cond = "connection-timeout"
			sess.out.writeNow(streamError("connection-timeout", ""))
		}
	}
	sess.ending.Store(true)
	_ = sess.conn.Close()
	lost := sess.out.close()
	if sess.bound {
		sess.srv.unbind(sess, lost)
	}
	reason, _ := sess.endReason.Load().(string)
	if reason == "" && err != nil && !errors.Is(err, errStreamEnd) && !errors.Is(err, io.EOF) {
		reason = err.Error()
	}
	sess.log.Debug("session ended", "jid", sess.jid.String(), "stream_error", cond, "reason", reason)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

// loop reads stanzas until the stream ends.
func (sess *session) loop() error {
	idle := sess.srv.cfg.C2S.IdleTimeout.Duration
	ctx := context.Background()
	sess.stamp = stamper{from: sess.jid, fromStr: sess.jid.String()}
	// The idle deadline is re-armed only when a quarter of it has passed:
	// a stream is closed after between 3/4 and all of idle_timeout of
	// silence, and a busy stream does not reset a timer per stanza.
	var armed time.Time
	for {
		if now := time.Now(); now.Sub(armed) > idle/4 {
			_ = sess.conn.SetReadDeadline(now.Add(idle))
			armed = now
		}
		el, err := sess.rd.next()
		if err != nil {
			return err
		}
		if err := sess.srv.handleElement(ctx, sess, el); err != nil {
			return err
		}
	}
}

// send queues a stanza for this session.
func (sess *session) send(raw []byte, msg bool) bool {
	return sess.out.push(raw, msg)
}

// streamErr is a stream-level error to write before closing.
type streamErr struct{ cond, text string }

func (e *streamErr) Error() string { return "stream error: " + e.cond + " " + e.text }

func newStreamErr(cond, text string) error { return &streamErr{cond, text} }

// streamError renders a stream error followed by the closing tag.
func streamError(cond, text string) []byte {
	b := []byte("<stream:error><" + cond + " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>")
	if text != "" {
		b = append(b, "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>"...)
		b = appendEscaped(b, text)
		b = append(b, "</text>"...)
	}
	return append(b, "</stream:error></stream:stream>"...)
}
