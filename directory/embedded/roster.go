package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/xmppd/xmppd/directory"
)

// itemColumns are the roster_items columns scanItem reads, in its order.
const itemColumns = `contact, name, subscription, ask, pending_in, approved, groups, pending_stanza`

type scanner interface{ Scan(dest ...any) error }

func scanItem(s scanner) (directory.RosterItem, error) {
	var it directory.RosterItem
	var groups string
	err := s.Scan(&it.JID, &it.Name, &it.Subscription, &it.Ask, &it.PendingIn, &it.Approved,
		&groups, &it.PendingStanza)
	if err != nil {
		return it, err
	}
	if groups != "[]" {
		if err := json.Unmarshal([]byte(groups), &it.Groups); err != nil {
			return it, fmt.Errorf("embedded: roster item %s: groups: %w", it.JID, err)
		}
	}
	return it, nil
}

// Roster returns the items of user, sorted by contact, with the version
// they are at, both read from one snapshot.
func (db *DB) Roster(ctx context.Context, user string) ([]directory.RosterItem, int64, error) {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("embedded: roster of %s: %w", user, unavailable(err))
	}
	// A read-only transaction has nothing to undo; Rollback only ends it.
	defer func() { _ = tx.Rollback() }()
	var version int64
	err = tx.StmtContext(ctx, db.st.rosterVersion).QueryRowContext(ctx, user).Scan(&version)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("embedded: roster version of %s: %w", user, unavailable(err))
	}
	rows, err := tx.StmtContext(ctx, db.st.roster).QueryContext(ctx, user)
	if err != nil {
		return nil, 0, fmt.Errorf("embedded: roster of %s: %w", user, unavailable(err))
	}
	defer rows.Close()
	var items []directory.RosterItem
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("embedded: roster of %s: %w", user, err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("embedded: roster of %s: %w", user, unavailable(err))
	}
	return items, version, nil
}

// Item returns one roster item; ok is false when the contact is not there.
func (db *DB) Item(ctx context.Context, user, contact string) (directory.RosterItem, bool, error) {
	it, err := scanItem(db.st.item.QueryRowContext(ctx, user, contact))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return directory.RosterItem{}, false, nil
	case err != nil:
		return directory.RosterItem{}, false, fmt.Errorf("embedded: roster item %s of %s: %w", contact, user, unavailable(err))
	}
	return it, true, nil
}

func validSubscription(s string) bool {
	switch s {
	case directory.SubNone, directory.SubTo, directory.SubFrom, directory.SubBoth:
		return true
	}
	return false
}

// PutItem creates or replaces an item and returns the roster's new version.
// The groups are stored sorted and without duplicates.
func (db *DB) PutItem(ctx context.Context, user string, item directory.RosterItem) (int64, error) {
	if item.JID == "" {
		return 0, fmt.Errorf("embedded: roster item of %s without a JID", user)
	}
	if item.Subscription == "" {
		item.Subscription = directory.SubNone
	}
	if !validSubscription(item.Subscription) {
		return 0, fmt.Errorf("embedded: roster item %s: subscription %q", item.JID, item.Subscription)
	}
	groups := slices.Compact(slices.Sorted(slices.Values(item.Groups)))
	if groups == nil {
		groups = []string{}
	}
	gj, err := json.Marshal(groups)
	if err != nil {
		return 0, fmt.Errorf("embedded: roster item %s: %w", item.JID, err)
	}
	var version int64
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.StmtContext(ctx, db.st.putItem).ExecContext(ctx, user, item.JID, item.Name,
			item.Subscription, item.Ask, item.PendingIn, item.Approved, string(gj), item.PendingStanza)
		if err != nil {
			return fmt.Errorf("embedded: put roster item %s of %s: %w", item.JID, user, unavailable(err))
		}
		version, err = db.bumpVersion(ctx, tx, user)
		return err
	})
	return version, err
}

// DeleteItem removes an item and returns the roster's new version. The
// version moves even when the contact was not there, so a roster push that
// follows always carries a fresh version.
func (db *DB) DeleteItem(ctx context.Context, user, contact string) (int64, error) {
	var version int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.StmtContext(ctx, db.st.deleteItem).ExecContext(ctx, user, contact); err != nil {
			return fmt.Errorf("embedded: delete roster item %s of %s: %w", contact, user, unavailable(err))
		}
		var err error
		version, err = db.bumpVersion(ctx, tx, user)
		return err
	})
	return version, err
}

// bumpVersion increments user's roster version (a per-user counter, as
// Prosody's: the first change of a roster is version 1).
func (db *DB) bumpVersion(ctx context.Context, tx *sql.Tx, user string) (int64, error) {
	var v int64
	if err := tx.StmtContext(ctx, db.st.bumpSeq).QueryRowContext(ctx, user).Scan(&v); err != nil {
		return 0, fmt.Errorf("embedded: roster version of %s: %w", user, unavailable(err))
	}
	return v, nil
}
