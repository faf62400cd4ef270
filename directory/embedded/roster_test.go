package embedded

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/xmppd/xmppd/directory"
)

func TestRoster(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	const user = "juliet@capulet.lit"
	if items, v, err := db.Roster(ctx, user); len(items) != 0 || v != 0 || err != nil {
		t.Fatalf("empty roster = %v, %d, %v", items, v, err)
	}
	tests := []struct {
		name   string
		put    *directory.RosterItem // nil: delete del
		del    string
		wantOK bool
		want   directory.RosterItem // what Item returns afterwards
	}{
		{
			name: "new contact", wantOK: true,
			put:  &directory.RosterItem{JID: "romeo@montague.lit", Name: "Romeo", Subscription: "none", Ask: true},
			want: directory.RosterItem{JID: "romeo@montague.lit", Name: "Romeo", Subscription: "none", Ask: true},
		},
		{
			name: "groups sorted and unique", wantOK: true,
			put:  &directory.RosterItem{JID: "romeo@montague.lit", Subscription: "both", Groups: []string{"Lovers", "Friends", "Lovers"}},
			want: directory.RosterItem{JID: "romeo@montague.lit", Subscription: "both", Groups: []string{"Friends", "Lovers"}},
		},
		{
			name: "pending in keeps its stanza", wantOK: true,
			put: &directory.RosterItem{JID: "nurse@capulet.lit", Subscription: "from", PendingIn: true, Approved: true,
				PendingStanza: []byte("<presence type='subscribe'/>")},
			want: directory.RosterItem{JID: "nurse@capulet.lit", Subscription: "from", PendingIn: true, Approved: true,
				PendingStanza: []byte("<presence type='subscribe'/>")},
		},
		{
			name: "empty subscription is none", wantOK: true,
			put:  &directory.RosterItem{JID: "tybalt@capulet.lit", Name: "Ty\u00e9 'x' <y>"},
			want: directory.RosterItem{JID: "tybalt@capulet.lit", Name: "Ty\u00e9 'x' <y>", Subscription: "none"},
		},
		{name: "remove", del: "tybalt@capulet.lit", want: directory.RosterItem{JID: "tybalt@capulet.lit"}},
		{name: "remove absent", del: "mercutio@verona.lit", want: directory.RosterItem{JID: "mercutio@verona.lit"}},
	}
	var last int64
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v int64
			var err error
			if tc.put != nil {
				v, err = db.PutItem(ctx, user, *tc.put)
			} else {
				v, err = db.DeleteItem(ctx, user, tc.del)
			}
			if err != nil {
				t.Fatal(err)
			}
			if v <= last {
				t.Errorf("version %d after %d: not increasing", v, last)
			}
			last = v
			got, ok, err := db.Item(ctx, user, tc.want.JID)
			if err != nil || ok != tc.wantOK {
				t.Fatalf("Item = %v, %v", ok, err)
			}
			if ok && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Item = %+v\nwant   %+v", got, tc.want)
			}
		})
	}
	items, v, err := db.Roster(ctx, user)
	if err != nil || v != last {
		t.Fatalf("Roster version %d, %v; want %d", v, err, last)
	}
	var jids []string
	for _, it := range items {
		jids = append(jids, it.JID)
	}
	if !slices.Equal(jids, []string{"nurse@capulet.lit", "romeo@montague.lit"}) {
		t.Errorf("Roster = %v", jids)
	}
}

func TestRosterBadItems(t *testing.T) {
	db := openTest(t, "")
	tests := []struct {
		name string
		item directory.RosterItem
	}{
		{"no jid", directory.RosterItem{Subscription: "both"}},
		{"bad subscription", directory.RosterItem{JID: "a@b.lit", Subscription: "remove"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := db.PutItem(context.Background(), "u@b.lit", tc.item); err == nil {
				t.Fatal("PutItem accepted it")
			}
		})
	}
}

// TestRosterVersionSurvivesRecreate: a new account under an old name must
// not hand out a version a client of the old account has cached.
func TestRosterVersionSurvivesRecreate(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	const user = "juliet@capulet.lit"
	if err := db.Create(ctx, user, "pw"); err != nil {
		t.Fatal(err)
	}
	var old int64
	for i := range 3 {
		v, err := db.PutItem(ctx, user, directory.RosterItem{JID: fmt.Sprintf("c%d@x.lit", i)})
		if err != nil {
			t.Fatal(err)
		}
		old = v
	}
	if err := db.Delete(ctx, user); err != nil {
		t.Fatal(err)
	}
	if err := db.Create(ctx, user, "pw"); err != nil {
		t.Fatal(err)
	}
	v, err := db.PutItem(ctx, user, directory.RosterItem{JID: "other@x.lit"})
	if err != nil || v <= old {
		t.Fatalf("version after recreate %d, %v; old account reached %d", v, err, old)
	}
}

func TestData(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	const u = "juliet@capulet.lit"
	steps := []struct {
		name   string
		op     func() error
		key    string
		want   []byte
		wantOK bool
	}{
		{"absent", func() error { return nil }, "vcard", nil, false},
		{"put", func() error { return db.PutData(ctx, u, "vcard", []byte("<vCard/>")) }, "vcard", []byte("<vCard/>"), true},
		{"replace", func() error { return db.PutData(ctx, u, "vcard", []byte("<vCard><FN/></vCard>")) }, "vcard", []byte("<vCard><FN/></vCard>"), true},
		{"empty value", func() error { return db.PutData(ctx, u, "empty", nil) }, "empty", []byte{}, true},
		{"other user", func() error { return nil }, "other", nil, false},
		{"delete", func() error { return db.DeleteData(ctx, u, "vcard") }, "vcard", nil, false},
		{"delete absent", func() error { return db.DeleteData(ctx, u, "vcard") }, "vcard", nil, false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := s.op(); err != nil {
				t.Fatal(err)
			}
			got, ok, err := db.GetData(ctx, u, s.key)
			if err != nil || ok != s.wantOK || string(got) != string(s.want) {
				t.Fatalf("GetData = %q, %v, %v; want %q, %v", got, ok, err, s.want, s.wantOK)
			}
		})
	}
}

func TestGroups(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	if err := db.Create(ctx, "juliet@capulet.lit", "pw"); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.AddGroupMember(ctx, "Capulets", "juliet@capulet.lit", "nurse@capulet.lit", "juliet@capulet.lit"))
	must(db.AddGroupMember(ctx, "Verona", "romeo@montague.lit", "juliet@capulet.lit"))
	must(db.AddGroupMember(ctx, "Montagues", "romeo@montague.lit"))
	if err := db.AddGroupMember(ctx, "Bad", "no-localpart"); err == nil {
		t.Error("AddGroupMember accepted a JID without localpart")
	}
	if n, err := db.RemoveGroupMember(ctx, "Capulets", "nurse@capulet.lit", "nobody@capulet.lit"); n != 1 || err != nil {
		t.Errorf("RemoveGroupMember = %d, %v", n, err)
	}
	tests := []struct {
		domain string
		want   []directory.Group
	}{
		{"capulet.lit", []directory.Group{
			{Name: "Capulets", Members: []string{"juliet@capulet.lit"}},
			{Name: "Verona", Members: []string{"juliet@capulet.lit", "romeo@montague.lit"}},
		}},
		{"montague.lit", []directory.Group{
			{Name: "Montagues", Members: []string{"romeo@montague.lit"}},
			{Name: "Verona", Members: []string{"juliet@capulet.lit", "romeo@montague.lit"}},
		}},
		{"mantua.lit", nil},
	}
	for _, tc := range tests {
		t.Run(tc.domain, func(t *testing.T) {
			got, err := db.Groups(ctx, tc.domain)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Groups(%q) = %+v, %v\nwant %+v", tc.domain, got, err, tc.want)
			}
		})
	}
	u, err := db.User(ctx, "juliet@capulet.lit")
	if err != nil || !slices.Equal(u.Groups, []string{"Capulets", "Verona"}) {
		t.Fatalf("User = %+v, %v", u, err)
	}
}
