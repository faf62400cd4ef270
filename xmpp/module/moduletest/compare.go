package moduletest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/xmppd/xmppd/xmpp/dom"
)

// Any, as an expected attribute value, matches any value.
const Any = "{any}"

// Parse parses one element or fails the test.
func Parse(t testing.TB, s string) *dom.Element {
	t.Helper()
	el, err := dom.Parse([]byte(s))
	if err != nil {
		t.Fatalf("moduletest: parse %q: %v", s, err)
	}
	return el
}

// Diff compares two trees field by field: namespace, name, attributes
// (in any order; an expected value of Any matches anything), text with
// surrounding white space trimmed, and children in order. It returns ""
// when they are equal, else where they first differ.
func Diff(want, got *dom.Element) string {
	return diff("/", want, got)
}

func diff(path string, want, got *dom.Element) string {
	if got == nil {
		return path + ": missing element " + want.Local
	}
	here := path + want.Local
	if want.Space != got.Space || want.Local != got.Local {
		return fmt.Sprintf("%s: element {%s}%s, want {%s}%s", path, got.Space, got.Local, want.Space, want.Local)
	}
	if len(want.Attr) != len(got.Attr) {
		return fmt.Sprintf("%s: attributes %v, want %v", here, got.Attr, want.Attr)
	}
	for _, a := range want.Attr {
		if !hasAttr(got, a.Name.Space, a.Name.Local, a.Value) {
			return fmt.Sprintf("%s: attributes %v, want %s=%q", here, got.Attr, a.Name.Local, a.Value)
		}
	}
	if w, g := strings.TrimSpace(want.Text), strings.TrimSpace(got.Text); w != g {
		return fmt.Sprintf("%s: text %q, want %q", here, g, w)
	}
	if len(want.Children) != len(got.Children) {
		return fmt.Sprintf("%s: %d children %s, want %d %s", here, len(got.Children), names(got), len(want.Children), names(want))
	}
	for i := range want.Children {
		if d := diff(here+"/", want.Children[i], got.Children[i]); d != "" {
			return d
		}
	}
	return ""
}

func hasAttr(e *dom.Element, space, local, value string) bool {
	for _, a := range e.Attr {
		if a.Name.Local == local && a.Name.Space == space {
			return value == Any || a.Value == value
		}
	}
	return false
}

func names(e *dom.Element) string {
	var n []string
	for _, c := range e.Children {
		n = append(n, c.Local)
	}
	return "[" + strings.Join(n, " ") + "]"
}

// Equal fails the test when got differs from the XML want (see Diff).
func Equal(t testing.TB, got *dom.Element, want string) {
	t.Helper()
	if d := Diff(Parse(t, want), got); d != "" {
		t.Errorf("moduletest: %s\n got: %s\nwant: %s", d, got, want)
	}
}
