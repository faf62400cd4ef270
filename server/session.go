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

// releaseAfter is how long a stream may be silent before its read buffer
// goes back to the pool (see loop); Server.releaseAfter overrides it.
const releaseAfter = 10 * time.Second

// readerPool holds the read buffers of streams that are not idle.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

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

// loop reads stanzas until the stream ends. A busy stream reads in bulk
// through a 4 KiB buffer. After releaseAfter of silence (and nothing half
// read) the buffer goes back to a pool and the goroutine waits for the
// next byte in a one-byte read from a shallow frame, so an idle session
// holds neither a read buffer nor a deep stack. The idle_timeout deadline
// runs from the last element received in both modes.
func (sess *session) loop() error {
	idle := sess.srv.cfg.C2S.IdleTimeout.Duration
	release := releaseAfter
	if sess.srv.releaseAfter > 0 {
		release = sess.srv.releaseAfter
	}
	release = min(release, idle)
	ctx := context.Background()
	sess.stamp = stamper{from: sess.jid, fromStr: sess.jid.String()}
	wake := &wakeReader{r: sess.conn}
	last, armed := time.Now(), time.Time{}
	for {
		if !sess.rd.attached() {
			_ = sess.conn.SetReadDeadline(last.Add(idle))
			if _, err := io.ReadFull(sess.conn, wake.b[:]); err != nil {
				return err
			}
			wake.has = true
			br := readerPool.Get().(*bufio.Reader)
			br.Reset(wake)
			sess.rd.attach(br)
			armed = time.Time{}
		}
		// Re-armed only when a quarter of the window has passed, so a busy
		// stream does not reset a timer per stanza.
		if now := time.Now(); now.Sub(armed) > release/4 {
			d := now.Add(release)
			if end := last.Add(idle); end.Before(d) {
				d = end
			}
			_ = sess.conn.SetReadDeadline(d)
			armed = now
		}
		el, err := sess.rd.next()
		if err != nil {
			if isTimeout(err) && time.Now().Before(last.Add(idle)) && sess.rd.resumable() {
				if br := sess.rd.detach(); br != nil {
					br.Reset(nil)
					readerPool.Put(br)
					sess.released.Add(1)
				}
				armed = time.Time{}
				continue
			}
			return err
		}
		last = time.Now()
		if err := sess.handle(ctx, el); err != nil {
			return err
		}
	}
}

// handle processes one element. Messages, the hot path, are handled on the
// reader goroutine. IQs and presence go through storage (roster, vCard,
// SQLite) with deep call stacks: they run on a short-lived goroutine the
// reader waits for, so the stack of the goroutine that stays blocked on an
// idle connection never grows (Go stacks only shrink at GC).
func (sess *session) handle(ctx context.Context, el *element) error {
	if el.start.Name.Local == "message" {
		return sess.srv.handleElement(ctx, sess, el)
	}
	done := make(chan error, 1)
	go func() { done <- sess.srv.handleElement(ctx, sess, el) }()
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
