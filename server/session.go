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

	stamp     stamper      // owned by the reader goroutine
	wake      wakeReader   // idle wait's byte (reader goroutine)
	last      time.Time    // last element received (reader goroutine)
	armed     time.Time    // when the read deadline was last set (reader goroutine)
	released  atomic.Int64 // times the read buffer went back to the pool
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
	// runs on a pooled worker (runDeep), so the goroutine that stays
	// blocked reading an idle stream keeps a small stack.
	done := make(chan error, 1)
	runDeep(func() {
		if tc, ok := sess.conn.(*tls.Conn); ok {
			if err := tc.Handshake(); err != nil {
				done <- fmt.Errorf("server: direct TLS handshake: %w", err)
				return
			}
		}
		sess.br = getReader(sess.conn)
		done <- sess.negotiate()
	})
	if err := <-done; err != nil {
		sess.finish(err)
		return
	}
	_ = sess.conn.SetDeadline(time.Time{})
	sess.br = nil // the stream reader has it; it goes back to the pool on silence
	sess.stamp = stamper{from: sess.jid, fromStr: sess.jid.String()}
	sess.wake.r = sess.conn
	sess.last = time.Now()
	sess.serve()
}

// serve reads stanzas until the stream ends or falls silent. On silence
// the wait for the next byte is handed to a fresh goroutine and this one
// exits: Go stacks shrink only at GC, by half, and only while less than
// a quarter is in use, so a goroutine that once routed a stanza deep into
// storage would keep that stack through hours of idleness, while a new
// goroutine starts small. The session lives on in whichever goroutine
// reads it; finish runs exactly once, in the last.
func (sess *session) serve() {
	err := sess.loop()
	if errors.Is(err, errIdle) {
		sess.srv.Go(sess.waitIdle)
		return
	}
	sess.finish(err)
}

// waitIdle waits for the next byte of an idle stream in a one-byte read
// from a shallow frame, then takes a read buffer from the pool and goes
// back to serve.
func (sess *session) waitIdle() {
	_ = sess.conn.SetReadDeadline(sess.last.Add(sess.srv.cfg.C2S.IdleTimeout.Duration))
	if _, err := io.ReadFull(sess.conn, sess.wake.b[:]); err != nil {
		sess.finish(err)
		return
	}
	sess.wake.has = true
	sess.rd.attach(getReader(&sess.wake))
	sess.armed = time.Time{}
	sess.serve()
}

// finish ends the session and forgets it.
func (sess *session) finish(err error) {
	sess.end(err)
	sess.srv.untrack(sess)
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

// releaseAfter is how long a stream may be silent before its read buffer
// goes back to the pool (see loop); Server.releaseAfter overrides it.
const releaseAfter = 10 * time.Second

// wakeReader returns the byte that woke an idle stream, then reads on.
type wakeReader struct {
	b   [1]byte
	has bool
	r   io.Reader
}

func (w *wakeReader) Read(p []byte) (int, error) {
	if w.has && len(p) > 0 {
		p[0], w.has = w.b[0], false
		return 1, nil
	}
	return w.r.Read(p)
}

// errIdle: the stream fell silent with nothing half read (see serve).
var errIdle = errors.New("server: stream idle")

// loop reads stanzas through a 4 KiB buffer until the stream ends, or
// until releaseAfter of silence with nothing half read: then the buffer
// goes back to the pool and loop returns errIdle, so an idle session
// holds neither a read buffer nor a deep stack (see serve). The
// idle_timeout deadline runs from the last element received.
func (sess *session) loop() error {
	idle := sess.srv.cfg.C2S.IdleTimeout.Duration
	release := releaseAfter
	if sess.srv.releaseAfter > 0 {
		release = sess.srv.releaseAfter
	}
	release = min(release, idle)
	ctx := context.Background()
	for {
		// Re-armed only when a quarter of the window has passed, so a busy
		// stream does not reset a timer per stanza.
		if now := time.Now(); now.Sub(sess.armed) > release/4 {
			d := now.Add(release)
			if end := sess.last.Add(idle); end.Before(d) {
				d = end
			}
			_ = sess.conn.SetReadDeadline(d)
			sess.armed = now
		}
		el, err := sess.rd.next()
		if err != nil {
			if isTimeout(err) && time.Now().Before(sess.last.Add(idle)) && sess.rd.resumable() {
				if br := sess.rd.detach(); br != nil {
					putReader(br)
					sess.released.Add(1)
					return errIdle
				}
				// Part of a stanza is buffered: keep reading it.
				sess.armed = time.Time{}
				continue
			}
			return err
		}
		sess.last = time.Now()
		if err := sess.handle(ctx, el); err != nil {
			return err
		}
	}
}

// handle processes one element. Messages, the hot path, are handled on the
// reader goroutine. IQs and presence go through storage (roster, vCard,
// SQLite) with deep call stacks: they run on a pooled worker the reader
// waits for, which keeps its grown stack between jobs, while the reader's
// stays shallow (see serve for why that matters).
func (sess *session) handle(ctx context.Context, el *element) error {
	if el.start.Name.Local == "message" {
		return sess.srv.handleElement(ctx, sess, el)
	}
	done := make(chan error, 1)
	runDeep(func() { done <- sess.srv.handleElement(ctx, sess, el) })
	return <-done
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
