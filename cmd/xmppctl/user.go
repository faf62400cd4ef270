package main

import (
	"context"
	"errors"
	"fmt"

	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/directory"
)

// userAdd creates an account.
func userAdd(ctx context.Context, e *env, args []string) error {
	user, err := e.userJID(args[0])
	if err != nil {
		return err
	}
	pw, err := e.password(user)
	if err != nil {
		return err
	}
	db, err := e.accounts()
	if err != nil {
		return err
	}
	if err := db.Create(ctx, user, pw); err != nil {
		if errors.Is(err, directory.ErrExists) {
			return fmt.Errorf("%s exists already", user)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "created %s\n", user)
	return nil
}

// userDel deletes an account with its roster, private data, group
// memberships and offline messages. The offline queue is emptied even when
// the account is already gone, so a half-finished earlier delete completes.
func userDel(ctx context.Context, e *env, args []string) error {
	user, err := e.userJID(args[0])
	if err != nil {
		return err
	}
	db, err := e.accounts()
	if err != nil {
		return err
	}
	arch, err := e.archive()
	if err != nil {
		return err
	}
	derr := db.Delete(ctx, user)
	if derr != nil && !errors.Is(derr, directory.ErrNotFound) {
		return derr
	}
	if err := arch.DeleteUser(ctx, user); err != nil {
		return err
	}
	if derr != nil {
		return fmt.Errorf("%s: no such user", user)
	}
	fmt.Fprintf(e.stdout, "deleted %s\n", user)
	return nil
}

// userPasswd replaces an account's password.
func userPasswd(ctx context.Context, e *env, args []string) error {
	user, err := e.userJID(args[0])
	if err != nil {
		return err
	}
	db, err := e.accounts()
	if err != nil {
		return err
	}
	// Ask whether the account exists before asking for a password that
	// would be typed for nothing.
	if ok, err := db.Exists(ctx, user); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%s: no such user", user)
	}
	pw, err := e.password(user)
	if err != nil {
		return err
	}
	if err := db.SetPassword(ctx, user, pw); err != nil {
		if errors.Is(err, directory.ErrNotFound) {
			return fmt.Errorf("%s: no such user", user)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "password of %s changed\n", user)
	return nil
}

// userList prints the accounts of one domain, or of all, one per line.
func userList(ctx context.Context, e *env, args []string) error {
	domain := ""
	if len(args) == 1 {
		d, err := jid.Parse(args[0])
		if err != nil || d.Localpart() != "" || d.Resourcepart() != "" {
			return fmt.Errorf("%q is not a domain", args[0])
		}
		if domain = d.Domainpart(); !e.hosted(domain) {
			return fmt.Errorf("domain %s is not hosted here", domain)
		}
	}
	db, err := e.accounts()
	if err != nil {
		return err
	}
	users, err := db.List(ctx, domain)
	if err != nil {
		return err
	}
	for _, u := range users {
		fmt.Fprintln(e.stdout, u)
	}
	return nil
}
