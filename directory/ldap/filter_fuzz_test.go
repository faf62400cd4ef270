package ldap

import (
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/xmppd/xmppd/conf"
)

// FuzzUserFilter checks that no localpart can change the shape of the user
// filter: whatever the input, the filter compiles to the configured AND of
// objectClass and one equality match whose value is exactly the input.
func FuzzUserFilter(f *testing.F) {
	for _, s := range []string{"alice", "*", "a*", "*)(uid=*", "(", ")", `\`, `\2a`, "\x00", "alice)(|(uid=*", "é", "\xff"} {
		f.Add(s)
	}
	b := &Backend{cfg: conf.LDAP{UserFilter: "(&(objectClass=inetOrgPerson)(uid=%s))"}}
	f.Fuzz(func(t *testing.T, local string) {
		flt := b.userFilter(local)
		p, err := goldap.CompileFilter(flt)
		if err != nil {
			t.Fatalf("%q gives an invalid filter %q: %v", local, flt, err)
		}
		if p.Tag != goldap.FilterAnd || len(p.Children) != 2 {
			t.Fatalf("%q changed the filter's shape: %q", local, flt)
		}
		eq := p.Children[1]
		if eq.Tag != goldap.FilterEqualityMatch || len(eq.Children) != 2 {
			t.Fatalf("%q: second term of %q is not an equality match", local, flt)
		}
		if attr := eq.Children[0].Data.String(); attr != "uid" {
			t.Fatalf("%q: equality on %q", local, attr)
		}
		if got := eq.Children[1].Data.Bytes(); string(got) != local {
			t.Fatalf("%q: filter value is %q", local, got)
		}
	})
}
