package module

import (
	"errors"

	"github.com/xmppd/xmppd/xmpp/dom"
)

// StanzaError is an RFC 6120 section 8.3 stanza error.
type StanzaError struct {
	Type      string // cancel, continue, modify, auth, wait
	Condition string // e.g. "item-not-found"
	Text      string
	// App is an optional application-specific condition element.
	App *Element
}

func (e *StanzaError) Error() string {
	if e.Text != "" {
		return "stanza error: " + e.Condition + ": " + e.Text
	}
	return "stanza error: " + e.Condition
}

// Element renders the <error/> child.
func (e *StanzaError) Element() *Element {
	el := dom.New(NSClient, "error", "type", e.Type)
	el.Add(dom.New(NSStanzas, e.Condition))
	if e.Text != "" {
		el.Add(dom.New(NSStanzas, "text").SetText(e.Text))
	}
	if e.App != nil {
		el.Add(e.App)
	}
	return el
}

var defaultTypes = map[string]string{
	"bad-request":             "modify",
	"conflict":                "cancel",
	"feature-not-implemented": "cancel",
	"forbidden":               "auth",
	"gone":                    "cancel",
	"internal-server-error":   "wait",
	"item-not-found":          "cancel",
	"jid-malformed":           "modify",
	"not-acceptable":          "modify",
	"not-allowed":             "cancel",
	"not-authorized":          "auth",
	"policy-violation":        "modify",
	"recipient-unavailable":   "wait",
	"redirect":                "modify",
	"registration-required":   "auth",
	"remote-server-not-found": "cancel",
	"remote-server-timeout":   "wait",
	"resource-constraint":     "wait",
	"service-unavailable":     "cancel",
	"subscription-required":   "auth",
	"undefined-condition":     "cancel",
	"unexpected-request":      "wait",
}

// Errorf returns a StanzaError with the condition's usual type.
func Err(condition, text string) *StanzaError {
	t := defaultTypes[condition]
	if t == "" {
		t = "cancel"
	}
	return &StanzaError{Type: t, Condition: condition, Text: text}
}

// Common errors.
var (
	ErrBadRequest         = Err("bad-request", "")
	ErrFeatureNotImpl     = Err("feature-not-implemented", "")
	ErrForbidden          = Err("forbidden", "")
	ErrInternal           = Err("internal-server-error", "")
	ErrItemNotFound       = Err("item-not-found", "")
	ErrNotAcceptable      = Err("not-acceptable", "")
	ErrNotAllowed         = Err("not-allowed", "")
	ErrNotAuthorized      = Err("not-authorized", "")
	ErrServiceUnavailable = Err("service-unavailable", "")
	ErrJIDMalformed       = Err("jid-malformed", "")
	ErrResourceConstraint = Err("resource-constraint", "")
)

// ErrDrop, returned by a Filter, stops a stanza silently: nobody is told.
var ErrDrop = errors.New("module: stanza dropped")

// AsStanzaError returns err as a *StanzaError; errors that are not one
// become internal-server-error (their text is not leaked to the peer).
func AsStanzaError(err error) *StanzaError {
	var se *StanzaError
	if errors.As(err, &se) {
		return se
	}
	return ErrInternal
}
