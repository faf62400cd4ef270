package module

import (
	"sync"

	"github.com/xmppd/xmppd/xmpp/dom"
	"mellium.im/xmpp/jid"
)

// Namespaces of the core protocol.
const (
	NSClient  = "jabber:client"
	NSStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// Element is the payload tree type modules work with.
type Element = dom.Element

// Stanza is a routed top-level stanza. Raw is authoritative: the element as
// received, with 'from' stamped by the server and no xmlns on the root (it
// is in the stream's default namespace, jabber:client). The other fields are
// read from Raw's start tag.
type Stanza struct {
	Name     string // "message", "presence" or "iq"
	Type, ID string
	From, To jid.JID // From is always set; To is zero when absent
	Raw      []byte

	once  sync.Once
	el    *Element
	err   error
	after []func()
}

// Then schedules f to run after the reply to this IQ has been queued (a
// roster push must follow the result of the set that caused it).
func (s *Stanza) Then(f func()) { s.after = append(s.after, f) }

// RunAfter runs what Then scheduled; the server calls it after replying.
func (s *Stanza) RunAfter() {
	for _, f := range s.after {
		f()
	}
	s.after = nil
}

// Element parses Raw once and returns the tree.
func (s *Stanza) Element() (*Element, error) {
	s.once.Do(func() { s.el, s.err = dom.Parse(s.Raw) })
	return s.el, s.err
}

// Payload returns the first child element (an IQ's payload), or nil.
func (s *Stanza) Payload() *Element {
	el, err := s.Element()
	if err != nil {
		return nil
	}
	return el.First()
}

// replyHead starts a reply to s: to = s.From, from = s.To when s had one.
func (s *Stanza) replyHead(typ string) *Element {
	e := dom.New(NSClient, s.Name, "type", typ)
	if s.ID != "" {
		e.Set("id", s.ID)
	}
	if !s.To.Equal(jid.JID{}) {
		e.Set("from", s.To.String())
	}
	e.Set("to", s.From.String())
	return e
}

// Result returns an IQ result for s carrying payload (may be nil).
func (s *Stanza) Result(payload *Element) []byte {
	e := s.replyHead("result")
	if payload != nil {
		e.Add(payload)
	}
	return e.Append(nil, NSClient)
}

// ErrorReply returns the error stanza answering s with err. A message error
// carries the original payload (RFC 6120 8.3.1); an IQ error does not.
func (s *Stanza) ErrorReply(err error) []byte {
	se := AsStanzaError(err)
	e := s.replyHead("error")
	if s.Name == "message" || s.Name == "presence" {
		if el, perr := s.Element(); perr == nil {
			for _, c := range el.Children {
				if c.Local != "error" {
					e.Add(c)
				}
			}
		}
	}
	e.Add(se.Element())
	return e.Append(nil, NSClient)
}
