package mux

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/xmppd/xmppd/mux/link"
)

// dial opens the link: TCP, optional TLS, XEP-0114 handshake, yamux.
func (m *Mux) dial(ctx context.Context) (*yamux.Session, error) {
	timeout := m.cfg.Mux.HandshakeTimeout.Duration
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := net.Dialer{KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, "tcp", m.cfg.Mux.Server)
	if err != nil {
		return nil, fmt.Errorf("mux: dial: %w", err)
	}
	if m.cfg.Mux.ServerTLS {
		tc, err := m.clientTLS()
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		t := tls.Client(c, tc)
		if err := t.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("mux: tls to server: %w", err)
		}
		c = t
	}
	if err := link.Handshake(c, timeout, m.cfg.Mux.Name, m.cfg.Mux.Secret); err != nil {
		_ = c.Close()
		return nil, err
	}
	sess, err := link.Client(c, m.tuning())
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("mux: yamux: %w", err)
	}
	return sess, nil
}

func (m *Mux) tuning() link.Tuning {
	return link.Tuning{
		Window:    uint32(m.cfg.Limits.ClientBufferBytes),
		KeepAlive: m.cfg.Mux.KeepAlive.Duration,
	}
}

func (m *Mux) clientTLS() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: m.cfg.Mux.ServerName}
	if tc.ServerName == "" {
		host, _, err := net.SplitHostPort(m.cfg.Mux.Server)
		if err != nil {
			return nil, fmt.Errorf("mux: mux.server: %w", err)
		}
		tc.ServerName = host
	}
	if m.cfg.Mux.ServerCA != "" {
		pem, err := os.ReadFile(m.cfg.Mux.ServerCA)
		if err != nil {
			return nil, fmt.Errorf("mux: mux.server_ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mux: mux.server_ca: no certificate in %s", m.cfg.Mux.ServerCA)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// backoff returns the wait before attempt n (1-based): exponential from
// 250 ms, capped, with jitter in [d/2, d) so muxes do not reconnect in step.
func backoff(n int, ceiling time.Duration) time.Duration {
	d := 250 * time.Millisecond
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	return d/2 + rand.N(d/2+1)
}

// linkLoop keeps the link up until ctx is done.
func (m *Mux) linkLoop(ctx context.Context) {
	attempt := 0
	for ctx.Err() == nil {
		sess, err := m.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			attempt++
			m.ctr.connectFailures.Add(1)
			wait := backoff(attempt, m.cfg.Mux.ReconnectMax.Duration)
			m.log.Warn("mux link to server failed", "server", m.cfg.Mux.Server, "err", err,
				"attempt", attempt, "retry_in", wait.Round(time.Millisecond))
			if !sleepCtx(ctx, wait) {
				return
			}
			continue
		}
		attempt = 0
		if m.ctr.linksUp.Add(1) > 1 {
			m.ctr.reconnects.Add(1)
		}
		m.ctr.linkSince.Store(time.Now().UnixNano())
		m.sess.Store(sess)
		m.log.Info("mux link up", "server", m.cfg.Mux.Server)
		select {
		case <-sess.CloseChan():
		case <-ctx.Done():
		}
		m.sess.Store(nil)
		_ = sess.Close() // always nil
		n := m.closeClients()
		if ctx.Err() == nil {
			m.ctr.linkDrops.Add(1)
			m.log.Warn("mux link down, clients closed", "server", m.cfg.Mux.Server, "clients", n)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// isClosed reports a listener closed on purpose.
func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }
