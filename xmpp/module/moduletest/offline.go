package moduletest

import (
	"context"
	"sync"
	"time"

	"github.com/xmppd/xmppd/archive"
)

var _ archive.Offline = (*Offline)(nil)

// Offline is an in-memory archive.Offline.
type Offline struct {
	mu     sync.Mutex
	nextID int64
	queue  map[string][]archive.OfflineMessage
}

// NewOffline returns an empty queue.
func NewOffline() *Offline {
	return &Offline{queue: map[string][]archive.OfflineMessage{}}
}

// Store implements archive.Offline.
func (o *Offline) Store(ctx context.Context, user string, stanza []byte, quota int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.queue[user]) >= quota {
		return archive.ErrQuota
	}
	o.nextID++
	o.queue[user] = append(o.queue[user], archive.OfflineMessage{
		ID: o.nextID, Stanza: append([]byte(nil), stanza...), Stamp: time.Now(),
	})
	return nil
}

// Fetch implements archive.Offline.
func (o *Offline) Fetch(ctx context.Context, user string) ([]archive.OfflineMessage, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]archive.OfflineMessage(nil), o.queue[user]...), nil
}

// Delete implements archive.Offline.
func (o *Offline) Delete(ctx context.Context, user string, ids []int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	drop := map[int64]bool{}
	for _, id := range ids {
		drop[id] = true
	}
	var keep []archive.OfflineMessage
	for _, m := range o.queue[user] {
		if !drop[m.ID] {
			keep = append(keep, m)
		}
	}
	o.queue[user] = keep
	return nil
}

// Count implements archive.Offline.
func (o *Offline) Count(ctx context.Context, user string) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.queue[user]), nil
}

// DeleteUser implements archive.Offline.
func (o *Offline) DeleteUser(ctx context.Context, user string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.queue, user)
	return nil
}

// Close implements archive.Offline.
func (o *Offline) Close() error { return nil }
