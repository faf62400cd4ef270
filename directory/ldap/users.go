package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/xmppd/xmppd/directory"
	"mellium.im/xmpp/jid"
)

// Exists implements directory.Accounts.
func (b *Backend) Exists(ctx context.Context, user string) (bool, error) {
	local, _, err := b.split(user)
	if err != nil {
		return false, nil
	}
	_, err = b.findUser(ctx, local, nil)
	if errors.Is(err, directory.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// User implements directory.Accounts: the mapped attributes of the entry
// and the configured groups it belongs to.
func (b *Backend) User(ctx context.Context, user string) (directory.User, error) {
	local, domain, err := b.split(user)
	if err != nil {
		return directory.User{}, err
	}
	a := b.cfg.Attributes
	attrs := []string{}
	for _, n := range []string{a.DisplayName, a.Mail} {
		if n != "" {
			attrs = append(attrs, n)
		}
	}
	for _, n := range a.Prefs {
		attrs = append(attrs, n)
	}
	e, err := b.findUser(ctx, local, attrs)
	if err != nil {
		return directory.User{}, err
	}
	u := directory.User{JID: local + "@" + domain}
	if a.DisplayName != "" {
		u.DisplayName = e.GetEqualFoldAttributeValue(a.DisplayName)
	}
	if a.Mail != "" {
		u.Mail = e.GetEqualFoldAttributeValue(a.Mail)
	}
	for name, attr := range a.Prefs {
		if v := e.GetEqualFoldAttributeValue(attr); v != "" {
			if u.Prefs == nil {
				u.Prefs = map[string]string{}
			}
			u.Prefs[name] = v
		}
	}
	if u.Groups, err = b.userGroups(ctx, local, e.DN); err != nil {
		return directory.User{}, err
	}
	return u, nil
}

// Photo returns the user's photo attribute (jpegPhoto by default), nil when
// the entry has none. vCard and avatar features can reach it by asserting
// interface{ Photo(context.Context, string) ([]byte, error) } on the store.
func (b *Backend) Photo(ctx context.Context, user string) ([]byte, error) {
	local, _, err := b.split(user)
	if err != nil {
		return nil, err
	}
	if b.cfg.Attributes.Photo == "" {
		return nil, nil
	}
	e, err := b.findUser(ctx, local, []string{b.cfg.Attributes.Photo})
	if err != nil {
		return nil, err
	}
	if p := e.GetEqualFoldRawAttributeValue(b.cfg.Attributes.Photo); len(p) > 0 {
		return p, nil
	}
	return nil, nil
}

// List implements directory.Accounts with a paged search of every entry
// the user filter matches.
func (b *Backend) List(ctx context.Context, domain string) ([]string, error) {
	var domains []string
	for d := range b.domains {
		if domain == "" || d == domain {
			domains = append(domains, d)
		}
	}
	if len(domains) == 0 {
		return nil, nil
	}
	attr := b.cfg.Attributes.Localpart
	req := goldap.NewSearchRequest(b.cfg.UserBase, goldap.ScopeWholeSubtree,
		goldap.NeverDerefAliases, 0, 0, false, b.anyUserFilter(), []string{attr}, nil)
	var res *goldap.SearchResult
	err := b.svc.do(ctx, b.opTimeout, true, func(c *goldap.Conn) error {
		b.n.searches.Add(1)
		var err error
		res, err = c.SearchWithPaging(req, 500)
		return err
	})
	if err != nil {
		return nil, classify("list", err)
	}
	b.n.entries.Add(int64(len(res.Entries)))
	var out []string
	for _, e := range res.Entries {
		for _, d := range domains {
			if j, err := jid.New(e.GetEqualFoldAttributeValue(attr), d, ""); err == nil && j.Localpart() != "" {
				out = append(out, j.String())
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// anyUserFilter is the user filter matching every user: the placeholder
// becomes a presence match (uid=*), which no escaped input can produce.
func (b *Backend) anyUserFilter() string {
	return strings.ReplaceAll(b.cfg.UserFilter, "%s", "*")
}

// groupFilter narrows the group filter to the configured names and, when
// member is set, to groups holding that (escaped) member value.
func (b *Backend) groupFilter(member string) string {
	f := b.cfg.GroupFilter
	if len(b.cfg.Groups) > 0 {
		var names strings.Builder
		for _, g := range b.cfg.Groups {
			fmt.Fprintf(&names, "(%s=%s)", b.cfg.GroupNameAttribute, goldap.EscapeFilter(g))
		}
		f = "(&" + f + "(|" + names.String() + "))"
	}
	if member != "" {
		f = fmt.Sprintf("(&%s(%s=%s))", f, b.cfg.MemberAttribute, goldap.EscapeFilter(member))
	}
	return f
}

// userGroups returns the names of the configured groups holding the user.
func (b *Backend) userGroups(ctx context.Context, local, dn string) ([]string, error) {
	if b.cfg.GroupBase == "" {
		return nil, nil
	}
	member := dn
	if b.cfg.MemberType == "uid" {
		member = local
	}
	name := b.cfg.GroupNameAttribute
	req := goldap.NewSearchRequest(b.cfg.GroupBase, goldap.ScopeWholeSubtree,
		goldap.NeverDerefAliases, 0, 0, false, b.groupFilter(member), []string{name}, nil)
	res, err := b.search(ctx, req)
	if err != nil {
		return nil, classify("groups", err)
	}
	var out []string
	for _, e := range res.Entries {
		if n := e.GetEqualFoldAttributeValue(name); n != "" {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}
