// Package sqlite is the embedded archive backend: the XEP-0160 offline
// message queue in one SQLite file of the data directory (modernc.org/sqlite,
// pure Go). XEP-0313 archives will live in the same file.
//
// Durability: the file runs in WAL mode with synchronous=FULL, so Store
// returns only after the WAL has been fsynced; a stored message survives
// kill -9 and a power failure. That makes every commit an fsync, which would
// cap offline storage at the disk's fsync rate. A single writer goroutine
// therefore takes every write queued while the previous commit was syncing
// and runs them as one transaction (group commit): each caller still waits
// for the commit that holds its message, and one fsync covers many
// messages. Each caller's write runs under its own savepoint, so one
// failure (a full quota) never undoes another caller's message.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/xmppd/xmppd/archive"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the archive database's name inside the data directory.
const FileName = "archive.db"

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("sqlite: archive closed")

// busyTimeoutMS bounds how long a write waits for another process (xmppctl
// deleting an account) holding the write lock.
const busyTimeoutMS = 10000

// defaultMaxBatch bounds a group commit, so one transaction never holds the
// write lock for long.
const defaultMaxBatch = 256

var _ archive.Offline = (*Store)(nil)

// Store is the SQLite archive. It is safe for concurrent use.
type Store struct {
	w, r *sql.DB
	st   stmts

	mu     sync.RWMutex // guards closed against sends on reqs
	closed bool
	reqs   chan *op
	done   chan struct{} // closed when the writer has exited

	maxBatch int
	commits  atomic.Int64 // transactions committed by the writer, for benchmarks
}

// Open opens (creating it if needed) the archive at path and starts its
// writer.
func Open(path string) (*Store, error) {
	return open(path, defaultMaxBatch)
}

func open(path string, maxBatch int) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w, err := openPool(path, false)
	if err != nil {
		return nil, err
	}
	if err := migrate(context.Background(), w); err != nil {
		return nil, errors.Join(err, w.Close())
	}
	r, err := openPool(path, true)
	if err != nil {
		return nil, errors.Join(err, w.Close())
	}
	s := &Store{w: w, r: r, maxBatch: maxBatch,
		reqs: make(chan *op, maxBatch), done: make(chan struct{})}
	if err := s.st.prepare(r, w); err != nil {
		s.st.close()
		return nil, errors.Join(err, r.Close(), w.Close())
	}
	go s.writer()
	return s, nil
}

// openPool opens the single writer connection or a pool of query-only
// readers on path.
func openPool(path string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	}
	// A file: URI with the path escaped, so that '?', '#' or '%' in a
	// directory name are not read as URI syntax.
	uri := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", uri)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := 1
	if readOnly {
		n = max(4, runtime.GOMAXPROCS(0))
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.Ping(); err != nil {
		return nil, errors.Join(fmt.Errorf("sqlite: open %s: %w", path, err), db.Close())
	}
	return db, nil
}

// Close waits for the queued writes to commit, then closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.mu.Unlock()
	<-s.done
	s.st.close()
	if err := errors.Join(s.r.Close(), s.w.Close()); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// migrations[i] takes the schema from user_version i to i+1; append only.
var migrations = []string{
	`CREATE TABLE offline (
		id     INTEGER PRIMARY KEY AUTOINCREMENT,
		user   TEXT NOT NULL,
		stamp  INTEGER NOT NULL, -- microseconds since the Unix epoch, UTC
		stanza BLOB NOT NULL
	);
	CREATE INDEX offline_user ON offline (user, id);
	-- Queue lengths, kept by triggers so that the quota check on every
	-- Store costs one lookup instead of counting up to quota rows, and
	-- stays right whichever process writes.
	CREATE TABLE offline_counts (
		user TEXT PRIMARY KEY,
		n    INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE TRIGGER offline_count_insert AFTER INSERT ON offline BEGIN
		INSERT INTO offline_counts (user, n) VALUES (NEW.user, 1)
			ON CONFLICT (user) DO UPDATE SET n = n + 1;
	END;
	CREATE TRIGGER offline_count_delete AFTER DELETE ON offline BEGIN
		UPDATE offline_counts SET n = n - 1 WHERE user = OLD.user;
		DELETE FROM offline_counts WHERE user = OLD.user AND n <= 0;
	END;`,
}

// SchemaVersion is the user_version of a database this package wrote.
var SchemaVersion = len(migrations)

// migrate brings the schema up to date in one immediate transaction, which
// serialises two processes opening a new file at once.
func migrate(ctx context.Context, w *sql.DB) (err error) {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer func() {
		if err != nil {
			if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
				err = errors.Join(err, rerr)
			}
		}
	}()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("sqlite: schema version %d is newer than this program's %d", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("sqlite: migrate to version %d: %w", i+1, err)
		}
	}
	// PRAGMA takes no parameters; the value is our own integer.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}
