package ldap

import (
	"context"
	"fmt"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// CheckResult is what Check found (for xmppctl directory test).
type CheckResult struct {
	URL      string
	TLS      bool          // the connection is encrypted (ldaps or StartTLS)
	BindDN   string        // the service account, "" for anonymous
	Sample   []string      // up to 5 localparts the user filter matches
	Groups   int           // groups the group filter finds (0 without group_base)
	Duration time.Duration // connect, bind and searches
}

// Check connects afresh (outside the pools and their backoff), binds as the
// service account and runs a sample user search and the group search, so an
// operator can test a configuration before relying on it.
func (b *Backend) Check(ctx context.Context) (CheckResult, error) {
	start := time.Now()
	r := CheckResult{URL: b.cfg.URL, BindDN: b.cfg.BindDN}
	c, err := b.svc.dial(ctx)
	if err != nil {
		return r, unavailable("check", err)
	}
	defer c.Close()
	_, r.TLS = c.TLSConnectionState()
	c.SetTimeout(b.opTimeout(ctx))
	attr := b.cfg.Attributes.Localpart
	req := goldap.NewSearchRequest(b.cfg.UserBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		5, 0, false, b.anyUserFilter(), []string{attr}, nil)
	res, err := c.Search(req)
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		return r, fmt.Errorf("ldap: check: user search under %q: %w", b.cfg.UserBase, err)
	}
	for _, e := range res.Entries {
		r.Sample = append(r.Sample, e.GetEqualFoldAttributeValue(attr))
	}
	if b.cfg.GroupBase != "" {
		req := goldap.NewSearchRequest(b.cfg.GroupBase, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
			0, 0, false, b.groupFilter(""), []string{b.cfg.GroupNameAttribute}, nil)
		res, err := c.Search(req)
		if err != nil {
			return r, fmt.Errorf("ldap: check: group search under %q: %w", b.cfg.GroupBase, err)
		}
		r.Groups = len(res.Entries)
	}
	r.Duration = time.Since(start)
	return r, nil
}
