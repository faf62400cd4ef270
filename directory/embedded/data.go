package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/xmppd/xmppd/directory"
)

// GetData returns the value stored for (user, key); ok is false when there
// is none.
func (db *DB) GetData(ctx context.Context, user, key string) ([]byte, bool, error) {
	var v []byte
	err := db.st.getData.QueryRowContext(ctx, user, key).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("embedded: data %s of %s: %w", key, user, unavailable(err))
	}
	return v, true, nil
}

// PutData stores value under (user, key), replacing what was there.
func (db *DB) PutData(ctx context.Context, user, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	if _, err := db.st.putData.ExecContext(ctx, user, key, value); err != nil {
		return fmt.Errorf("embedded: put data %s of %s: %w", key, user, unavailable(err))
	}
	return nil
}

// DeleteData removes (user, key); removing nothing is not an error.
func (db *DB) DeleteData(ctx context.Context, user, key string) error {
	if _, err := db.st.deleteData.ExecContext(ctx, user, key); err != nil {
		return fmt.Errorf("embedded: delete data %s of %s: %w", key, user, unavailable(err))
	}
	return nil
}

// Groups returns the shared groups that have a member in domain ("" for
// every group), each with all its members, sorted by name and member.
func (db *DB) Groups(ctx context.Context, domain string) ([]directory.Group, error) {
	st, args := db.st.groups, []any{}
	if domain != "" {
		st, args = db.st.groupsOf, []any{domain}
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("embedded: groups of %s: %w", domain, unavailable(err))
	}
	defer rows.Close()
	var out []directory.Group
	for rows.Next() {
		var name, member string
		if err := rows.Scan(&name, &member); err != nil {
			return nil, fmt.Errorf("embedded: groups: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Name != name {
			out = append(out, directory.Group{Name: name})
		}
		g := &out[len(out)-1]
		g.Members = append(g.Members, member)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("embedded: groups of %s: %w", domain, unavailable(err))
	}
	return out, nil
}

// AddGroupMember puts members (bare JIDs) in the shared group name, creating
// the group with its first member. Members already there are kept.
func (db *DB) AddGroupMember(ctx context.Context, name string, members ...string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("embedded: empty group name")
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		for _, m := range members {
			domain, err := domainOf(m)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO groups (name, member, domain) VALUES (?, ?, ?)
				ON CONFLICT (name, member) DO NOTHING`, name, m, domain)
			if err != nil {
				return fmt.Errorf("embedded: add %s to group %s: %w", m, name, unavailable(err))
			}
		}
		return nil
	})
}

// RemoveGroupMember takes members out of the shared group name; a group
// with no member left no longer exists. It returns how many were removed.
func (db *DB) RemoveGroupMember(ctx context.Context, name string, members ...string) (int, error) {
	removed := 0
	err := db.write(ctx, func(tx *sql.Tx) error {
		removed = 0
		for _, m := range members {
			res, err := tx.ExecContext(ctx, `DELETE FROM groups WHERE name = ? AND member = ?`, name, m)
			if err != nil {
				return fmt.Errorf("embedded: remove %s from group %s: %w", m, name, unavailable(err))
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("embedded: remove %s from group %s: %w", m, name, err)
			}
			removed += int(n)
		}
		return nil
	})
	return removed, err
}
