package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"mellium.im/xmpp/jid"
)

// chunkReader returns its input in pieces of the given sizes, so the
// stream reader sees stanzas split at arbitrary points.
type chunkReader struct {
	data  []byte
	sizes []byte
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(c.sizes) > 0 {
		n = int(c.sizes[c.i%len(c.sizes)])%64 + 1
		c.i++
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

const fuzzHeader = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>"

// readAll reads a stream through the reader: header, then elements.
func readAll(r io.Reader, limit int) ([][]byte, error) {
	sr := newStreamReader(bufio.NewReaderSize(r, 16), limit)
	if _, err := sr.header(); err != nil {
		return nil, err
	}
	var out [][]byte
	for {
		el, err := sr.next()
		if err != nil {
			return out, err
		}
		out = append(out, append([]byte(nil), el.raw...))
		if _, err := buildStanza(el, jid.MustParse("a@localhost/r")); err != nil && !errors.Is(err, errJIDMalformed) {
			return out, err
		}
	}
}

// FuzzStreamReader feeds a stream split at arbitrary points: whatever the
// split, the elements read must be the same as with one big read, and
// nothing may panic or exceed the size limit.
func FuzzStreamReader(f *testing.F) {
	for _, s := range []string{
		"<message to='b@localhost' type='chat'><body>hi</body></message>",
		"<presence/>\n \t<iq type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>",
		"<message><x:y xmlns:x='urn:x' x:a='1'>t&amp;&lt;</x:y></message></stream:stream>",
		"<message><body>unclosed</message>",
		"<!DOCTYPE x [<!ENTITY a 'b'>]><message/>",
		"<message><body>&xxe;</body></message>",
		"<message xml:lang='en' to='x@y/z'><![CDATA[<raw>]]></message>",
	} {
		f.Add([]byte(s), []byte{3, 7, 1})
	}
	f.Fuzz(func(t *testing.T, body, sizes []byte) {
		data := append([]byte(fuzzHeader), body...)
		const limit = 4096
		whole, errWhole := readAll(bytes.NewReader(data), limit)
		split, errSplit := readAll(&chunkReader{data: data, sizes: sizes}, limit)
		if len(whole) != len(split) {
			t.Fatalf("whole read %d elements (%v), split read %d (%v)", len(whole), errWhole, len(split), errSplit)
		}
		for i := range whole {
			if !bytes.Equal(whole[i], split[i]) {
				t.Fatalf("element %d differs:\n%q\n%q", i, whole[i], split[i])
			}
			if len(whole[i]) > limit {
				t.Fatalf("element of %d bytes passed a %d limit", len(whole[i]), limit)
			}
		}
		if (errWhole == nil) != (errSplit == nil) {
			t.Fatalf("errors differ: %v / %v", errWhole, errSplit)
		}
	})
}

// FuzzJID checks that JIDs from the wire never panic and that a parsed JID
// survives a round trip through its string form.
func FuzzJID(f *testing.F) {
	for _, s := range []string{"a@b/c", "b", "a@b", "@b", "a@/c", "a@b/c/d", "ⅷ@example.com/Ⅷ", "\x00@b", "a@[::1]/x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j, err := jid.Parse(s)
		if err != nil {
			return
		}
		j2, err := jid.Parse(j.String())
		if err != nil {
			t.Fatalf("%q parsed as %q which does not parse: %v", s, j.String(), err)
		}
		if !j.Equal(j2) || j.String() != j2.String() {
			t.Fatalf("round trip %q -> %q -> %q", s, j.String(), j2.String())
		}
	})
}

func TestStreamReaderOneByteAtATime(t *testing.T) {
	data := fuzzHeader + "  <message to='b@localhost'><body>x</body></message>\n<presence/>"
	els, err := readAll(iotest.OneByteReader(bytes.NewReader([]byte(data))), 4096)
	if len(els) != 2 || err == nil {
		t.Fatalf("got %d elements, err %v", len(els), err)
	}
	if string(els[1]) != "<presence/>" {
		t.Fatalf("second element %q", els[1])
	}
}
