package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations[i] takes the schema from user_version i to i+1. Append only:
// a file written by an older xmppd is brought forward step by step, and a
// released step is never edited.
//
// Rosters and data are keyed by the bare JID without a foreign key to users:
// with the LDAP backend the accounts live elsewhere and these tables still
// hold the contact lists.
var migrations = []string{
	`CREATE TABLE users (
		jid           TEXT PRIMARY KEY,
		domain        TEXT NOT NULL,
		sha1_salt     BLOB NOT NULL,
		sha1_salted   BLOB NOT NULL,
		sha1_iter     INTEGER NOT NULL,
		sha256_salt   BLOB NOT NULL,
		sha256_salted BLOB NOT NULL,
		sha256_iter   INTEGER NOT NULL,
		display_name  TEXT NOT NULL DEFAULT '',
		mail          TEXT NOT NULL DEFAULT '',
		created       INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX users_domain ON users (domain, jid);
	CREATE TABLE roster_items (
		user           TEXT NOT NULL,
		contact        TEXT NOT NULL,
		name           TEXT NOT NULL DEFAULT '',
		subscription   TEXT NOT NULL CHECK (subscription IN ('none', 'to', 'from', 'both')),
		ask            INTEGER NOT NULL DEFAULT 0,
		pending_in     INTEGER NOT NULL DEFAULT 0,
		approved       INTEGER NOT NULL DEFAULT 0,
		groups         TEXT NOT NULL DEFAULT '[]',
		pending_stanza BLOB,
		PRIMARY KEY (user, contact)
	) WITHOUT ROWID;
	-- One counter for every roster, so that a version handed out is never
	-- handed out again, not even after an account is deleted and created
	-- anew under the same name: a client's cached version (RFC 6121 2.6)
	-- must never match a different roster.
	CREATE TABLE roster_seq (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
	INSERT INTO roster_seq (id, value) VALUES (1, 0);
	CREATE TABLE roster_versions (
		user    TEXT PRIMARY KEY,
		version INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE user_data (
		user  TEXT NOT NULL,
		key   TEXT NOT NULL,
		value BLOB NOT NULL,
		PRIMARY KEY (user, key)
	) WITHOUT ROWID;
	CREATE TABLE groups (
		name   TEXT NOT NULL,
		member TEXT NOT NULL,
		domain TEXT NOT NULL,
		PRIMARY KEY (name, member)
	) WITHOUT ROWID;
	CREATE INDEX groups_member ON groups (member);
	CREATE INDEX groups_domain ON groups (domain, name);`,
}

// SchemaVersion is the user_version of a database this package wrote.
var SchemaVersion = len(migrations)

// migrate brings the schema to SchemaVersion in one transaction. Two
// processes opening a new file at once are serialised by BEGIN IMMEDIATE;
// the second sees the first one's version and has nothing to do.
func migrate(ctx context.Context, w *sql.DB) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("embedded: migrate: %w", unavailable(err))
	}
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return errors.Join(fmt.Errorf("embedded: migrate: %w", err), rollback(tx))
	}
	if v > len(migrations) {
		return errors.Join(fmt.Errorf("embedded: schema version %d is newer than this program's %d", v, len(migrations)), rollback(tx))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return errors.Join(fmt.Errorf("embedded: migrate to version %d: %w", i+1, err), rollback(tx))
		}
	}
	if v < len(migrations) {
		// PRAGMA takes no parameters; the value is our own integer.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
			return errors.Join(fmt.Errorf("embedded: migrate: %w", err), rollback(tx))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("embedded: migrate: %w", unavailable(err))
	}
	return nil
}

// stmts are the prepared statements of the hot paths. Readers run on the
// read pool, writers on the single writer connection.
type stmts struct {
	exists, scram, user, userGroups, list, listAll *sql.Stmt
	roster, rosterVersion, item, getData           *sql.Stmt
	groups, groupsOf                               *sql.Stmt
	putItem, deleteItem, bumpSeq                   *sql.Stmt
	putData, deleteData                            *sql.Stmt
	all                                            []*sql.Stmt
}

func (s *stmts) prepare(r, w *sql.DB) error {
	reads := []struct {
		p *(*sql.Stmt)
		q string
	}{
		{&s.exists, `SELECT 1 FROM users WHERE jid = ?`},
		{&s.scram, `SELECT sha1_salt, sha1_salted, sha1_iter, sha256_salt, sha256_salted, sha256_iter FROM users WHERE jid = ?`},
		{&s.user, `SELECT display_name, mail FROM users WHERE jid = ?`},
		{&s.userGroups, `SELECT name FROM groups WHERE member = ? ORDER BY name`},
		{&s.list, `SELECT jid FROM users WHERE domain = ? ORDER BY jid`},
		{&s.listAll, `SELECT jid FROM users ORDER BY jid`},
		{&s.roster, `SELECT ` + itemColumns + ` FROM roster_items WHERE user = ? ORDER BY contact`},
		{&s.rosterVersion, `SELECT version FROM roster_versions WHERE user = ?`},
		{&s.item, `SELECT ` + itemColumns + ` FROM roster_items WHERE user = ? AND contact = ?`},
		{&s.getData, `SELECT value FROM user_data WHERE user = ? AND key = ?`},
		// Read at every login (shared groups in the roster).
		{&s.groups, `SELECT name, member FROM groups ORDER BY name, member`},
		{&s.groupsOf, `SELECT name, member FROM groups WHERE name IN
			(SELECT name FROM groups WHERE domain = ?) ORDER BY name, member`},
	}
	writes := []struct {
		p *(*sql.Stmt)
		q string
	}{
		{&s.putItem, `INSERT INTO roster_items (user, ` + itemColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user, contact) DO UPDATE SET name = excluded.name,
			subscription = excluded.subscription, ask = excluded.ask,
			pending_in = excluded.pending_in, approved = excluded.approved,
			groups = excluded.groups, pending_stanza = excluded.pending_stanza`},
		{&s.deleteItem, `DELETE FROM roster_items WHERE user = ? AND contact = ?`},
		{&s.bumpSeq, `INSERT INTO roster_versions (user, version) VALUES (?, 1)
			ON CONFLICT (user) DO UPDATE SET version = version + 1 RETURNING version`},
		{&s.putData, `INSERT INTO user_data (user, key, value) VALUES (?, ?, ?)
			ON CONFLICT (user, key) DO UPDATE SET value = excluded.value`},
		{&s.deleteData, `DELETE FROM user_data WHERE user = ? AND key = ?`},
	}
	for _, q := range reads {
		st, err := r.Prepare(q.q)
		if err != nil {
			return fmt.Errorf("embedded: prepare %q: %w", q.q, err)
		}
		*q.p = st
		s.all = append(s.all, st)
	}
	for _, q := range writes {
		st, err := w.Prepare(q.q)
		if err != nil {
			return fmt.Errorf("embedded: prepare %q: %w", q.q, err)
		}
		*q.p = st
		s.all = append(s.all, st)
	}
	return nil
}

func (s *stmts) close() {
	for _, st := range s.all {
		// Closing a statement only releases it; the pools' Close that
		// follows reports any real failure.
		_ = st.Close()
	}
	s.all = nil
}
