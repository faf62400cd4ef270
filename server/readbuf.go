package server

import (
	"bufio"
	"io"
)

// readBufSize is the read buffer of a busy stream.
const readBufSize = 4096

// readBufs keeps the read buffers that idle streams gave back (see
// session.loop). Unlike a sync.Pool, which holds whatever was put in it
// until the next two collections (and while the heap does not grow there
// are none), it keeps at most its capacity: free buffers are live memory,
// which the GC target then multiplies. A buffer beyond that is garbage at
// once.
var readBufs = make(chan *bufio.Reader, 512)

// getReader returns a pooled read buffer reading from r.
func getReader(r io.Reader) *bufio.Reader {
	select {
	case br := <-readBufs:
		br.Reset(r)
		return br
	default:
		return bufio.NewReaderSize(r, readBufSize)
	}
}

// putReader gives back a read buffer that holds no unread bytes.
func putReader(br *bufio.Reader) {
	br.Reset(nil)
	select {
	case readBufs <- br:
	default:
	}
}
