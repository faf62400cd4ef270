package server

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

// loopReader serves a header once, then the same stanza forever, the way a
// connection would, without allocating.
type loopReader struct {
	hdr, body []byte
	off       int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if len(l.hdr) > 0 {
		n := copy(p, l.hdr)
		l.hdr = l.hdr[n:]
		return n, nil
	}
	n := 0
	for n < len(p) {
		k := copy(p[n:], l.body[l.off:])
		n += k
		l.off = (l.off + k) % len(l.body)
	}
	return n, nil
}

// stanza4K is a message of about 4 KiB with nested elements and entities.
var stanza4K = "<message to='bob@localhost' type='chat' id='m4'><body>" +
	strings.Repeat("lorem ipsum &amp; dolor sit amet ", 110) + "</body>" +
	"<x xmlns='urn:x'><y a='1'>z</y><![CDATA[raw <data>]]></x></message>"

type nexter interface{ next() (*element, error) }

func benchReader(b *testing.B, stanza string, mk func(io.Reader) (nexter, error)) {
	rd, err := mk(&loopReader{hdr: []byte(fuzzHeader), body: []byte(stanza)})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(stanza)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		el, err := rd.next()
		if err != nil {
			b.Fatal(err)
		}
		if len(el.raw) != len(stanza) {
			b.Fatalf("read %d bytes, want %d", len(el.raw), len(stanza))
		}
	}
}

func newBenchScanner(r io.Reader) (nexter, error) {
	s := newScanner(bufio.NewReaderSize(r, 4096), 256<<10)
	_, err := s.header()
	return s, err
}

func newBenchOld(r io.Reader) (nexter, error) {
	s := newXMLStreamReader(bufio.NewReaderSize(r, 4096), 256<<10)
	_, err := s.header()
	return s, err
}

// BenchmarkScanner compares the scanner with the encoding/xml reader on the
// 150-byte message of BenchmarkParse and on a 4 KiB stanza.
func BenchmarkScanner(b *testing.B) {
	for _, c := range []struct{ name, stanza string }{{"msg150", benchMsg}, {"stanza4K", stanza4K}} {
		b.Run(c.name+"/scanner", func(b *testing.B) { benchReader(b, c.stanza, newBenchScanner) })
		b.Run(c.name+"/encoding-xml", func(b *testing.B) { benchReader(b, c.stanza, newBenchOld) })
	}
}

// TestScannerIdleMemory checks what a reader blocked between stanzas keeps:
// after a large stanza, the scanner drops its big buffer on the next read.
func TestScannerIdleMemory(t *testing.T) {
	big := "<message><body>" + strings.Repeat("x", 60<<10) + "</body></message>"
	data := fuzzHeader + big + "<presence/>"
	s := newScanner(bufio.NewReaderSize(bytes.NewReader([]byte(data)), 4096), 256<<10)
	if _, err := s.header(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []int{len(big), len("<presence/>")} {
		el, err := s.next()
		if err != nil || len(el.raw) != want {
			t.Fatalf("read %v, want %d bytes", err, want)
		}
	}
	if cap(s.big) != 0 {
		t.Fatalf("scanner keeps %d bytes after a large stanza", cap(s.big))
	}
}
