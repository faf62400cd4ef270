package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/xmppd/xmppd/archive"
)

// stmts are the prepared statements of the offline queue.
type stmts struct {
	count, fetch        *sql.Stmt // readers
	countW, insert, del *sql.Stmt // writer
	delUser             *sql.Stmt
	all                 []*sql.Stmt
}

func (s *stmts) prepare(r, w *sql.DB) error {
	for _, p := range []struct {
		db *sql.DB
		st **sql.Stmt
		q  string
	}{
		{r, &s.count, `SELECT n FROM offline_counts WHERE user = ?`},
		{r, &s.fetch, `SELECT id, stanza, stamp FROM offline WHERE user = ? ORDER BY id`},
		{w, &s.countW, `SELECT n FROM offline_counts WHERE user = ?`},
		{w, &s.insert, `INSERT INTO offline (user, stamp, stanza) VALUES (?, ?, ?)`},
		{w, &s.del, `DELETE FROM offline WHERE user = ? AND id = ?`},
		{w, &s.delUser, `DELETE FROM offline WHERE user = ?`},
	} {
		st, err := p.db.Prepare(p.q)
		if err != nil {
			return fmt.Errorf("sqlite: prepare %q: %w", p.q, err)
		}
		*p.st = st
		s.all = append(s.all, st)
	}
	return nil
}

func (s *stmts) close() {
	for _, st := range s.all {
		// Releasing a statement cannot lose data; closing the pool that
		// follows reports real failures.
		_ = st.Close()
	}
	s.all = nil
}

// Store appends stanza to user's queue and returns once it is durable.
// The quota is checked inside the same transaction as the insert, so two
// concurrent Stores cannot both take the last free place.
func (s *Store) Store(ctx context.Context, user string, stanza []byte, quota int) error {
	stamp := time.Now().UnixMicro()
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		err := tx.StmtContext(ctx, s.st.countW).QueryRowContext(ctx, user).Scan(&n)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: count offline of %s: %w", user, err)
		}
		if n >= quota {
			return fmt.Errorf("sqlite: %s holds %d messages: %w", user, n, archive.ErrQuota)
		}
		if _, err := tx.StmtContext(ctx, s.st.insert).ExecContext(ctx, user, stamp, stanza); err != nil {
			return fmt.Errorf("sqlite: store offline for %s: %w", user, err)
		}
		return nil
	})
}

// Fetch returns the queued messages of user, oldest first.
func (s *Store) Fetch(ctx context.Context, user string) ([]archive.OfflineMessage, error) {
	rows, err := s.st.fetch.QueryContext(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("sqlite: fetch offline of %s: %w", user, err)
	}
	defer rows.Close()
	var out []archive.OfflineMessage
	for rows.Next() {
		var m archive.OfflineMessage
		var stamp int64
		if err := rows.Scan(&m.ID, &m.Stanza, &stamp); err != nil {
			return nil, fmt.Errorf("sqlite: fetch offline of %s: %w", user, err)
		}
		m.Stamp = time.UnixMicro(stamp).UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: fetch offline of %s: %w", user, err)
	}
	return out, nil
}

// Delete removes delivered messages of user by id; ids of other users'
// messages or of messages already gone are ignored.
func (s *Store) Delete(ctx context.Context, user string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		del := tx.StmtContext(ctx, s.st.del)
		for _, id := range ids {
			if _, err := del.ExecContext(ctx, user, id); err != nil {
				return fmt.Errorf("sqlite: delete offline %d of %s: %w", id, user, err)
			}
		}
		return nil
	})
}

// Count returns how many messages wait for user.
func (s *Store) Count(ctx context.Context, user string) (int, error) {
	var n int
	err := s.st.count.QueryRowContext(ctx, user).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("sqlite: count offline of %s: %w", user, err)
	}
	return n, nil
}

// DeleteUser removes everything stored for user.
func (s *Store) DeleteUser(ctx context.Context, user string) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.StmtContext(ctx, s.st.delUser).ExecContext(ctx, user); err != nil {
			return fmt.Errorf("sqlite: delete offline of %s: %w", user, err)
		}
		return nil
	})
}
