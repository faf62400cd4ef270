package main

import (
	"context"
	"fmt"
	"strings"

	"mellium.im/xmpp/jid"
)

// groupMembers checks the group name and parses the member JIDs.
func (e *env) groupMembers(args []string) (string, []string, error) {
	name := strings.TrimSpace(args[0])
	if name == "" {
		return "", nil, fmt.Errorf("empty group name")
	}
	members := make([]string, 0, len(args)-1)
	for _, a := range args[1:] {
		u, err := e.userJID(a)
		if err != nil {
			return "", nil, err
		}
		members = append(members, u)
	}
	return name, members, nil
}

// groupAdd puts accounts in a shared group, creating it if needed. Members
// need not have an account yet, so groups can be set up before the users
// log in for the first time; they must be on a hosted domain.
func groupAdd(ctx context.Context, e *env, args []string) error {
	name, members, err := e.groupMembers(args)
	if err != nil {
		return err
	}
	db, err := e.directory()
	if err != nil {
		return err
	}
	for _, m := range members {
		if ok, err := db.Exists(ctx, m); err != nil {
			return err
		} else if !ok {
			fmt.Fprintf(e.stderr, "xmppctl: warning: %s has no account (yet)\n", m)
		}
	}
	if err := db.AddGroupMember(ctx, name, members...); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "group %s: added %d\n", name, len(members))
	return nil
}

// groupDel takes accounts out of a shared group; removing the last member
// removes the group. It fails when none of them was a member.
func groupDel(ctx context.Context, e *env, args []string) error {
	name, members, err := e.groupMembers(args)
	if err != nil {
		return err
	}
	db, err := e.directory()
	if err != nil {
		return err
	}
	n, err := db.RemoveGroupMember(ctx, name, members...)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("group %s has none of %s", name, strings.Join(members, ", "))
	}
	fmt.Fprintf(e.stdout, "group %s: removed %d\n", name, n)
	return nil
}

// groupList prints each shared group with its members:
// "NAME: member1 member2".
func groupList(ctx context.Context, e *env, args []string) error {
	domain := ""
	if len(args) == 1 {
		d, err := jid.Parse(args[0])
		if err != nil || d.Localpart() != "" || d.Resourcepart() != "" {
			return fmt.Errorf("%q is not a domain", args[0])
		}
		domain = d.Domainpart()
	}
	db, err := e.accounts()
	if err != nil {
		return err
	}
	groups, err := db.Groups(ctx, domain)
	if err != nil {
		return err
	}
	for _, g := range groups {
		fmt.Fprintf(e.stdout, "%s: %s\n", g.Name, strings.Join(g.Members, " "))
	}
	return nil
}
