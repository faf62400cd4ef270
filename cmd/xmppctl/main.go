// Command xmppctl administers an xmppd installation: accounts and shared
// groups in the embedded directory (directory/embedded) and the offline
// queues (XEP-0160, archive/sqlite) that go with them. It opens the same
// database files as the server, which may be running meanwhile: SQLite's
// WAL mode lets both write. With an LDAP directory (RFC 4511) it reads
// users and groups there, tests the configuration, and writes accounts
// when directory.ldap.writable allows. The sessions, stats, mux and
// directory flush commands ask the running server through its admin
// socket (server/admin.go); docs/operations.md shows every command.
//
//	xmppctl [-config FILE] <command> [arguments]
//
// Without -config the built-in defaults apply, so it works on ./data next
// to a server started with `make run`. Passwords are read from standard
// input when it is not a terminal (echo pw | xmppctl user add a@localhost),
// else asked twice without echo.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/xmppd/xmppd/conf"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runContext(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program, with its standard streams as arguments so that
// tests run commands in-process. It returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdin, stdout, stderr)
}

func runContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("xmppctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config := fs.String("config", "", "configuration `FILE` (default: built-in defaults, data in ./data)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout, fs)
			return 0
		}
		fmt.Fprintf(stderr, "xmppctl: %v\n", err)
		usage(stderr, fs)
		return 1
	}
	cmd, rest, err := lookup(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "xmppctl: %v\n", err)
		usage(stderr, fs)
		return 1
	}
	if cmd.name == "help" {
		usage(stdout, fs)
		return 0
	}
	if err := cmd.checkArgs(rest); err != nil {
		fmt.Fprintf(stderr, "xmppctl: %v\nusage: xmppctl %s %s\n", err, cmd.name, cmd.args)
		return 1
	}
	cfg, err := conf.LoadOrDefault(*config)
	if err != nil {
		fmt.Fprintf(stderr, "xmppctl: %s\n", oneLine(err))
		return 1
	}
	e := &env{cfg: cfg, stdin: stdin, stdout: stdout, stderr: stderr}
	err = e.runCommand(ctx, cmd, rest)
	if cerr := e.close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "xmppctl: %s\n", oneLine(err))
		return 1
	}
	return 0
}

// oneLine keeps multi-line errors (a config with several problems)
// readable after the "xmppctl: " prefix.
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "\n  ")
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: xmppctl [-config FILE] <command> [arguments]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-34s %s\n", strings.TrimSpace(c.name+" "+c.args), c.help)
	}
	fmt.Fprintf(w, "\noptions:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
