package server

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readResult is what a stream reader made of an input.
type readResult struct {
	hdr   xml.StartElement
	els   []string // raw bytes, then name and attributes
	err   error
	class string
}

func classOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, errStreamEnd):
		return "end"
	case errors.Is(err, errTooBig):
		return "too-big"
	case errors.Is(err, errRestricted):
		return "restricted"
	case streamErrorFor(err) == "not-well-formed":
		return "not-well-formed"
	case errors.Is(err, io.EOF):
		return "eof"
	}
	return "other: " + err.Error()
}

func describe(el *element) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q start=%d {%s}%s", el.raw, el.startLen, el.start.Name.Space, el.start.Name.Local)
	for _, a := range el.start.Attr {
		fmt.Fprintf(&b, " {%s}%s=%q", a.Name.Space, a.Name.Local, a.Value)
	}
	return b.String()
}

// reader is the part of a stream reader the tests drive.
type reader interface {
	header() (xml.StartElement, error)
	next() (*element, error)
}

func runReader(rd reader) readResult {
	var res readResult
	res.hdr, res.err = rd.header()
	for res.err == nil && len(res.els) < 1000 {
		var el *element
		el, res.err = rd.next()
		if res.err == nil {
			res.els = append(res.els, describe(el))
		}
	}
	res.class = classOf(res.err)
	return res
}

func readNew(r io.Reader, size, limit int) readResult {
	return runReader(newScanner(bufio.NewReaderSize(r, size), limit))
}

func readOld(r io.Reader, limit int) readResult {
	return runReader(newXMLStreamReader(bufio.NewReaderSize(r, 16), limit))
}

func TestScannerCases(t *testing.T) {
	for _, tc := range []struct {
		name, body, class string
		els               int
	}{
		{"message", benchMsg, "not-well-formed", 1},
		{"keepalives", " \n<presence/>\t <iq type='get' id='1'/>\r\n", "not-well-formed", 2},
		{"end", "<presence/></stream:stream>", "end", 1},
		{"entities", "<message><body a='&lt;&#x41;&#66;'>&amp;&quot;&apos;&gt;</body></message></stream:stream>", "end", 1},
		{"cdata", "<message><body><![CDATA[<x>&]]]></body></message></stream:stream>", "end", 1},
		{"prefixed", "<message><x:y xmlns:x='urn:x' x:a='1'/></message></stream:stream>", "end", 1},
		{"comment", "<message><!-- x --></message>", "restricted", 0},
		{"pi", "<?xml version='1.0'?><message/>", "restricted", 0},
		{"doctype", "<!DOCTYPE x><message/>", "restricted", 0},
		{"mismatch", "<message><body></message>", "not-well-formed", 0},
		{"text", "hello<message/>", "not-well-formed", 0},
		{"bad entity", "<message>&foo;</message>", "not-well-formed", 0},
		{"lt in attr", "<message a='<'/>", "not-well-formed", 0},
		{"dup attr", "<message a='1' a='2'/>", "not-well-formed", 0},
		{"undeclared", "<message><x:y/></message>", "not-well-formed", 0},
		{"bad utf8", "<message>\xff</message>", "not-well-formed", 0},
		{"control char", "<message>\x01</message>", "not-well-formed", 0},
		{"cdata end in text", "<message>]]></message>", "not-well-formed", 0},
		{"deep", strings.Repeat("<a>", 257) + strings.Repeat("</a>", 257), "not-well-formed", 0},
		{"not too deep", strings.Repeat("<a>", 256) + strings.Repeat("</a>", 256) + "</stream:stream>", "end", 1},
		{"too big", "<message>" + strings.Repeat("x", 5000) + "</message>", "too-big", 0},
		{"big ok", "<message>" + strings.Repeat("x", 4000) + "</message></stream:stream>", "end", 1},
		{"wrong end", "<message/></stream>", "not-well-formed", 1},
		{"long tag", "<message a='" + strings.Repeat("x>\"", 500) + "'/></stream:stream>", "end", 1},
		{"long bad tag", "<message a='1'" + strings.Repeat(" ", 1500) + "b=2/>", "not-well-formed", 0},
		{"long tag too big", "<message a='" + strings.Repeat("x", 5000) + "'/>", "too-big", 0},
		{"self-closed header", "", "end", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := fuzzHeader + tc.body
			if tc.name == "self-closed header" {
				data = strings.TrimSuffix(fuzzHeader, ">") + "/>"
			}
			for _, size := range []int{16, 64, 4096} {
				res := readNew(strings.NewReader(data), size, 4096)
				if res.class != tc.class || len(res.els) != tc.els {
					t.Fatalf("size %d: got %d elements, %s (%v); want %d, %s", size, len(res.els), res.class, res.err, tc.els, tc.class)
				}
				split := readNew(&chunkReader{data: []byte(data), sizes: []byte{2, 5, 1}}, size, 4096)
				if fmt.Sprint(split.els) != fmt.Sprint(res.els) || split.class != res.class {
					t.Fatalf("size %d: split read differs:\n%v %s\n%v %s", size, split.els, split.class, res.els, res.class)
				}
			}
		})
	}
}

func TestScannerMatchesOld(t *testing.T) {
	data := fuzzHeader + "<message to='b@localhost' xml:lang='en' xmlns:q='urn:q' q:z='&amp;'><body>x</body></message><presence xmlns='jabber:server'/></stream:stream>"
	old := readOld(strings.NewReader(data), 4096)
	nw := readNew(strings.NewReader(data), 64, 4096)
	if fmt.Sprint(old.hdr) != fmt.Sprint(nw.hdr) {
		t.Fatalf("headers differ:\n%v\n%v", old.hdr, nw.hdr)
	}
	if fmt.Sprint(old.els) != fmt.Sprint(nw.els) || old.class != nw.class {
		t.Fatalf("differ:\n%v %s\n%v %s", old.els, old.class, nw.els, nw.class)
	}
}

func TestScannerLeavesRestartBytes(t *testing.T) {
	// After <success/>, the client's next stream header must still be in
	// br for the reader of the restarted stream.
	data := fuzzHeader + "<auth/>" + fuzzHeader
	br := bufio.NewReaderSize(bytes.NewReader([]byte(data)), 4096)
	sc := newScanner(br, 4096)
	if _, err := sc.header(); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.next(); err != nil {
		t.Fatal(err)
	}
	if _, err := newScanner(br, 4096).header(); err != nil {
		t.Fatalf("restart: %v", err)
	}
}

// TestScannerTrickle feeds large stanzas one byte at a time: the scanner
// resumes where it stopped instead of rescanning (a quadratic rescan of
// 200 KiB would take minutes).
func TestScannerTrickle(t *testing.T) {
	for _, body := range []string{
		"<message><body>" + strings.Repeat("a&amp;b ", 25<<10) + "</body></message>",
		"<message a='" + strings.Repeat("x", 200<<10) + "'/>",
		"<message><![CDATA[" + strings.Repeat("x", 200<<10) + "]]></message>",
	} {
		data := fuzzHeader + body + "</stream:stream>"
		res := readNew(iotest.OneByteReader(strings.NewReader(data)), 4096, 256<<10)
		if len(res.els) != 1 || res.class != "end" {
			t.Fatalf("got %d elements, %s (%v)", len(res.els), res.class, res.err)
		}
	}
}
