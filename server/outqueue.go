package server

import (
	"bytes"
	"net"
	"sync"
	"time"
)

// outItem is one queued write. msg marks a routed chat/normal message that
// must go to offline storage if the session dies before writing it.
type outItem struct {
	raw []byte
	msg bool
}

// outQueue is a session's bounded outbound queue. At most one flusher
// goroutine runs at a time, started on demand, so an idle session holds no
// writer goroutine and no buffer. Writes are coalesced: everything queued
// while a write is in progress goes out in the next single Write.
type outQueue struct {
	mu       sync.Mutex
	items    []outItem
	pending  int  // bytes queued
	limit    int  // max pending bytes
	flushing bool // a flusher goroutine is running
	closed   bool
	err      error
	conn     net.Conn
	timeout  time.Duration // write deadline per flush
	written  int64
	// onFail is called once (outside the lock) when the queue overflows or
	// a write fails; the session then ends.
	onFail func(error)
	// idle is closed-and-replaced to wake waiters when the queue drains.
	drained *sync.Cond
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func newOutQueue(c net.Conn, limit int, timeout time.Duration, onFail func(error)) *outQueue {
	q := &outQueue{conn: c, limit: limit, timeout: timeout, onFail: onFail}
	q.drained = sync.NewCond(&q.mu)
	return q
}

// errSlowConsumer ends a session whose peer does not read.
type slowConsumerError struct{}

func (slowConsumerError) Error() string { return "server: slow consumer: outbound queue full" }

// push queues raw; it never blocks. It returns false when the queue is
// closed or overflowed (the session is then being cut off).
func (q *outQueue) push(raw []byte, msg bool) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	if q.pending+len(raw) > q.limit {
		q.closed = true
		q.err = slowConsumerError{}
		q.items = append(q.items, outItem{raw, msg}) // kept for offline rescue
		q.mu.Unlock()
		go q.onFail(slowConsumerError{})
		return false
	}
	q.items = append(q.items, outItem{raw, msg})
	q.pending += len(raw)
	start := !q.flushing
	q.flushing = true
	q.mu.Unlock()
	if start {
		go q.flush()
	}
	return true
}

func (q *outQueue) flush() {
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	for {
		q.mu.Lock()
		if len(q.items) == 0 || q.err != nil {
			q.flushing = false
			q.drained.Broadcast()
			q.mu.Unlock()
			return
		}
		items := q.items
		q.items = nil
		n := q.pending
		q.pending = 0
		q.mu.Unlock()

		buf.Reset()
		for _, it := range items {
			buf.Write(it.raw)
		}
		if q.timeout > 0 {
			_ = q.conn.SetWriteDeadline(time.Now().Add(q.timeout)) // errors surface in Write
		}
		_, err := q.conn.Write(buf.Bytes())
		if buf.Cap() > 64<<10 {
			buf = new(bytes.Buffer) // drop an oversized buffer
		}
		q.mu.Lock()
		q.written += int64(n)
		if err != nil && q.err == nil {
			q.err = err
			q.closed = true
			q.mu.Unlock()
			q.onFail(err)
			continue
		}
		q.mu.Unlock()
	}
}

// writeNow writes raw synchronously, after anything queued (used for the
// last words of a stream: errors and the closing tag).
func (q *outQueue) writeNow(raw []byte) {
	q.mu.Lock()
	for q.flushing {
		q.drained.Wait()
	}
	q.closed = true
	q.mu.Unlock()
	if q.timeout > 0 {
		_ = q.conn.SetWriteDeadline(time.Now().Add(q.timeout))
	}
	_, _ = q.conn.Write(raw) // best effort: the stream is ending anyway
}

// close stops the queue and returns the routed messages never written.
func (q *outQueue) close() []outItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	var lost []outItem
	for _, it := range q.items {
		if it.msg {
			lost = append(lost, it)
		}
	}
	q.items = nil
	return lost
}
