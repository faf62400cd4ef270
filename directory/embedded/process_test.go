package embedded

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xmppd/xmppd/directory"
)

// writerEnv names the database a re-executed test binary writes into.
const writerEnv = "XMPPD_DIRECTORY_WRITER_CHILD"

// TestTwoProcesses is the server and xmppctl as they really run: two
// processes on one file. The child ("the server") writes roster items
// without pause while this process ("xmppctl") creates accounts and
// changes passwords; no write may fail with SQLITE_BUSY, and each side sees
// the other's writes.
func TestTwoProcesses(t *testing.T) {
	if path := os.Getenv(writerEnv); path != "" {
		writerChild(path)
		return
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), FileName)
	ctl := openTest(t, path)
	cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcesses$")
	cmd.Env = append(os.Environ(), writerEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewScanner(stdout)
	if !out.Scan() || out.Text() != "writing" {
		t.Fatalf("child did not start writing: %q", out.Text())
	}
	for i := range 30 {
		u := fmt.Sprintf("user%d@localhost", i)
		if err := ctl.Create(ctx, u, "pw"); err != nil {
			t.Fatal(err)
		}
		if err := ctl.SetPassword(ctx, u, "new"); err != nil {
			t.Fatal(err)
		}
	}
	// The child's writes are visible here while it runs.
	if _, v, err := ctl.Roster(ctx, "server@localhost"); err != nil || v == 0 {
		t.Fatalf("roster written by the other process: version %d, %v", v, err)
	}
	// Closing stdin tells the child to stop; it answers with how many
	// items it wrote and whether it sees our accounts.
	if err := stdin.Close(); err != nil {
		t.Fatal(err)
	}
	if !out.Scan() {
		t.Fatalf("no answer from the child: %v", out.Err())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	fields := strings.Fields(out.Text())
	if len(fields) != 2 || fields[1] != "30" {
		t.Fatalf("child answered %q; want its write count and 30 accounts seen", out.Text())
	}
	n, _ := strconv.Atoi(fields[0])
	items, v, err := ctl.Roster(ctx, "server@localhost")
	if err != nil || v < int64(n) || len(items) != min(n, 100) {
		t.Fatalf("child wrote %d items; here: %d items, version %d, %v", n, len(items), v, err)
	}
}

// writerChild is the child side of TestTwoProcesses.
func writerChild(path string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	db, err := Open(path, testIterations)
	if err != nil {
		fail(err)
	}
	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // returns when the parent closes it
		close(stop)
	}()
	ctx := context.Background()
	n := 0
	for running := true; running; n++ {
		select {
		case <-stop:
			running = false
		default:
		}
		item := directory.RosterItem{JID: fmt.Sprintf("c%d@x.lit", n%100), Subscription: directory.SubBoth}
		if _, err := db.PutItem(ctx, "server@localhost", item); err != nil {
			fail(err)
		}
		if n == 0 {
			// Announced after a first write, so the parent's check that
			// it sees the child's writes cannot run before there is one.
			fmt.Println("writing")
		}
	}
	users, err := db.List(ctx, "localhost")
	if err != nil {
		fail(err)
	}
	fmt.Println(n, len(users))
	if err := db.Close(); err != nil {
		fail(err)
	}
}
