package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/term"
	"mellium.im/xmpp/jid"

	"github.com/xmppd/xmppd/archive/sqlite"
	"github.com/xmppd/xmppd/conf"
	"github.com/xmppd/xmppd/directory/embedded"
)

// env is what a command works with: the configuration, the standard
// streams, and the stores, opened on first use and closed by run.
type env struct {
	cfg            *conf.Config
	stdin          io.Reader
	stdout, stderr io.Writer
	dir            *embedded.DB
	arch           *sqlite.Store
	ldap           *ldapAccounts // see accounts
	stdinLines     *bufio.Reader
}

func (e *env) runCommand(ctx context.Context, c *command, args []string) error {
	if c.embeddedOnly && e.cfg.Directory.Backend != "embedded" {
		return fmt.Errorf("%s: not supported with directory.backend = %q yet", c.name, e.cfg.Directory.Backend)
	}
	if c.writes && e.cfg.Directory.Backend == "ldap" && !e.cfg.Directory.LDAP.Writable {
		return fmt.Errorf("%s: the LDAP directory is read-only for xmppd (directory.ldap.writable = false)", c.name)
	}
	return c.run(ctx, e, args)
}

// directory opens <data_dir>/directory.db.
func (e *env) directory() (*embedded.DB, error) {
	if e.dir == nil {
		db, err := embedded.Open(e.cfg.DataPath(embedded.FileName), e.cfg.C2S.SCRAMIterations)
		if err != nil {
			return nil, err
		}
		e.dir = db
	}
	return e.dir, nil
}

// archive opens <data_dir>/archive.db.
func (e *env) archive() (*sqlite.Store, error) {
	if e.arch == nil {
		s, err := sqlite.Open(e.cfg.DataPath(sqlite.FileName))
		if err != nil {
			return nil, err
		}
		e.arch = s
	}
	return e.arch, nil
}

func (e *env) close() error {
	var errs []error
	if e.dir != nil {
		errs = append(errs, e.dir.Close())
	}
	if e.arch != nil {
		errs = append(errs, e.arch.Close())
	}
	if e.ldap != nil {
		errs = append(errs, e.ldap.Close())
	}
	return errors.Join(errs...)
}

// userJID parses s as the bare JID of an account on a hosted domain and
// returns it prepared (lowercased) as the server names users.
func (e *env) userJID(s string) (string, error) {
	j, err := jid.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a valid JID: %w", s, err)
	}
	switch {
	case j.Resourcepart() != "":
		return "", fmt.Errorf("%q has a resource; give a bare JID (user@domain)", s)
	case j.Localpart() == "":
		return "", fmt.Errorf("%q has no localpart; give user@domain", s)
	case !e.hosted(j.Domainpart()):
		return "", fmt.Errorf("%q: domain %s is not hosted here (server.domains = %s)",
			s, j.Domainpart(), strings.Join(e.cfg.Server.Domains, ", "))
	}
	return j.String(), nil
}

func (e *env) hosted(domain string) bool {
	return slices.ContainsFunc(e.cfg.Server.Domains, func(d string) bool { return strings.EqualFold(d, domain) })
}

// password reads a new password for user: a line of standard input when it
// is not a terminal, else typed twice without echo.
func (e *env) password(user string) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return e.prompt(int(f.Fd()), user)
	}
	if e.stdinLines == nil {
		e.stdinLines = bufio.NewReader(e.stdin)
	}
	line, err := e.stdinLines.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("no password on standard input for %s", user)
		}
		return "", fmt.Errorf("reading the password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fmt.Errorf("empty password for %s", user)
	}
	return pw, nil
}

func (e *env) prompt(fd int, user string) (string, error) {
	fmt.Fprintf(e.stderr, "Password for %s: ", user)
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	fmt.Fprintf(e.stderr, "Again: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if string(a) != string(b) {
		return "", errors.New("the passwords differ")
	}
	if len(a) == 0 {
		return "", fmt.Errorf("empty password for %s", user)
	}
	return string(a), nil
}
