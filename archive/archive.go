// Package archive is durable message storage: the XEP-0160 offline queue now,
// and the XEP-0313 archive of 1:1 and room messages later. The embedded
// backend (archive/sqlite) keeps everything in one SQLite file in the data
// directory; a PostgreSQL backend can implement the same interfaces.
package archive

import (
	"context"
	"errors"
	"time"
)

// ErrQuota is returned when an account's offline queue is full.
var ErrQuota = errors.New("archive: offline quota exceeded")

// OfflineMessage is a stored stanza with its arrival time.
type OfflineMessage struct {
	ID     int64
	Stanza []byte // the message as routed, from stamped
	Stamp  time.Time
}

// Offline is the XEP-0160 store. Store returns only once the message is
// durable (it survives kill -9).
type Offline interface {
	// Store appends one message for user (a bare JID); ErrQuota when the
	// account already holds quota messages (quota 0 stores nothing).
	Store(ctx context.Context, user string, stanza []byte, quota int) error
	// Fetch returns the queued messages of user, oldest first.
	Fetch(ctx context.Context, user string) ([]OfflineMessage, error)
	// Delete removes delivered messages by id.
	Delete(ctx context.Context, user string, ids []int64) error
	// Count returns how many messages wait for user.
	Count(ctx context.Context, user string) (int, error)
	// DeleteUser removes everything stored for user.
	DeleteUser(ctx context.Context, user string) error
	Close() error
}
