package embedded

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/xmppd/xmppd/directory"
)

// BenchmarkCheckPassword is SASL PLAIN at the default 4096 iterations:
// almost all of it is PBKDF2-SHA-256, by design.
func BenchmarkCheckPassword(b *testing.B) {
	ctx := context.Background()
	db, err := Open(filepath.Join(b.TempDir(), FileName), 4096)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Create(ctx, "juliet@capulet.lit", "secret"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := db.CheckPassword(ctx, "juliet@capulet.lit", "secret"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExists(b *testing.B) {
	ctx := context.Background()
	db := openTest(b, "")
	if err := db.Create(ctx, "juliet@capulet.lit", "secret"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := db.Exists(ctx, "juliet@capulet.lit"); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}

func BenchmarkRosterPut(b *testing.B) {
	ctx := context.Background()
	db := openTest(b, "")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		item := directory.RosterItem{JID: fmt.Sprintf("c%d@x.lit", i%200), Subscription: "both",
			Groups: []string{"Friends"}}
		if _, err := db.PutItem(ctx, "juliet@capulet.lit", item); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRosterGet reads a 100-item roster (login) and one item (the
// per-stanza subscription check), from parallel goroutines.
func BenchmarkRosterGet(b *testing.B) {
	ctx := context.Background()
	db := openTest(b, "")
	for i := range 100 {
		item := directory.RosterItem{JID: fmt.Sprintf("c%d@x.lit", i), Subscription: "both",
			Name: "Contact", Groups: []string{"Friends"}}
		if _, err := db.PutItem(ctx, "juliet@capulet.lit", item); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("roster100", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				items, _, err := db.Roster(ctx, "juliet@capulet.lit")
				if err != nil || len(items) != 100 {
					b.Fatal(len(items), err)
				}
			}
		})
	})
	b.Run("item", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, ok, err := db.Item(ctx, "juliet@capulet.lit", "c42@x.lit"); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	})
}
