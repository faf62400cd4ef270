package xclient

import (
	"bytes"

	"github.com/xmppd/xmppd/cmd/xmppbench/internal/stats"
)

// maxPending bounds the bytes kept for one unfinished <message/>: a peer
// that sends a bigger stanza makes the scanner drop it (counted), never grow.
const maxPending = 1 << 20

var (
	msgOpen  = []byte("<message")
	msgClose = []byte("</message>")
)

// Scanner finds <message/> elements in a raw client stream without building
// trees: it looks only for "<message" and the matching "</message>" (the
// first one: a forwarded copy nested inside counts once) and hands each
// element's bytes to a callback. Everything else is skipped. Input may be
// split at any byte.
type Scanner struct {
	pend    []byte
	Dropped int // elements longer than maxPending
}

// Feed scans p (after any bytes kept from earlier calls) and calls fn with
// every complete message element; fn must not keep the slice.
func (s *Scanner) Feed(p []byte, fn func(elem []byte)) {
	data := p
	if len(s.pend) > 0 {
		s.pend = append(s.pend, p...)
		data = s.pend
	}
	rest := s.scan(data, fn)
	if len(rest) > maxPending {
		s.Dropped++
		rest = nil
	}
	if len(s.pend) > 0 {
		n := copy(s.pend, rest) // rest may alias pend: copy is a memmove
		s.pend = s.pend[:n]
	} else {
		s.pend = append(s.pend[:0], rest...)
	}
}

// scan returns the unconsumed tail of data that may start an element.
func (s *Scanner) scan(data []byte, fn func([]byte)) []byte {
	for {
		i := bytes.Index(data, msgOpen)
		if i < 0 {
			// keep a tail that may be the start of "<message"
			k := max(0, len(data)-(len(msgOpen)-1))
			if j := bytes.LastIndexByte(data[k:], '<'); j >= 0 {
				return data[k+j:]
			}
			return nil
		}
		data = data[i:]
		if len(data) == len(msgOpen) {
			return data
		}
		switch data[len(msgOpen)] {
		case ' ', '>', '/', '\t', '\n', '\r':
		default: // "<messages..." or similar: not ours
			data = data[len(msgOpen):]
			continue
		}
		gt := bytes.IndexByte(data, '>')
		if gt < 0 {
			return data
		}
		if data[gt-1] == '/' {
			fn(data[:gt+1])
			data = data[gt+1:]
			continue
		}
		end := bytes.Index(data[gt:], msgClose)
		if end < 0 {
			return data
		}
		end += gt + len(msgClose)
		fn(data[:end])
		data = data[end:]
	}
}

// MessageInfo is what the bench needs from one message element.
type MessageInfo struct {
	Error   bool  // type='error' (a bounce)
	Stamped bool  // the body carries an xmppbench stamp
	Step    int   // the stamp's step (0 = warm-up)
	SentNS  int64 // the stamp's send time
}

var (
	typeErrSQ  = []byte("type='error'")
	typeErrDQ  = []byte(`type="error"`)
	bodyOpen   = []byte("<body")
	stampMark  = []byte(stats.StampMarker)
	bodyCloseB = []byte("</body>")
)

// ParseMessage extracts the type and the stamp from one message element.
func ParseMessage(elem []byte) MessageInfo {
	var mi MessageInfo
	gt := bytes.IndexByte(elem, '>')
	if gt < 0 {
		return mi
	}
	head := elem[:gt]
	mi.Error = bytes.Contains(head, typeErrSQ) || bytes.Contains(head, typeErrDQ)
	b := bytes.Index(elem[gt:], bodyOpen)
	if b < 0 {
		return mi
	}
	body := elem[gt+b:]
	bgt := bytes.IndexByte(body, '>')
	if bgt < 0 || body[bgt-1] == '/' {
		return mi
	}
	text := body[bgt+1:]
	if e := bytes.Index(text, bodyCloseB); e >= 0 {
		text = text[:e]
	}
	if !bytes.HasPrefix(text, stampMark) {
		return mi
	}
	mi.Step, mi.SentNS, mi.Stamped = stats.ParseStamp(text[len(stampMark):])
	return mi
}
