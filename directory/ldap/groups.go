package ldap

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/xmppd/xmppd/directory"
	"mellium.im/xmpp/jid"
)

// Groups implements directory.Accounts: the configured directory groups
// (every group the group filter matches when none are named), each with its
// members as bare JIDs of domain. "" stands for the only served domain.
func (b *Backend) Groups(ctx context.Context, domain string) ([]directory.Group, error) {
	if domain == "" {
		if b.first == "" {
			return nil, errors.New("ldap: groups: several domains are served, name one")
		}
		domain = b.first
	}
	if b.cfg.GroupBase == "" || !b.domains[domain] {
		return nil, nil
	}
	name, member := b.cfg.GroupNameAttribute, b.cfg.MemberAttribute
	req := goldap.NewSearchRequest(b.cfg.GroupBase, goldap.ScopeWholeSubtree,
		goldap.NeverDerefAliases, 0, 0, false, b.groupFilter(""), []string{name, member}, nil)
	res, err := b.search(ctx, req)
	if err != nil {
		return nil, classify("groups", err)
	}
	resolved := map[string]string{} // member DN -> localpart ("" if not a user)
	var out []directory.Group
	for _, e := range res.Entries {
		g := directory.Group{Name: e.GetEqualFoldAttributeValue(name)}
		if g.Name == "" {
			continue
		}
		for _, v := range e.GetEqualFoldAttributeValues(member) {
			local := v
			if b.cfg.MemberType == "dn" {
				if local, err = b.memberLocal(ctx, v, resolved); err != nil {
					return nil, err
				}
			}
			if j, err := jid.New(local, domain, ""); err == nil && local != "" {
				g.Members = append(g.Members, j.String())
			}
		}
		sort.Strings(g.Members)
		g.Members = slices.Compact(g.Members)
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// memberLocal maps a member DN to a localpart. A DN whose first RDN is the
// localpart attribute under the user base is read directly; any other DN
// (a user named by cn, a nested group) is looked up with the user filter,
// so that non-users are left out.
func (b *Backend) memberLocal(ctx context.Context, dn string, memo map[string]string) (string, error) {
	if l, ok := memo[dn]; ok {
		return l, nil
	}
	parsed, err := goldap.ParseDN(dn)
	if err != nil {
		memo[dn] = ""
		return "", nil
	}
	if base, err := goldap.ParseDN(b.cfg.UserBase); err == nil && base.AncestorOfFold(parsed) {
		rdn := parsed.RDNs[0].Attributes
		if len(rdn) == 1 && strings.EqualFold(rdn[0].Type, b.cfg.Attributes.Localpart) {
			memo[dn] = rdn[0].Value
			return rdn[0].Value, nil
		}
	}
	attr := b.cfg.Attributes.Localpart
	req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
		1, 0, false, b.anyUserFilter(), []string{attr}, nil)
	res, err := b.search(ctx, req)
	switch {
	case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject):
		memo[dn] = ""
		return "", nil
	case err != nil:
		return "", classify("group member", err)
	}
	l := ""
	if len(res.Entries) == 1 {
		l = res.Entries[0].GetEqualFoldAttributeValue(attr)
	}
	memo[dn] = l
	return l, nil
}
