package server

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/xmppd/xmppd/conf"
	"mellium.im/xmpp/jid"
)

var benchMsg = "<message to='bob@localhost' type='chat' id='m1'><body>" + strings.Repeat("x", 64) + "</body></message>"

// BenchmarkParse measures the reader and from-stamping of one 150-byte
// message: the per-stanza parse cost on the hot path.
func BenchmarkParse(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString(fuzzHeader)
	for i := 0; i < b.N; i++ {
		buf.WriteString(benchMsg)
	}
	from := jid.MustParse("alice@localhost/r")
	sr := newStreamReader(bufio.NewReader(&buf), 1<<20)
	if _, err := sr.header(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchMsg)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		el, err := sr.next()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := buildStanza(el, from); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRouteMessage sends messages from alice to bob through a real
// server over loopback TCP: parse, route, queue, write, per message.
func BenchmarkRouteMessage(b *testing.B) {
	// Bob reads as fast as he can, but a burst can still outrun him: give
	// him room so the benchmark measures routing, not the slow-consumer cut.
	s := startServer(b, func(c *conf.Config) { c.C2S.QueueBytes = 1 << 30; c.Offline.Quota = 1000000 })
	a := dialRaw(b, s.addr)
	a.login("alice", "pw", "r")
	a.presence()
	bob := dialRaw(b, s.addr)
	bob.login("bob", "pw", "r")
	bob.presence()
	// Drain Bob's socket, counting messages.
	done := make(chan error, 1)
	go func() {
		r := bufio.NewReaderSize(bob.conn, 64<<10)
		n := 0
		needle := []byte("</message>")
		var carry []byte
		buf := make([]byte, 64<<10)
		for n < b.N {
			k, err := r.Read(buf)
			if err != nil {
				done <- err
				return
			}
			chunk := append(carry, buf[:k]...)
			n += bytes.Count(chunk, needle)
			if i := bytes.LastIndex(chunk, needle); i >= 0 {
				carry = append(carry[:0], chunk[i+len(needle):]...)
			} else {
				carry = append(carry[:0], chunk...)
			}
		}
		done <- nil
	}()
	w := bufio.NewWriterSize(a.conn, 64<<10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := io.WriteString(w, "<message to='bob@localhost' type='chat' id='"+strconv.Itoa(i)+"'><body>"+strings.Repeat("x", 64)+"</body></message>"); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
