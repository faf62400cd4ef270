package embedded

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/xmppd/xmppd/directory"
)

// testIterations keeps PBKDF2 cheap under the race detector; one test
// checks the configured count is what gets stored.
const testIterations = 64

func openTest(t testing.TB, path string) *DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), FileName)
	}
	db, err := Open(path, testIterations)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	for _, u := range []string{"juliet@capulet.lit", "romeo@montague.lit", "benvolio@montague.lit"} {
		if err := db.Create(ctx, u, "pw-"+u); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		run  func() error
		want error // nil, or a sentinel matched with errors.Is
	}{
		{"create again", func() error { return db.Create(ctx, "juliet@capulet.lit", "x") }, directory.ErrExists},
		{"create without localpart", func() error { return db.Create(ctx, "capulet.lit", "x") }, errAny},
		{"create with resource", func() error { return db.Create(ctx, "a@capulet.lit/r", "x") }, errAny},
		{"create empty password", func() error { return db.Create(ctx, "nurse@capulet.lit", "") }, errAny},
		{"right password", func() error { return db.CheckPassword(ctx, "juliet@capulet.lit", "pw-juliet@capulet.lit") }, nil},
		{"wrong password", func() error { return db.CheckPassword(ctx, "juliet@capulet.lit", "pw-romeo@montague.lit") }, directory.ErrBadPassword},
		{"password of unknown user", func() error { return db.CheckPassword(ctx, "tybalt@capulet.lit", "x") }, directory.ErrNotFound},
		{"passwd unknown user", func() error { return db.SetPassword(ctx, "tybalt@capulet.lit", "x") }, directory.ErrNotFound},
		{"delete unknown user", func() error { return db.Delete(ctx, "tybalt@capulet.lit") }, directory.ErrNotFound},
		{"scram of unknown user", func() error { _, err := db.SCRAM(ctx, "tybalt@capulet.lit", directory.MechSCRAMSHA1); return err }, directory.ErrNotFound},
		{"scram unknown mechanism", func() error { _, err := db.SCRAM(ctx, "juliet@capulet.lit", "SCRAM-SHA-512"); return err }, directory.ErrNoCredentials},
		{"user of unknown user", func() error { _, err := db.User(ctx, "tybalt@capulet.lit"); return err }, directory.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("got %v, want success", err)
			case tc.want == errAny && err == nil:
				t.Fatal("succeeded, want an error")
			case tc.want != nil && tc.want != errAny && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestListExistsDelete(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	for _, u := range []string{"romeo@montague.lit", "juliet@capulet.lit", "benvolio@montague.lit"} {
		if err := db.Create(ctx, u, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		domain string
		want   []string
	}{
		{"montague.lit", []string{"benvolio@montague.lit", "romeo@montague.lit"}},
		{"capulet.lit", []string{"juliet@capulet.lit"}},
		{"verona.lit", nil},
		{"", []string{"benvolio@montague.lit", "juliet@capulet.lit", "romeo@montague.lit"}},
	}
	for _, tc := range tests {
		t.Run("list "+tc.domain, func(t *testing.T) {
			got, err := db.List(ctx, tc.domain)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("List(%q) = %v, %v; want %v", tc.domain, got, err, tc.want)
			}
		})
	}
	if _, err := db.PutItem(ctx, "romeo@montague.lit", directory.RosterItem{JID: "juliet@capulet.lit"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutItem(ctx, "juliet@capulet.lit", directory.RosterItem{JID: "romeo@montague.lit"}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutData(ctx, "romeo@montague.lit", "vcard", []byte("<vCard/>")); err != nil {
		t.Fatal(err)
	}
	if err := db.AddGroupMember(ctx, "Verona", "romeo@montague.lit", "juliet@capulet.lit"); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete(ctx, "romeo@montague.lit"); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.Exists(ctx, "romeo@montague.lit"); ok || err != nil {
		t.Fatalf("Exists after Delete = %v, %v", ok, err)
	}
	if items, _, _ := db.Roster(ctx, "romeo@montague.lit"); len(items) != 0 {
		t.Errorf("roster kept after Delete: %v", items)
	}
	if _, ok, _ := db.GetData(ctx, "romeo@montague.lit", "vcard"); ok {
		t.Error("data kept after Delete")
	}
	if _, ok, _ := db.Item(ctx, "juliet@capulet.lit", "romeo@montague.lit"); !ok {
		t.Error("Delete removed another account's roster item")
	}
	if g, _ := db.Groups(ctx, ""); len(g) != 1 || !slices.Equal(g[0].Members, []string{"juliet@capulet.lit"}) {
		t.Errorf("groups after Delete = %v", g)
	}
}

func TestCredentials(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	db, err := Open(path, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const pw = "correct horse battery staple"
	if err := db.Create(ctx, "juliet@capulet.lit", pw); err != nil {
		t.Fatal(err)
	}
	for _, mech := range []string{directory.MechSCRAMSHA1, directory.MechSCRAMSHA256} {
		c, err := db.SCRAM(ctx, "juliet@capulet.lit", mech)
		if err != nil {
			t.Fatal(err)
		}
		if c.Iterations != 4096 || !directory.VerifyPlain(c, mech, pw) {
			t.Errorf("%s: %d iterations, verifies: %v", mech, c.Iterations, directory.VerifyPlain(c, mech, pw))
		}
	}
	if err := db.SetPassword(ctx, "juliet@capulet.lit", "new"); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckPassword(ctx, "juliet@capulet.lit", pw); !errors.Is(err, directory.ErrBadPassword) {
		t.Errorf("old password after SetPassword: %v", err)
	}
	if err := db.CheckPassword(ctx, "juliet@capulet.lit", "new"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if err := db.Create(ctx, "romeo@montague.lit", pw); err != nil {
		t.Fatal(err)
	}
	// The clear password must be nowhere on disk: not in the database,
	// not in its WAL.
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(pw)) {
			t.Errorf("%s holds the clear password", filepath.Base(f))
		}
	}
}

func TestMechanisms(t *testing.T) {
	db := openTest(t, "")
	want := []string{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}
	if got := db.Mechanisms(); !slices.Equal(got, want) {
		t.Fatalf("Mechanisms() = %v, want %v", got, want)
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, "")
	if err := db.Create(ctx, "juliet@capulet.lit", "old"); err != nil {
		t.Fatal(err)
	}
	var accts []Account
	for _, u := range []string{"juliet@capulet.lit", "romeo@montague.lit", "nurse@capulet.lit"} {
		c, err := NewCredentials("new", testIterations)
		if err != nil {
			t.Fatal(err)
		}
		accts = append(accts, Account{JID: u, Credentials: c})
	}
	existing, err := db.Import(ctx, accts)
	if err != nil || !slices.Equal(existing, []string{"juliet@capulet.lit"}) {
		t.Fatalf("Import = %v, %v", existing, err)
	}
	if err := db.CheckPassword(ctx, "juliet@capulet.lit", "old"); err != nil {
		t.Errorf("Import touched an existing account: %v", err)
	}
	if err := db.CheckPassword(ctx, "nurse@capulet.lit", "new"); err != nil {
		t.Error(err)
	}
	// One bad JID fails the whole batch.
	bad := append([]Account{{JID: "tybalt@capulet.lit", Credentials: accts[0].Credentials}},
		Account{JID: "no-localpart", Credentials: accts[0].Credentials})
	if _, err := db.Import(ctx, bad); err == nil {
		t.Fatal("Import accepted a JID without localpart")
	}
	if ok, _ := db.Exists(ctx, "tybalt@capulet.lit"); ok {
		t.Error("a failed Import created an account")
	}
}

func TestMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db := openTest(t, path)
	if err := db.Create(context.Background(), "juliet@capulet.lit", "pw"); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.r.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != SchemaVersion {
		t.Fatalf("user_version %d, %v; want %d", v, err, SchemaVersion)
	}
	var mode string
	if err := db.r.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q, %v", mode, err)
	}
	// Reopening an up-to-date file keeps the data.
	again := openTest(t, path)
	if ok, err := again.Exists(context.Background(), "juliet@capulet.lit"); !ok || err != nil {
		t.Fatalf("after reopen: %v, %v", ok, err)
	}
	// A file from a newer program is refused rather than misread.
	if _, err := db.w.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	if d, err := Open(path, testIterations); err == nil {
		d.Close()
		t.Fatal("opened a database with a newer schema")
	}
}

func TestOpenEscapesPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "odd ?#% dir")
	db := openTest(t, filepath.Join(dir, FileName))
	if err := db.Create(context.Background(), "a@b.lit", "pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatalf("database not where asked: %v", err)
	}
}

// TestTwoHandles plays the server and xmppctl: two handles on one file see
// each other's writes at once, and write concurrently without SQLITE_BUSY.
func TestTwoHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	server, ctl := openTest(t, path), openTest(t, path)
	if err := ctl.Create(ctx, "juliet@capulet.lit", "pw"); err != nil {
		t.Fatal(err)
	}
	if ok, err := server.Exists(ctx, "juliet@capulet.lit"); !ok || err != nil {
		t.Fatalf("server does not see xmppctl's account: %v, %v", ok, err)
	}
	if err := ctl.SetPassword(ctx, "juliet@capulet.lit", "new"); err != nil {
		t.Fatal(err)
	}
	if err := server.CheckPassword(ctx, "juliet@capulet.lit", "new"); err != nil {
		t.Fatalf("server does not see the new password: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i, db := range []*DB{server, ctl} {
		wg.Go(func() {
			for j := range 50 {
				item := directory.RosterItem{JID: string(rune('a'+i)) + string(rune('a'+j%26)) + "@x.lit"}
				if _, err := db.PutItem(ctx, "juliet@capulet.lit", item); err != nil {
					errs <- err
				}
				if err := db.PutData(ctx, "juliet@capulet.lit", item.JID, []byte("v")); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	items, v, err := ctl.Roster(ctx, "juliet@capulet.lit")
	if err != nil || len(items) != 52 || v != 100 {
		t.Fatalf("roster after concurrent writes: %d items, version %d, %v", len(items), v, err)
	}
	if err := server.Delete(ctx, "juliet@capulet.lit"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := ctl.Exists(ctx, "juliet@capulet.lit"); ok {
		t.Fatal("xmppctl still sees the deleted account")
	}
}

// TestUnavailable checks that a closed store reports ErrUnavailable, not
// "no such user", so the server answers with a temporary error.
func TestUnavailable(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), FileName), testIterations)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = db.Exists(context.Background(), "juliet@capulet.lit")
	if !errors.Is(err, directory.ErrUnavailable) || errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("Exists on a closed store: %v", err)
	}
}
