package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/xmppd/xmppd/directory"
)

// CheckPassword implements directory.Accounts: it finds the user's entry
// with the service account, then binds as that entry on a connection of the
// separate auth pool (never on a service connection, whose identity a bind
// would change). A remembered DN saves the search; when the bind with it
// fails, the entry is looked up afresh in case it moved.
func (b *Backend) CheckPassword(ctx context.Context, user, password string) error {
	local, _, err := b.split(user)
	if err != nil {
		return err
	}
	// An empty password would be an unauthenticated bind, which succeeds
	// for any DN (RFC 4513 5.1.2): never send one.
	if password == "" || strings.ContainsRune(password, 0) {
		return directory.ErrBadPassword
	}
	dc := b.dnCache()
	dn, cached := "", false
	if dc != nil {
		dn, cached = dc.LookupDN(user)
	}
	if !cached {
		if dn, err = b.lookupDN(ctx, user, local); err != nil {
			return err
		}
	}
	err = b.bind(ctx, dn, password)
	if !cached || !errors.Is(err, directory.ErrBadPassword) {
		return err
	}
	dc.ForgetDN(user)
	fresh, lerr := b.lookupDN(ctx, user, local)
	if lerr != nil {
		return lerr
	}
	if fresh == dn {
		return err
	}
	return b.bind(ctx, fresh, password)
}

// lookupDN searches the user's entry DN and remembers it.
func (b *Backend) lookupDN(ctx context.Context, user, local string) (string, error) {
	e, err := b.findUser(ctx, local, nil)
	if err != nil {
		return "", err
	}
	if dc := b.dnCache(); dc != nil {
		dc.StoreDN(user, e.DN)
	}
	return e.DN, nil
}

// bind checks password by binding as dn on an auth connection.
func (b *Backend) bind(ctx context.Context, dn, password string) error {
	err := b.auth.do(ctx, b.opTimeout, true, func(c *goldap.Conn) error {
		b.n.binds.Add(1)
		return c.Bind(dn, password)
	})
	if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
		return directory.ErrBadPassword
	}
	return classify("bind", err)
}

// findUser returns the one entry matching the user filter for local, with
// attrs (the localpart attribute is always read to confirm the match).
// No entry is ErrNotFound; several entries are refused as ErrNotFound too,
// since logging in as an arbitrary one of them would be wrong.
func (b *Backend) findUser(ctx context.Context, local string, attrs []string) (*goldap.Entry, error) {
	attrs = append([]string{b.cfg.Attributes.Localpart}, attrs...)
	req := goldap.NewSearchRequest(b.cfg.UserBase, goldap.ScopeWholeSubtree,
		goldap.NeverDerefAliases, 2, 0, false, b.userFilter(local), attrs, nil)
	res, err := b.search(ctx, req)
	switch {
	case goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded):
		return nil, fmt.Errorf("%w: ldap: %q matches several entries", directory.ErrNotFound, local)
	case err != nil:
		return nil, err
	case len(res.Entries) == 0:
		return nil, directory.ErrNotFound
	case len(res.Entries) > 1:
		return nil, fmt.Errorf("%w: ldap: %q matches several entries", directory.ErrNotFound, local)
	}
	e := res.Entries[0]
	for _, v := range e.GetEqualFoldAttributeValues(b.cfg.Attributes.Localpart) {
		if strings.EqualFold(v, local) {
			return e, nil
		}
	}
	return nil, fmt.Errorf("%w: ldap: entry %q does not carry %s=%s", directory.ErrNotFound, e.DN, b.cfg.Attributes.Localpart, local)
}

// search runs req on a service connection and counts it.
func (b *Backend) search(ctx context.Context, req *goldap.SearchRequest) (*goldap.SearchResult, error) {
	var res *goldap.SearchResult
	err := b.svc.do(ctx, b.opTimeout, true, func(c *goldap.Conn) error {
		b.n.searches.Add(1)
		var err error
		res, err = c.Search(req)
		if res != nil {
			b.n.entries.Add(int64(len(res.Entries)))
		}
		return err
	})
	if err != nil {
		if goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
			return res, err
		}
		return nil, classify("search", err)
	}
	return res, nil
}
