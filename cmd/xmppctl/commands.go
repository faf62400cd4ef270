package main

import (
	"context"
	"fmt"
	"strings"
)

// command is one subcommand. name is one or more words ("user add"); the
// longest name matching the first arguments wins.
type command struct {
	name string
	args string // synopsis of the arguments, for usage
	help string
	// minArgs and maxArgs bound the arguments after the name; maxArgs -1
	// means no upper bound.
	minArgs, maxArgs int
	// embeddedOnly commands work on the embedded directory; they refuse to
	// run when the configuration selects another backend.
	embeddedOnly bool
	// writes marks account commands that change the directory: with LDAP
	// they need directory.ldap.writable.
	writes bool
	run    func(ctx context.Context, e *env, args []string) error
}

// commands is every subcommand of xmppctl, written out in one place. Add a
// line here and a function in its own file to add a command.
var commands = []command{
	{name: "user add", args: "JID", help: "create an account (password from stdin or prompted)",
		minArgs: 1, maxArgs: 1, writes: true, run: userAdd},
	{name: "user del", args: "JID", help: "delete an account, its roster, data and offline messages",
		minArgs: 1, maxArgs: 1, writes: true, run: userDel},
	{name: "user passwd", args: "JID", help: "set an account's password (from stdin or prompted)",
		minArgs: 1, maxArgs: 1, writes: true, run: userPasswd},
	{name: "user list", args: "[DOMAIN]", help: "list the accounts of a domain, or of all",
		minArgs: 0, maxArgs: 1, run: userList},
	{name: "user show", args: "JID", help: "show an account's attributes: display name, mail, groups, prefs",
		minArgs: 1, maxArgs: 1, run: userShow},
	{name: "user import", args: "FILE", help: "create accounts from lines 'localpart-or-jid;password' (FILE - is stdin)",
		minArgs: 1, maxArgs: 1, embeddedOnly: true, run: userImport},
	{name: "group add", args: "GROUP JID...", help: "add members to a shared group (created if new)",
		minArgs: 2, maxArgs: -1, embeddedOnly: true, run: groupAdd},
	{name: "group del", args: "GROUP JID...", help: "remove members from a shared group",
		minArgs: 2, maxArgs: -1, embeddedOnly: true, run: groupDel},
	{name: "group list", args: "[DOMAIN]", help: "list the shared groups with their members",
		minArgs: 0, maxArgs: 1, run: groupList},
	{name: "directory test", help: "check the directory configuration (LDAP: bind and a sample search)",
		run: directoryTest},
	{name: "directory flush", help: "empty the running server's directory cache",
		run: directoryFlush},
	{name: "sessions", help: "list the running server's client sessions",
		run: sessions},
	{name: "stats", help: "print the running server's counters",
		run: stats},
	{name: "mux", help: "list the multiplexor links of the running server",
		run: muxLinks},
	{name: "help", help: "print this help", maxArgs: -1},
}

// lookup finds the command named by the first words of args and returns it
// with the remaining arguments.
func lookup(args []string) (*command, []string, error) {
	if len(args) == 0 {
		return nil, nil, fmt.Errorf("no command given")
	}
	var best *command
	bestLen := 0
	for i := range commands {
		words := strings.Fields(commands[i].name)
		if len(words) > len(args) || len(words) <= bestLen {
			continue
		}
		if strings.Join(args[:len(words)], " ") == commands[i].name {
			best, bestLen = &commands[i], len(words)
		}
	}
	if best == nil {
		return nil, nil, fmt.Errorf("unknown command %q", strings.Join(args[:min(2, len(args))], " "))
	}
	return best, args[bestLen:], nil
}

func (c *command) checkArgs(args []string) error {
	switch {
	case len(args) < c.minArgs:
		return fmt.Errorf("%s: missing arguments", c.name)
	case c.maxArgs >= 0 && len(args) > c.maxArgs:
		return fmt.Errorf("%s: too many arguments", c.name)
	}
	return nil
}
