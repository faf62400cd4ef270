package link

import (
	"errors"
	"net"
	"sync"
	"time"
)

// maxBatch is the largest batch of yamux frames written at once; a writer
// that would exceed it waits for the flusher (backpressure).
const maxBatch = 256 << 10

// batchWriter sits between yamux and the link connection. yamux's send
// loop writes every frame header and every body separately, one syscall
// each; here they are appended to a buffer that one flusher goroutine
// writes out, so everything queued while a write is in progress (frames of
// many streams) goes out in the next single write. An idle link adds no
// delay: the flusher is woken by the first byte.
type batchWriter struct {
	net.Conn
	timeout time.Duration

	mu    sync.Mutex
	cond  sync.Cond
	buf   []byte
	spare []byte
	err   error
}

// errLinkClosed is returned by Write after Close.
var errLinkClosed = errors.New("link: connection closed")

func newBatchWriter(c net.Conn, timeout time.Duration) *batchWriter {
	w := &batchWriter{Conn: c, timeout: timeout}
	w.cond.L = &w.mu
	go w.flushLoop()
	return w
}

func (w *batchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.err == nil && len(w.buf) > 0 && len(w.buf)+len(p) > maxBatch {
		w.cond.Wait()
	}
	if w.err != nil {
		return 0, w.err
	}
	w.buf = append(w.buf, p...)
	w.cond.Broadcast()
	return len(p), nil
}

func (w *batchWriter) flushLoop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		for w.err == nil && len(w.buf) == 0 {
			w.cond.Wait()
		}
		if w.err != nil {
			return
		}
		out := w.buf
		w.buf, w.spare = w.spare[:0], nil
		w.cond.Broadcast() // room for waiting writers
		w.mu.Unlock()
		err := w.Conn.SetWriteDeadline(time.Now().Add(w.timeout))
		if err == nil {
			_, err = w.Conn.Write(out)
		}
		w.mu.Lock()
		if cap(out) <= maxBatch*2 {
			w.spare = out[:0]
		}
		if err != nil {
			if w.err == nil {
				w.err = err
			}
			w.cond.Broadcast()
			_ = w.Conn.Close() // the link is dead; yamux sees it on read
			return
		}
	}
}

// Close stops the flusher (bytes not yet written are dropped, as yamux
// does on Close) and closes the connection.
func (w *batchWriter) Close() error {
	w.mu.Lock()
	if w.err == nil {
		w.err = errLinkClosed
	}
	w.cond.Broadcast()
	w.mu.Unlock()
	return w.Conn.Close()
}
