package ldap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/xmppd/xmppd/directory"
)

// minBackoff is the first wait after a failed connection attempt; it doubles
// up to the configured maximum and resets on the first success.
const minBackoff = 50 * time.Millisecond

// pool is a bounded set of connections opened by dial. At most size
// connections exist at once; idle ones are reused. While the server is
// unreachable, dial attempts are spaced by an exponential backoff and the
// callers in between fail at once with directory.ErrUnavailable instead of
// piling up on a dead address.
type pool struct {
	name string
	dial func(ctx context.Context) (*goldap.Conn, error)
	sem  chan struct{}
	idle chan *goldap.Conn
	n    *counters

	mu       sync.Mutex
	closed   bool
	backoff  time.Duration
	maxB     time.Duration
	nextDial time.Time
}

func newPool(name string, size int, maxB time.Duration, dial func(context.Context) (*goldap.Conn, error), n *counters) *pool {
	return &pool{
		name: name, dial: dial, n: n, maxB: maxB,
		sem:  make(chan struct{}, size),
		idle: make(chan *goldap.Conn, size),
	}
}

// get returns a connection and whether it was reused from the idle set
// (and so may have gone stale since).
func (p *pool) get(ctx context.Context) (*goldap.Conn, bool, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, false, unavailable(p.name+" pool", ctx.Err())
	}
	for {
		select {
		case c := <-p.idle:
			if c.IsClosing() {
				c.Close()
				continue
			}
			return c, true, nil
		default:
		}
		break
	}
	c, err := p.connect(ctx)
	if err != nil {
		<-p.sem
		return nil, false, err
	}
	return c, false, nil
}

// connect dials unless the backoff says to wait.
func (p *pool) connect(ctx context.Context) (*goldap.Conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, unavailable(p.name+" pool", errors.New("closed"))
	}
	if wait := time.Until(p.nextDial); wait > 0 {
		p.mu.Unlock()
		return nil, unavailable(p.name+" pool", fmt.Errorf("reconnecting in %s", wait.Round(time.Millisecond)))
	}
	p.mu.Unlock()
	p.n.dials.Add(1)
	c, err := p.dial(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.n.dialErrs.Add(1)
		if ctx.Err() == nil { // a caller giving up is not the server's fault
			p.backoff = min(max(2*p.backoff, minBackoff), p.maxB)
			p.nextDial = time.Now().Add(p.backoff)
		}
		return nil, unavailable("connect", err)
	}
	p.backoff, p.nextDial = 0, time.Time{}
	return c, nil
}

// put gives c back; a connection that failed is closed instead.
func (p *pool) put(c *goldap.Conn, healthy bool) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if healthy && !closed && !c.IsClosing() {
		select {
		case p.idle <- c:
		default:
			c.Close()
		}
	} else {
		c.Close()
	}
	<-p.sem
}

func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for {
		select {
		case c := <-p.idle:
			c.Close()
		default:
			return
		}
	}
}

// do runs fn on a pooled connection with the operation timeout of ctx;
// cancelling ctx closes the connection, which aborts fn. When retry is set
// and a reused connection turns out to be dead (the server restarted since),
// fn runs once more on a fresh connection; only idempotent reads set it.
func (p *pool) do(ctx context.Context, timeout func(context.Context) time.Duration, retry bool, fn func(*goldap.Conn) error) error {
	for attempt := 0; ; attempt++ {
		c, reused, err := p.get(ctx)
		if err != nil {
			return err
		}
		c.SetTimeout(timeout(ctx))
		stop := context.AfterFunc(ctx, func() { c.Close() })
		err = fn(c)
		stop()
		broken := connBroken(err) || ctx.Err() != nil
		p.put(c, !broken)
		if broken && retry && reused && attempt == 0 && ctx.Err() == nil {
			continue
		}
		if ctx.Err() != nil && err != nil {
			return unavailable(p.name, fmt.Errorf("%w (%w)", ctx.Err(), err))
		}
		return err
	}
}

// connBroken reports whether err means the connection itself failed (as
// opposed to an LDAP result such as invalid credentials).
func connBroken(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	return goldap.IsErrorAnyOf(err, goldap.ErrorNetwork, goldap.LDAPResultServerDown,
		goldap.LDAPResultBusy, goldap.LDAPResultUnavailable, goldap.LDAPResultTimeout,
		goldap.ErrorUnexpectedMessage, goldap.ErrorUnexpectedResponse, goldap.ErrorMalformedPacket) ||
		errors.As(err, &ne)
}

// classify maps an LDAP error to the directory errors: nothing the caller
// could fix by retrying with other input becomes ErrUnavailable.
func classify(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, directory.ErrUnavailable):
		return err
	case goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) && !connBroken(err):
		return fmt.Errorf("ldap: %s: %w", op, err)
	default:
		return unavailable(op, err)
	}
}
