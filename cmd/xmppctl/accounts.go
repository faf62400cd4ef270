package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xmppd/xmppd/directory"
	"github.com/xmppd/xmppd/directory/embedded"
	"github.com/xmppd/xmppd/directory/ldap"
)

// ldapAccounts is the LDAP directory as xmppctl uses it: straight to the
// directory, without the server's cache (a command reads fresh entries).
// Contact lists and private data stay in the embedded store, as in the
// server, so deleting a user clears them there too.
type ldapAccounts struct {
	*ldap.Backend
	e *env
}

// Delete removes the LDAP entry, then what the embedded store holds for
// the user (as directory/cache's LDAPStore does in the server).
func (l *ldapAccounts) Delete(ctx context.Context, user string) error {
	if err := l.Backend.Delete(ctx, user); err != nil {
		return err
	}
	db, err := l.e.directory()
	if err != nil {
		return err
	}
	if err := db.Delete(ctx, user); err != nil && !errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("deleting %s from the embedded store: %w", user, err)
	}
	return nil
}

// accounts returns the account backend the configuration selects: the
// embedded database or the LDAP directory.
func (e *env) accounts() (directory.Accounts, error) {
	if e.cfg.Directory.Backend != "ldap" {
		return e.directory()
	}
	if e.ldap == nil {
		b, err := ldap.New(e.cfg.Directory.LDAP, e.cfg.Server.Domains)
		if err != nil {
			return nil, err
		}
		e.ldap = &ldapAccounts{Backend: b, e: e}
	}
	return e.ldap, nil
}

// userShow prints an account's attributes, one "name  value" per line.
func userShow(ctx context.Context, e *env, args []string) error {
	user, err := e.userJID(args[0])
	if err != nil {
		return err
	}
	db, err := e.accounts()
	if err != nil {
		return err
	}
	u, err := db.User(ctx, user)
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("%s: no such user", user)
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "jid\t%s\n", u.JID)
	fmt.Fprintf(tw, "display name\t%s\n", orDash(u.DisplayName))
	fmt.Fprintf(tw, "mail\t%s\n", orDash(u.Mail))
	fmt.Fprintf(tw, "groups\t%s\n", orDash(strings.Join(u.Groups, ", ")))
	prefs := make([]string, 0, len(u.Prefs))
	for _, k := range slices.Sorted(maps.Keys(u.Prefs)) {
		prefs = append(prefs, k+"="+u.Prefs[k])
	}
	fmt.Fprintf(tw, "prefs\t%s\n", orDash(strings.Join(prefs, " ")))
	fmt.Fprintf(tw, "backend\t%s\n", e.cfg.Directory.Backend)
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// directoryTest checks the directory the configuration describes, without
// the server: for LDAP a fresh connection, the service bind, a sample user
// search and the group search; for the embedded store, that the database
// opens and can be read.
func directoryTest(ctx context.Context, e *env, args []string) error {
	if e.cfg.Directory.Backend != "ldap" {
		db, err := e.directory()
		if err != nil {
			return err
		}
		users, err := db.List(ctx, "")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "directory.backend = %q: no LDAP to test\n", e.cfg.Directory.Backend)
		fmt.Fprintf(e.stdout, "database %s opens: %d accounts\nok\n", e.cfg.DataPath(embedded.FileName), len(users))
		return nil
	}
	db, err := e.accounts()
	if err != nil {
		return err
	}
	r, err := db.(*ldapAccounts).Check(ctx)
	if err != nil {
		return fmt.Errorf("directory test: %s: %w", e.cfg.Directory.LDAP.URL, err)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "url\t%s\n", r.URL)
	fmt.Fprintf(tw, "encrypted\t%s\n", yesNo(r.TLS))
	fmt.Fprintf(tw, "bind dn\t%s\n", orDash(r.BindDN))
	fmt.Fprintf(tw, "sample users\t%s\n", orDash(strings.Join(r.Sample, " ")))
	fmt.Fprintf(tw, "groups\t%d\n", r.Groups)
	fmt.Fprintf(tw, "time\t%s\n", r.Duration.Round(100*time.Microsecond))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Sample) == 0 {
		return fmt.Errorf("directory test: the user filter matches nobody under %q", e.cfg.Directory.LDAP.UserBase)
	}
	fmt.Fprintln(e.stdout, "ok")
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
