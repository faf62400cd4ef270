package moduletest

import (
	"context"
	"testing"

	"github.com/xmppd/xmppd/xmpp/module"
	"mellium.im/xmpp/jid"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name      string
		want, got string
		same      bool
	}{
		{"equal", `<a xmlns='x' k='1'><b>t</b></a>`, `<a xmlns='x' k='1'><b> t </b></a>`, true},
		{"attr order", `<a x='1' y='2'/>`, `<a y='2' x='1'/>`, true},
		{"any", `<a id='{any}'/>`, `<a id='42'/>`, true},
		{"namespace", `<a xmlns='x'/>`, `<a xmlns='y'/>`, false},
		{"extra attr", `<a/>`, `<a k='1'/>`, false},
		{"missing child", `<a><b/></a>`, `<a/>`, false},
		{"child order", `<a><b/><c/></a>`, `<a><c/><b/></a>`, false},
		{"text", `<a>x</a>`, `<a>y</a>`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Diff(Parse(t, tc.want), Parse(t, tc.got))
			if (d == "") != tc.same {
				t.Errorf("Diff = %q, want same=%v", d, tc.same)
			}
		})
	}
}

func TestHost(t *testing.T) {
	h := NewHost()
	full := jid.MustParse("a@localhost/r")
	if h.Deliver(full, []byte("<x/>")) {
		t.Fatal("Deliver to an unknown session succeeded")
	}
	h.AddSession(module.SessionInfo{JID: full})
	if !h.Deliver(full, []byte("<x/>")) || len(h.Delivered()) != 1 {
		t.Fatal("Deliver to a bound session was not recorded")
	}
	if !h.SetPresence(full, []byte("<presence/>"), true, 1) {
		t.Error("first available presence is not initial")
	}
	if r := h.Resources("a@localhost"); len(r) != 1 || !r[0].Available {
		t.Errorf("Resources = %+v", r)
	}
	ctx := context.Background()
	h.Mem.AddContact("a@localhost", "b@localhost", "both")
	if it, ok, err := h.Mem.Item(ctx, "a@localhost", "b@localhost"); err != nil || !ok || it.Subscription != "both" {
		t.Errorf("Item = %+v %v %v", it, ok, err)
	}
}
