package link

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Digest is the XEP-0114 handshake value: hex(SHA-1(id + secret)).
func Digest(id, secret string) string {
	sum := sha1.Sum([]byte(id + secret))
	return hex.EncodeToString(sum[:])
}

func serverHeader(from, id string) string {
	var sb strings.Builder
	sb.WriteString("<?xml version='1.0'?><stream:stream xmlns:stream='" + NSStream +
		"' xmlns='" + NSComponent + "'")
	if from != "" {
		sb.WriteString(" from='" + escape(from) + "'")
	}
	if id != "" {
		sb.WriteString(" id='" + id + "'")
	}
	sb.WriteString(">")
	return sb.String()
}

func clientHeader(to string) string {
	return "<?xml version='1.0'?><stream:stream xmlns:stream='" + NSStream +
		"' xmlns='" + NSComponent + "' to='" + escape(to) + "'>"
}

func errorXML(e *StreamError) string {
	s := "<stream:error><" + e.Condition + " xmlns='" + NSStreamErr + "'/>"
	if e.Text != "" {
		s += "<text xmlns='" + NSStreamErr + "'>" + escape(e.Text) + "</text>"
	}
	return s + "</stream:error></stream:stream>"
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return hex.EncodeToString(b[:])
}

// AcceptHandshake runs the server side of the XEP-0114 handshake on c.
// secret looks a multiplexor name up; ok false answers host-unknown. On
// failure the stream error is written to the peer (after the server's
// own header, as RFC 6120 section 4.9.1.2 requires) and returned; the
// caller closes c. On success nothing past </handshake> has been read.
func AcceptHandshake(c net.Conn, timeout time.Duration, secret func(name string) (string, bool)) (name string, err error) {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", fmt.Errorf("link: %w", err)
	}
	r := newReader(c)
	id := newID()
	sent := false
	name, err = acceptSteps(c, r, id, &sent, secret)
	if err != nil {
		var se *StreamError
		if errors.As(err, &se) {
			// Best effort: the peer may already be gone.
			if !sent {
				_, _ = io.WriteString(c, serverHeader(name, ""))
			}
			_, _ = io.WriteString(c, errorXML(se))
		}
		return name, err
	}
	if _, err := io.WriteString(c, "<handshake/>"); err != nil {
		return name, fmt.Errorf("link: %w", err)
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return name, fmt.Errorf("link: %w", err)
	}
	return name, nil
}

// acceptSteps reads the header, answers it and checks the handshake. The
// server header is written only once the peer's header is known to be
// valid; errors before that are written after a bare header by the caller.
func acceptSteps(c net.Conn, r *reader, id string, sent *bool, secret func(string) (string, bool)) (string, error) {
	se, err := r.next()
	if err != nil {
		return "", err
	}
	if err := checkHeader(se); err != nil {
		return "", err
	}
	name := attr(se, "", "to")
	if name == "" {
		return "", &StreamError{Condition: "improper-addressing", Text: "missing 'to'"}
	}
	key, ok := secret(name)
	if !ok {
		return "", &StreamError{Condition: "host-unknown", Text: "unknown multiplexor " + name}
	}
	*sent = true
	if _, err := io.WriteString(c, serverHeader(name, id)); err != nil {
		return name, fmt.Errorf("link: %w", err)
	}
	hs, err := r.next()
	if err != nil {
		return name, err
	}
	if hs.Name.Local != "handshake" || hs.Name.Space != NSComponent {
		return name, &StreamError{Condition: "not-authorized", Text: "expected <handshake/>"}
	}
	got, err := r.text()
	if err != nil {
		return name, err
	}
	want := Digest(id, key)
	got = strings.ToLower(strings.TrimSpace(got))
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return name, &StreamError{Condition: "not-authorized", Text: "handshake mismatch"}
	}
	return name, nil
}

// Handshake runs the multiplexor side of the XEP-0114 handshake on c as
// name with secret. It returns a *StreamError (wrapped) when the server
// refuses. On success nothing past the server's <handshake/> was read.
func Handshake(c net.Conn, timeout time.Duration, name, secret string) error {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("link: %w", err)
	}
	if _, err := io.WriteString(c, clientHeader(name)); err != nil {
		return fmt.Errorf("link: %w", err)
	}
	r := newReader(c)
	se, err := r.next()
	if err != nil {
		return err
	}
	if err := checkHeader(se); err != nil {
		return fmt.Errorf("link: server header: %w", err)
	}
	id := attr(se, "", "id")
	if id == "" {
		// A header without id precedes a stream error.
		if el, err := r.next(); err == nil && el.Name.Local == "error" && el.Name.Space == NSStream {
			return r.streamError()
		}
		return fmt.Errorf("link: server header without id")
	}
	if _, err := io.WriteString(c, "<handshake>"+Digest(id, secret)+"</handshake>"); err != nil {
		return fmt.Errorf("link: %w", err)
	}
	el, err := r.next()
	if err != nil {
		return err
	}
	switch {
	case el.Name.Local == "handshake" && el.Name.Space == NSComponent:
		if _, err := r.text(); err != nil {
			return err
		}
	case el.Name.Local == "error" && el.Name.Space == NSStream:
		return r.streamError()
	default:
		return fmt.Errorf("link: unexpected <%s/> instead of <handshake/>", el.Name.Local)
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return fmt.Errorf("link: %w", err)
	}
	return nil
}
