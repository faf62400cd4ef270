package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/xmppd/xmppd/directory"
)

// Credentials are the salted passwords of one account, one per SCRAM hash.
// They are computed before a write transaction starts, so that PBKDF2 never
// runs while the database's write lock is held.
type Credentials struct {
	SHA1, SHA256 directory.SCRAM
}

// NewCredentials salts password for SCRAM-SHA-1 and SCRAM-SHA-256.
func NewCredentials(password string, iterations int) (Credentials, error) {
	var c Credentials
	var err error
	if c.SHA256, err = directory.NewSCRAM(directory.MechSCRAMSHA256, password, iterations); err != nil {
		return c, fmt.Errorf("embedded: %w", err)
	}
	if c.SHA1, err = directory.NewSCRAM(directory.MechSCRAMSHA1, password, iterations); err != nil {
		return c, fmt.Errorf("embedded: %w", err)
	}
	return c, nil
}

// Account is one account to create with already salted credentials.
type Account struct {
	JID         string
	Credentials Credentials
}

// domainOf returns the domain of a bare JID, or an error when user has no
// localpart or carries a resource.
func domainOf(user string) (string, error) {
	local, domain, ok := strings.Cut(user, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "/") {
		return "", fmt.Errorf("embedded: %q is not a bare JID with a localpart", user)
	}
	return domain, nil
}

// Mechanisms lists SCRAM-SHA-256, SCRAM-SHA-1 and PLAIN: both SCRAM hashes
// are stored for every account, and PLAIN is checked against SHA-256.
func (db *DB) Mechanisms() []string {
	return []string{directory.MechSCRAMSHA256, directory.MechSCRAMSHA1, directory.MechPlain}
}

// Exists reports whether the account exists.
func (db *DB) Exists(ctx context.Context, user string) (bool, error) {
	var one int
	err := db.st.exists.QueryRowContext(ctx, user).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("embedded: exists %s: %w", user, unavailable(err))
	}
	return true, nil
}

// SCRAM returns the stored salted password of user for mech.
func (db *DB) SCRAM(ctx context.Context, user, mech string) (directory.SCRAM, error) {
	var s1, s256 directory.SCRAM
	err := db.st.scram.QueryRowContext(ctx, user).Scan(
		&s1.Salt, &s1.Salted, &s1.Iterations, &s256.Salt, &s256.Salted, &s256.Iterations)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return directory.SCRAM{}, fmt.Errorf("embedded: %s: %w", user, directory.ErrNotFound)
	case err != nil:
		return directory.SCRAM{}, fmt.Errorf("embedded: credentials of %s: %w", user, unavailable(err))
	}
	switch mech {
	case directory.MechSCRAMSHA1:
		return s1, nil
	case directory.MechSCRAMSHA256:
		return s256, nil
	}
	return directory.SCRAM{}, fmt.Errorf("embedded: %s: %w", mech, directory.ErrNoCredentials)
}

// CheckPassword verifies a clear password by salting it again against the
// SCRAM-SHA-256 entry; the clear password is never stored.
func (db *DB) CheckPassword(ctx context.Context, user, password string) error {
	c, err := db.SCRAM(ctx, user, directory.MechSCRAMSHA256)
	if err != nil {
		return err
	}
	if !directory.VerifyPlain(c, directory.MechSCRAMSHA256, password) {
		return fmt.Errorf("embedded: %s: %w", user, directory.ErrBadPassword)
	}
	return nil
}

// Create adds an account; directory.ErrExists when it is there already.
func (db *DB) Create(ctx context.Context, user, password string) error {
	if _, err := domainOf(user); err != nil {
		return err
	}
	c, err := NewCredentials(password, db.iterations)
	if err != nil {
		return err
	}
	return db.CreateWithCredentials(ctx, user, c)
}

// CreateWithCredentials adds an account whose password is already salted.
func (db *DB) CreateWithCredentials(ctx context.Context, user string, c Credentials) error {
	existing, err := db.Import(ctx, []Account{{JID: user, Credentials: c}})
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		return fmt.Errorf("embedded: %s: %w", user, directory.ErrExists)
	}
	return nil
}

// Import creates many accounts in one transaction. Accounts that exist
// already are left untouched and returned; any other failure creates none.
func (db *DB) Import(ctx context.Context, accounts []Account) (existing []string, err error) {
	now := time.Now().Unix()
	err = db.write(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO users (jid, domain,
			sha1_salt, sha1_salted, sha1_iter, sha256_salt, sha256_salted, sha256_iter, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (jid) DO NOTHING`)
		if err != nil {
			return fmt.Errorf("embedded: import: %w", unavailable(err))
		}
		defer st.Close()
		existing = existing[:0]
		for _, a := range accounts {
			domain, err := domainOf(a.JID)
			if err != nil {
				return err
			}
			c1, c256 := a.Credentials.SHA1, a.Credentials.SHA256
			res, err := st.ExecContext(ctx, a.JID, domain, c1.Salt, c1.Salted, c1.Iterations,
				c256.Salt, c256.Salted, c256.Iterations, now)
			if err != nil {
				return fmt.Errorf("embedded: create %s: %w", a.JID, unavailable(err))
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("embedded: create %s: %w", a.JID, err)
			} else if n == 0 {
				existing = append(existing, a.JID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return existing, nil
}

// SetPassword replaces the credentials of an existing account.
func (db *DB) SetPassword(ctx context.Context, user, password string) error {
	c, err := NewCredentials(password, db.iterations)
	if err != nil {
		return err
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET sha1_salt = ?, sha1_salted = ?, sha1_iter = ?,
			sha256_salt = ?, sha256_salted = ?, sha256_iter = ? WHERE jid = ?`,
			c.SHA1.Salt, c.SHA1.Salted, c.SHA1.Iterations,
			c.SHA256.Salt, c.SHA256.Salted, c.SHA256.Iterations, user)
		if err != nil {
			return fmt.Errorf("embedded: set password of %s: %w", user, unavailable(err))
		}
		return mustAffect(res, user)
	})
}

// mustAffect turns "no row changed" into directory.ErrNotFound.
func mustAffect(res sql.Result, user string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("embedded: %s: %w", user, err)
	}
	if n == 0 {
		return fmt.Errorf("embedded: %s: %w", user, directory.ErrNotFound)
	}
	return nil
}

// Delete removes an account with its own roster, roster version, private
// data and group memberships. Other accounts' roster items that name it are
// left alone: they are those users' contacts, which RFC 6121 lets them keep.
// When there is no such account the other rows are still removed and
// directory.ErrNotFound is returned.
func (db *DB) Delete(ctx context.Context, user string) error {
	var notFound error
	err := db.write(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM roster_items WHERE user = ?`,
			// roster_versions is kept: a recreated account continues the
			// old counter, so a client's cached version can never match.
			`DELETE FROM user_data WHERE user = ?`,
			`DELETE FROM groups WHERE member = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, user); err != nil {
				return fmt.Errorf("embedded: delete %s: %w", user, unavailable(err))
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE jid = ?`, user)
		if err != nil {
			return fmt.Errorf("embedded: delete %s: %w", user, unavailable(err))
		}
		notFound = mustAffect(res, user)
		return nil
	})
	if err != nil {
		return err
	}
	return notFound
}

// List returns the bare JIDs of a domain's accounts ("" for all), sorted.
func (db *DB) List(ctx context.Context, domain string) ([]string, error) {
	var rows *sql.Rows
	var err error
	if domain == "" {
		rows, err = db.st.listAll.QueryContext(ctx)
	} else {
		rows, err = db.st.list.QueryContext(ctx, domain)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded: list %s: %w", domain, unavailable(err))
	}
	return scanStrings(rows)
}

// scanStrings reads a one-column result and closes rows.
func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("embedded: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("embedded: %w", unavailable(err))
	}
	return out, nil
}

// User returns an account's attributes and the shared groups it belongs to.
func (db *DB) User(ctx context.Context, user string) (directory.User, error) {
	u := directory.User{JID: user}
	err := db.st.user.QueryRowContext(ctx, user).Scan(&u.DisplayName, &u.Mail)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return u, fmt.Errorf("embedded: %s: %w", user, directory.ErrNotFound)
	case err != nil:
		return u, fmt.Errorf("embedded: user %s: %w", user, unavailable(err))
	}
	rows, err := db.st.userGroups.QueryContext(ctx, user)
	if err != nil {
		return u, fmt.Errorf("embedded: groups of %s: %w", user, unavailable(err))
	}
	u.Groups, err = scanStrings(rows)
	return u, err
}
