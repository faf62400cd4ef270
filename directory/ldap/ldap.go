// Package ldap is the LDAP directory backend (RFC 4510-4519, with RFC 4513
// simple binds for authentication and RFC 3062 password modify): it
// implements directory.Accounts with github.com/go-ldap/ldap/v3.
//
// Passwords are checked by binding as the user's entry, so the backend can
// only answer SASL PLAIN: SCRAM needs the salted password, which a directory
// does not hand out. Rosters and private data are not LDAP's job; the server
// pairs these Accounts with the embedded store for them.
package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory"
	"mellium.im/xmpp/jid"
)

var _ directory.Accounts = (*Backend)(nil)

// ErrInvalidUser is returned (wrapped in directory.ErrNotFound) for a name
// that is not a valid bare JID localpart; no query is sent for it.
var ErrInvalidUser = errors.New("ldap: invalid user name")

// DNCache remembers the entry DN of a user so that a login costs one bind
// instead of a search and a bind. directory/cache implements it.
type DNCache interface {
	LookupDN(user string) (string, bool)
	StoreDN(user, dn string)
	ForgetDN(user string)
}

// Stats counts the operations sent to the LDAP server.
type Stats struct {
	Searches int64 // search requests
	Entries  int64 // entries returned by all searches
	Binds    int64 // user binds (password checks)
	Writes   int64 // add, delete, modify, password modify
	Dials    int64 // connections opened (both pools)
	DialErrs int64 // failed connection attempts
}

type counters struct {
	searches, entries, binds, writes, dials, dialErrs atomic.Int64
}

// Backend is the LDAP directory. It is safe for concurrent use.
type Backend struct {
	cfg     conf.LDAP
	domains map[string]bool // served domains; empty serves every domain
	first   string          // the only served domain, when there is one
	svc     *pool           // bound as the service account: searches, writes
	auth    *pool           // only ever used for user binds
	dns     atomic.Pointer[dnCacheBox]
	n       counters
}

type dnCacheBox struct{ c DNCache }

// New returns a backend for cfg serving the given hosted domains (cfg.Domain,
// when set, narrows them to one). It does not connect: connections are
// opened on first use, so a directory that is down at startup does not stop
// the server.
func New(cfg conf.LDAP, domains []string) (*Backend, error) {
	if cfg.Domain != "" {
		domains = []string{cfg.Domain}
	}
	if len(domains) == 0 {
		return nil, errors.New("ldap: no domain to serve")
	}
	b := &Backend{cfg: cfg, domains: map[string]bool{}}
	for _, d := range domains {
		b.domains[d] = true
	}
	if len(domains) == 1 {
		b.first = domains[0]
	}
	if cfg.CreateBase == "" {
		b.cfg.CreateBase = cfg.UserBase
	}
	pw := cfg.BindPassword
	if cfg.BindPasswordFile != "" {
		raw, err := os.ReadFile(cfg.BindPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: bind password file: %w", err)
		}
		pw = strings.TrimRight(string(raw), "\r\n")
	}
	dial, err := b.dialer()
	if err != nil {
		return nil, err
	}
	size := max(cfg.PoolSize, 1)
	maxB := max(cfg.MaxBackoff.Duration, 100*time.Millisecond)
	svcDial := func(ctx context.Context) (*goldap.Conn, error) {
		c, err := dial(ctx)
		if err != nil || cfg.BindDN == "" {
			return c, err
		}
		c.SetTimeout(b.opTimeout(ctx))
		if err := c.Bind(cfg.BindDN, pw); err != nil {
			c.Close()
			return nil, fmt.Errorf("ldap: service bind as %q: %w", cfg.BindDN, err)
		}
		return c, nil
	}
	b.svc = newPool("service", size, maxB, svcDial, &b.n)
	b.auth = newPool("auth", size, maxB, dial, &b.n)
	return b, nil
}

// UseDNCache makes CheckPassword remember user DNs in c (nil stops it).
func (b *Backend) UseDNCache(c DNCache) {
	if c == nil {
		b.dns.Store(nil)
		return
	}
	b.dns.Store(&dnCacheBox{c})
}

func (b *Backend) dnCache() DNCache {
	if box := b.dns.Load(); box != nil {
		return box.c
	}
	return nil
}

// Stats returns the operation counters.
func (b *Backend) Stats() Stats {
	return Stats{
		Searches: b.n.searches.Load(), Entries: b.n.entries.Load(),
		Binds: b.n.binds.Load(), Writes: b.n.writes.Load(),
		Dials: b.n.dials.Load(), DialErrs: b.n.dialErrs.Load(),
	}
}

// Mechanisms implements directory.Accounts: binds can only check a clear
// password, so PLAIN (which the server offers over TLS only).
func (b *Backend) Mechanisms() []string { return []string{"PLAIN"} }

// SCRAM implements directory.Accounts: a directory does not hand out salted
// passwords, so there are never SCRAM credentials.
func (b *Backend) SCRAM(ctx context.Context, user, mech string) (directory.SCRAM, error) {
	return directory.SCRAM{}, directory.ErrNoCredentials
}

// Close closes every pooled connection.
func (b *Backend) Close() error {
	b.svc.close()
	b.auth.close()
	return nil
}

// dialer returns the function that opens one connection (TCP, then TLS or
// StartTLS as configured), bounded by ctx and the operation timeout.
func (b *Backend) dialer() (func(ctx context.Context) (*goldap.Conn, error), error) {
	u, err := url.Parse(b.cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("ldap: url: %w", err)
	}
	host := u.Host
	if u.Port() == "" {
		port := "389"
		if u.Scheme == "ldaps" {
			port = "636"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	tlsCfg := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if b.cfg.TLSServerName != "" {
		tlsCfg.ServerName = b.cfg.TLSServerName
	}
	if b.cfg.CAFile != "" {
		pem, err := os.ReadFile(b.cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: ca_file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ldap: ca_file %s: no certificate found", b.cfg.CAFile)
		}
		tlsCfg.RootCAs = roots
	}
	direct := u.Scheme == "ldaps"
	return func(ctx context.Context) (*goldap.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, b.opTimeout(ctx))
		defer cancel()
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			return nil, fmt.Errorf("ldap: dial %s: %w", host, err)
		}
		if direct {
			tc := tls.Client(nc, tlsCfg)
			if err := tc.HandshakeContext(ctx); err != nil {
				nc.Close()
				return nil, fmt.Errorf("ldap: tls %s: %w", host, err)
			}
			nc = tc
		}
		c := goldap.NewConn(nc, direct)
		c.Start()
		if b.cfg.StartTLS {
			c.SetTimeout(b.opTimeout(ctx))
			if err := c.StartTLS(tlsCfg); err != nil {
				c.Close()
				return nil, fmt.Errorf("ldap: starttls %s: %w", host, err)
			}
		}
		return c, nil
	}, nil
}

// opTimeout is the configured timeout, or less when ctx ends sooner.
func (b *Backend) opTimeout(ctx context.Context) time.Duration {
	d := b.cfg.Timeout.Duration
	if d <= 0 {
		d = 5 * time.Second
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < d {
			d = max(left, time.Millisecond)
		}
	}
	return d
}

// split checks a bare JID before any query: a valid JID, a served domain,
// a localpart without NUL or other control characters. The localpart
// returned is the prepared one.
func (b *Backend) split(user string) (local, domain string, err error) {
	if strings.ContainsFunc(user, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", "", fmt.Errorf("%w: %w: control character", directory.ErrNotFound, ErrInvalidUser)
	}
	j, err := jid.Parse(user)
	if err != nil || j.Localpart() == "" || j.Resourcepart() != "" {
		return "", "", fmt.Errorf("%w: %w: %q is not a bare JID", directory.ErrNotFound, ErrInvalidUser, user)
	}
	if len(b.domains) > 0 && !b.domains[j.Domainpart()] {
		return "", "", fmt.Errorf("%w: %w: domain %q is not served by ldap", directory.ErrNotFound, ErrInvalidUser, j.Domainpart())
	}
	return j.Localpart(), j.Domainpart(), nil
}

// userFilter substitutes the escaped localpart into the configured filter.
func (b *Backend) userFilter(local string) string {
	return strings.ReplaceAll(b.cfg.UserFilter, "%s", goldap.EscapeFilter(local))
}

// unavailable wraps a backend failure so callers see directory.ErrUnavailable.
func unavailable(op string, err error) error {
	return fmt.Errorf("ldap: %s: %w: %w", op, directory.ErrUnavailable, err)
}
