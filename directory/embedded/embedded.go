// Package embedded is the default directory backend: accounts with their
// SCRAM credentials (RFC 5802, RFC 7677), RFC 6121 rosters with versioning,
// per-user private data and shared groups, all in one SQLite file in the data
// directory (modernc.org/sqlite, pure Go).
//
// The file is opened in WAL mode with a busy timeout so that xmppctl can
// write while the server runs: both processes open the same file, and SQLite
// serialises their writers. Nothing is cached in the process, so a change
// made by one process is seen by the other on its next query.
//
// Durability: the directory runs with synchronous=NORMAL. In WAL mode a
// committed transaction is in the WAL file (the operating system's page
// cache) before Commit returns, so it survives the process being killed; only
// a power failure can lose the last few commits, never corrupt the file.
// Account and roster writes are rare and cheap to repeat, unlike offline
// messages (archive/sqlite), which run with synchronous=FULL.
package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"github.com/xmppd/xmppd/directory"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// FileName is the directory database's name inside the data directory.
const FileName = "directory.db"

// busyTimeoutMS bounds how long a writer waits for the other process's
// write transaction before giving up with SQLITE_BUSY.
const busyTimeoutMS = 10000

var _ directory.Store = (*DB)(nil)

// DB is the embedded directory. It is safe for concurrent use.
type DB struct {
	// w has a single connection: SQLite admits one writer at a time, and
	// queueing in-process writers on the pool is cheaper than letting them
	// collide on the file lock and sleep in the busy handler.
	w *sql.DB
	// r is a pool of read-only connections; WAL lets them read a
	// consistent snapshot while a write is under way.
	r          *sql.DB
	iterations int
	st         stmts
}

// Open opens (creating it if needed) the directory database at path, and
// brings its schema up to date. New passwords are salted with iterations
// rounds of PBKDF2.
func Open(path string, iterations int) (*DB, error) {
	if iterations < 1 {
		return nil, fmt.Errorf("embedded: %d SCRAM iterations", iterations)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	w, err := openPool(path, false)
	if err != nil {
		return nil, err
	}
	db := &DB{w: w, iterations: iterations}
	if err := migrate(context.Background(), w); err != nil {
		_ = w.Close() // the migration error is the one worth reporting
		return nil, err
	}
	if db.r, err = openPool(path, true); err != nil {
		_ = w.Close()
		return nil, err
	}
	if err := db.st.prepare(db.r, db.w); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

// openPool opens a connection pool on path: a single immediate-mode writer,
// or a few query-only readers.
func openPool(path string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		// BEGIN IMMEDIATE takes the write lock at once, so a transaction
		// never has to upgrade a read lock and fail with SQLITE_BUSY.
		q.Set("_txlock", "immediate")
	}
	// A file: URI, with the path escaped so that '?', '#' or '%' in a
	// directory name cannot be taken for URI syntax.
	uri := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", uri)
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	n := 1
	if readOnly {
		n = max(4, runtime.GOMAXPROCS(0))
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(0)
	if err := db.Ping(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error {
	var errs []error
	db.st.close()
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	errs = append(errs, db.w.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("embedded: close: %w", err)
	}
	return nil
}

// Iterations is the PBKDF2 round count used for new passwords.
func (db *DB) Iterations() int { return db.iterations }

// write runs fn in one immediate transaction on the writer connection.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("embedded: begin: %w", unavailable(err))
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, rollback(tx))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("embedded: commit: %w", unavailable(err))
	}
	return nil
}

func rollback(tx *sql.Tx) error {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("embedded: rollback: %w", err)
	}
	return nil
}

// unavailable marks storage failures (busy, I/O, closed) with
// directory.ErrUnavailable so callers can tell them from "no such user";
// context errors are kept as they are.
func unavailable(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", directory.ErrUnavailable, err)
}
