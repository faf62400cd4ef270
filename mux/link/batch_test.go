package link

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"
)

// TestBatchWriterOrder: many small writes arrive complete and in order.
func TestBatchWriterOrder(t *testing.T) {
	cc, sc := tcpPair(t)
	w := newBatchWriter(cc, 30*time.Second)
	defer w.Close()
	var want bytes.Buffer
	got := make(chan []byte, 1)
	const total = 2000
	for i := 0; i < total; i++ {
		want.WriteString("<frame n='" + string(rune('a'+i%26)) + "'/>")
	}
	go func() {
		b := make([]byte, want.Len())
		_, _ = io.ReadFull(sc, b)
		got <- b
	}()
	data := want.Bytes()
	for len(data) > 0 {
		n := min(len(data), 13)
		if _, err := w.Write(data[:n]); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Fatal("bytes differ")
	}
}

// TestBatchWriterErrors: after the peer is gone or Close, writes fail
// instead of buffering forever, and a writer waiting for room is woken.
func TestBatchWriterErrors(t *testing.T) {
	cases := []struct {
		name string
		stop func(w *batchWriter, peer io.Closer)
	}{
		{"close", func(w *batchWriter, _ io.Closer) { w.Close() }},
		{"stuck peer times out", func(*batchWriter, io.Closer) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cc, sc := tcpPair(t)
			w := newBatchWriter(cc, 200*time.Millisecond)
			defer w.Close()
			res := make(chan error, 1)
			go func() {
				chunk := make([]byte, 64<<10)
				for {
					if _, err := w.Write(chunk); err != nil {
						res <- err
						return
					}
				}
			}()
			tc.stop(w, sc) // the peer never reads: buffers fill, the writer blocks
			select {
			case err := <-res:
				if err == nil || (tc.name == "close" && !errors.Is(err, errLinkClosed)) {
					t.Fatalf("err = %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("writer still blocked")
			}
		})
	}
}
