package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/xmppd/xmppd/directory/embedded"
)

// maxReported bounds the per-line messages printed for one import.
const maxReported = 10

// importLine is one account read from an import file.
type importLine struct {
	line     int
	jid      string
	password string
}

// userImport creates the accounts listed in a file, one
// "localpart-or-jid;password" per line. Bare localparts get the first
// hosted domain; blank lines and lines starting with # are skipped; the
// password is everything after the first ';'. The file is checked whole
// before anything is written, the passwords are salted on every core, and
// the accounts are created in one transaction: all of them or none.
// Accounts that exist already keep their password and are reported.
func userImport(ctx context.Context, e *env, args []string) error {
	lines, err := e.readImport(args[0])
	if err != nil {
		return err
	}
	db, err := e.directory()
	if err != nil {
		return err
	}
	// Salting is nearly all the cost: skip the accounts that exist. One
	// created meanwhile by someone else is still caught by Import.
	var existing, fresh = []string{}, lines[:0:0]
	for _, l := range lines {
		if ok, err := db.Exists(ctx, l.jid); err != nil {
			return err
		} else if ok {
			existing = append(existing, l.jid)
		} else {
			fresh = append(fresh, l)
		}
	}
	accounts, err := saltAll(ctx, fresh, e.cfg.C2S.SCRAMIterations)
	if err != nil {
		return err
	}
	raced, err := db.Import(ctx, accounts)
	if err != nil {
		return err
	}
	existing = append(existing, raced...)
	for i, u := range existing {
		if i == maxReported {
			fmt.Fprintf(e.stderr, "xmppctl: ... and %d more\n", len(existing)-i)
			break
		}
		fmt.Fprintf(e.stderr, "xmppctl: %s exists already, left unchanged\n", u)
	}
	fmt.Fprintf(e.stdout, "imported %d accounts, %d existed already\n", len(accounts)-len(raced), len(existing))
	return nil
}

// readImport reads and checks an import file ("-" for standard input).
// Every bad line is reported (up to maxReported) before giving up.
func (e *env) readImport(name string) ([]importLine, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var (
		out  []importLine
		bad  []string
		seen = map[string]int{}
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		l, err := e.parseImportLine(n, sc.Text())
		if err == nil && l.jid != "" {
			if first, dup := seen[l.jid]; dup {
				err = fmt.Errorf("line %d: %s already given on line %d", n, l.jid, first)
			}
			seen[l.jid] = n
		}
		switch {
		case err != nil:
			bad = append(bad, err.Error())
		case l.jid != "":
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(bad) > 0 {
		if len(bad) > maxReported {
			bad = append(bad[:maxReported], fmt.Sprintf("... and %d more", len(bad)-maxReported))
		}
		return nil, fmt.Errorf("%s: nothing imported:\n%s", name, strings.Join(bad, "\n"))
	}
	return out, nil
}

// parseImportLine returns a zero importLine for blank and comment lines.
func (e *env) parseImportLine(n int, text string) (importLine, error) {
	trimmed := strings.TrimSpace(text)
	if trimmed == "" || strings.HasPrefix(trimmed, "#") {
		return importLine{}, nil
	}
	who, pw, ok := strings.Cut(strings.TrimRight(text, "\r"), ";")
	who = strings.TrimSpace(who)
	if !ok || pw == "" {
		return importLine{}, fmt.Errorf("line %d: want localpart-or-jid;password", n)
	}
	if !strings.Contains(who, "@") {
		who += "@" + e.cfg.Server.Domains[0]
	}
	user, err := e.userJID(who)
	if err != nil {
		return importLine{}, fmt.Errorf("line %d: %w", n, err)
	}
	return importLine{line: n, jid: user, password: pw}, nil
}

// saltAll computes the SCRAM credentials of every line on GOMAXPROCS
// workers: PBKDF2 is nearly all the cost of an import.
func saltAll(ctx context.Context, lines []importLine, iterations int) ([]embedded.Account, error) {
	accounts := make([]embedded.Account, len(lines))
	errs := make([]error, len(lines))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				c, err := embedded.NewCredentials(lines[i].password, iterations)
				if err != nil {
					err = fmt.Errorf("line %d: %w", lines[i].line, err)
				}
				accounts[i], errs[i] = embedded.Account{JID: lines[i].jid, Credentials: c}, err
			}
		})
	}
feed:
	for i := range lines {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var bad []error
	for _, err := range errs {
		if err != nil && len(bad) < maxReported {
			bad = append(bad, err)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("nothing imported: %w", errors.Join(bad...))
	}
	return accounts, nil
}
