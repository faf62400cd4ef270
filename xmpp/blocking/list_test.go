package blocking

import (
	"testing"

	"mellium.im/xmpp/jid"
)

func TestMatches(t *testing.T) {
	l := newList([]string{"a@x.org/res", "b@x.org", "y.org/r", "z.org"})
	tests := []struct {
		jid  string
		want bool
	}{
		{"a@x.org/res", true},
		{"a@x.org/other", false},
		{"a@x.org", false},
		{"b@x.org", true},
		{"b@x.org/any", true},
		{"c@x.org", false},
		{"x.org", false},
		{"y.org/r", true},
		{"u@y.org/r", true},
		{"y.org", false},
		{"y.org/s", false},
		{"z.org", true},
		{"u@z.org", true},
		{"u@z.org/r", true},
		{"z.org/r", true},
		{"muc.z.org", true},
		{"room@muc.z.org/nick", true},
		{"notz.org", false},
		{"org", false},
	}
	for _, tc := range tests {
		t.Run(tc.jid, func(t *testing.T) {
			j := jid.MustParse(tc.jid)
			if got := l.matches(j.Localpart(), j.Domainpart(), j.Resourcepart()); got != tc.want {
				t.Errorf("matches(%s) = %v, want %v", tc.jid, got, tc.want)
			}
		})
	}
	if emptyList.matches("a", "x.org", "") {
		t.Error("the empty list blocks")
	}
}

func TestEncode(t *testing.T) {
	l := newList([]string{"b@x", "a@x", "b@x", ""})
	if got := string(l.encode()); got != "a@x\nb@x" {
		t.Errorf("encode = %q", got)
	}
	if d := decode(l.encode()); len(d.items) != 2 || !d.set["a@x"] || !d.set["b@x"] {
		t.Errorf("decode = %+v", d)
	}
	if d := decode(nil); d != emptyList {
		t.Errorf("decode(nil) = %+v", d)
	}
}
