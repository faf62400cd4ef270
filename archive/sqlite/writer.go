package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// op is one caller's write, run by the writer goroutine inside a shared
// transaction. res receives exactly one value.
type op struct {
	ctx context.Context
	fn  func(ctx context.Context, tx *sql.Tx) error
	res chan error
}

// write queues fn and waits until the transaction that ran it has committed
// (or failed). If ctx ends while fn is still queued, fn is skipped; if it
// ends while the commit is under way, write returns ctx.Err() although the
// write may still become durable.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	o := &op{ctx: ctx, fn: fn, res: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.reqs <- o:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	select {
	case err := <-o.res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer runs until Close: it takes one queued op, everything else queued
// behind it (up to maxBatch), and commits them together.
func (s *Store) writer() {
	defer close(s.done)
	batch := make([]*op, 0, s.maxBatch)
	for first := range s.reqs {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case o, ok := <-s.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

// commit runs batch in one transaction, each op under its own savepoint,
// and tells every caller its result once the commit is durable.
func (s *Store) commit(batch []*op) {
	results := make([]error, len(batch))
	err := s.runBatch(batch, results)
	for i, o := range batch {
		if err != nil && results[i] == nil {
			results[i] = err
		}
		o.res <- results[i]
	}
}

func (s *Store) runBatch(batch []*op, results []error) error {
	// The transaction outlives any single caller's context: it carries
	// other callers' writes too.
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	for i, o := range batch {
		if err := o.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if results[i], err = runOp(ctx, tx, o); err != nil {
			return errors.Join(err, rollback(tx))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	s.commits.Add(1)
	return nil
}

// runOp runs one op under a savepoint. The op's own error is returned
// first; the second error is a failure of the savepoint machinery itself,
// which spoils the whole transaction.
func runOp(ctx context.Context, tx *sql.Tx, o *op) (opErr, txErr error) {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
		return nil, fmt.Errorf("sqlite: savepoint: %w", err)
	}
	// Not the caller's context: an interrupted statement inside a
	// transaction makes SQLite roll back the whole transaction, other
	// callers' writes included.
	opErr = o.fn(ctx, tx)
	if opErr != nil {
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO op"); err != nil {
			return opErr, fmt.Errorf("sqlite: rollback to savepoint: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "RELEASE op"); err != nil {
		return opErr, fmt.Errorf("sqlite: release savepoint: %w", err)
	}
	return opErr, nil
}

func rollback(tx *sql.Tx) error {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("sqlite: rollback: %w", err)
	}
	return nil
}
